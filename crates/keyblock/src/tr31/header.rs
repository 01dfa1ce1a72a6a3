//! The TR-31 / ANSI X9.143 key block header: the 16 fixed characters and the optional
//! blocks, as typed Rust values, with a strict parser and a writer.
//!
//! ```text
//! pos  0      version ID             A | B | C | D
//! pos  1-4    key block length       4 decimal digits, the whole block
//! pos  5-6    key usage              2 alphanumerics (P0, K1, B0, ...)
//! pos  7      algorithm              A D E H R S T
//! pos  8      mode of use            B C D E G N S T V X Y
//! pos  9-10   key version number     2 alphanumerics, 00 = none
//! pos 11      exportability          E N S
//! pos 12-13   number of optional blocks, 2 decimal digits
//! pos 14      key context            0 | 1 | 2   (X9.143; "0" in older TR-31 blocks)
//! pos 15      reserved               0
//! pos 16-     optional blocks: id (2 alphanumerics), length, data (printable ASCII)
//! ```
//!
//! An optional block's length counts its id, its length field and its data. It is two
//! uppercase hex digits, or, for blocks longer than 255 characters, the extended form
//! `00` + two hex digits `LL` + `LL` hex digits of length (X9.143 writes `0004` + four
//! digits). The `PB` block pads the header to a multiple of the cipher block size; the
//! writer adds it, the parser drops it.

use crate::error::Error;

/// Key block version (how the key is bound to the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// TDES key variant binding (legacy; import).
    A,
    /// TDES key derivation binding (CMAC-derived KBEK/KBAK).
    B,
    /// TDES key variant binding, TR-31:2010 clarification of `A`.
    C,
    /// AES key derivation binding.
    D,
}

impl Version {
    /// The version ID character.
    pub fn as_char(self) -> char {
        match self {
            Self::A => 'A',
            Self::B => 'B',
            Self::C => 'C',
            Self::D => 'D',
        }
    }

    /// Parses a version ID character.
    ///
    /// # Errors
    /// [`Error::UnknownVersion`] for anything but `A`, `B`, `C`, `D`.
    pub fn from_char(c: char) -> Result<Self, Error> {
        match c {
            'A' => Ok(Self::A),
            'B' => Ok(Self::B),
            'C' => Ok(Self::C),
            'D' => Ok(Self::D),
            other => Err(Error::UnknownVersion(other)),
        }
    }

    /// Cipher block size in bytes: 8 for the TDES versions, 16 for `D`.
    pub fn block_size(self) -> usize {
        match self {
            Self::D => 16,
            _ => 8,
        }
    }

    /// Length of the MAC (authenticator) in bytes: 4 for `A`/`C`, 8 for `B`, 16 for `D`.
    pub fn mac_len(self) -> usize {
        match self {
            Self::A | Self::C => 4,
            Self::B => 8,
            Self::D => 16,
        }
    }
}

/// Two-character key usage, e.g. `P0` (PIN encryption) or `K1` (key block protection key).
/// Any two ASCII letters or digits are accepted; the meaning is the caller's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyUsage([u8; 2]);

impl KeyUsage {
    /// Validates and wraps a key usage.
    ///
    /// # Errors
    /// [`Error::BadHeaderField`] unless `s` is exactly two ASCII alphanumerics.
    pub fn new(s: &str) -> Result<Self, Error> {
        two_alnum(s.as_bytes(), "key usage").map(Self)
    }

    /// The two characters.
    pub fn as_str(&self) -> &str {
        // Invariant: two ASCII alphanumerics.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// Two-character key version number; `00` means the key is not versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyVersion([u8; 2]);

impl KeyVersion {
    /// `00`: no key version.
    pub const NONE: Self = Self(*b"00");

    /// Validates and wraps a key version number.
    ///
    /// # Errors
    /// [`Error::BadHeaderField`] unless `s` is exactly two ASCII alphanumerics.
    pub fn new(s: &str) -> Result<Self, Error> {
        two_alnum(s.as_bytes(), "key version number").map(Self)
    }

    /// The two characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

fn two_alnum(b: &[u8], field: &'static str) -> Result<[u8; 2], Error> {
    match b {
        [x, y] if x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric() => Ok([*x, *y]),
        _ => Err(Error::BadHeaderField {
            field,
            reason: "must be two ASCII letters or digits",
        }),
    }
}

macro_rules! char_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal, { $($(#[$vmeta:meta])* $variant:ident = $ch:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The header character.
            pub fn as_char(self) -> char {
                match self { $(Self::$variant => $ch),+ }
            }

            /// Parses the header character.
            ///
            /// # Errors
            /// [`Error::BadHeaderField`] for a character not defined for this field.
            pub fn from_char(c: char) -> Result<Self, Error> {
                match c {
                    $($ch => Ok(Self::$variant),)+
                    _ => Err(Error::BadHeaderField { field: $field, reason: "value not defined by X9.143" }),
                }
            }
        }
    };
}

char_enum!(
    /// Algorithm of the wrapped key (header position 7).
    Algorithm, "algorithm", {
        /// `A`: AES.
        Aes = 'A',
        /// `D`: single DES (legacy).
        Des = 'D',
        /// `E`: elliptic curve.
        Ec = 'E',
        /// `H`: HMAC.
        Hmac = 'H',
        /// `R`: RSA.
        Rsa = 'R',
        /// `S`: DSA.
        Dsa = 'S',
        /// `T`: Triple DES.
        Tdes = 'T',
    }
);

char_enum!(
    /// Mode of use of the wrapped key (header position 8).
    ModeOfUse, "mode of use", {
        /// `B`: both encrypt and decrypt / wrap and unwrap.
        EncryptDecrypt = 'B',
        /// `C`: MAC generate and verify.
        GenerateVerify = 'C',
        /// `D`: decrypt / unwrap only.
        DecryptOnly = 'D',
        /// `E`: encrypt / wrap only.
        EncryptOnly = 'E',
        /// `G`: MAC generate only.
        GenerateOnly = 'G',
        /// `N`: no special restrictions.
        NoRestrictions = 'N',
        /// `S`: signature only.
        SignOnly = 'S',
        /// `T`: sign and decrypt.
        SignDecrypt = 'T',
        /// `V`: verify only.
        VerifyOnly = 'V',
        /// `X`: key derivation.
        DeriveKeys = 'X',
        /// `Y`: create key variants.
        CreateVariants = 'Y',
    }
);

char_enum!(
    /// Exportability of the wrapped key (header position 11).
    Exportability, "exportability", {
        /// `E`: exportable under a trusted key.
        Exportable = 'E',
        /// `N`: not exportable.
        NonExportable = 'N',
        /// `S`: sensitive; exportable under an untrusted key.
        Sensitive = 'S',
    }
);

char_enum!(
    /// Key context (header position 14, ANSI X9.143). TR-31:2018 blocks carry `0` here.
    KeyContext, "key context", {
        /// `0`: determined by the wrapping key.
        Any = '0',
        /// `1`: storage context only.
        StorageOnly = '1',
        /// `2`: key exchange context only.
        ExchangeOnly = '2',
    }
);

/// One optional block: a two-character id and printable-ASCII data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OptionalBlock {
    id: [u8; 2],
    data: String,
}

impl OptionalBlock {
    /// Validates an optional block. The padding block `PB` is managed by the writer and
    /// cannot be given explicitly.
    ///
    /// # Errors
    /// [`Error::BadOptionalBlock`] if the id is not two alphanumerics, is `PB`, or the data
    /// is not printable ASCII (0x20-0x7E).
    pub fn new(id: &str, data: impl Into<String>) -> Result<Self, Error> {
        let id = match id.as_bytes() {
            [x, y] if x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric() => [*x, *y],
            _ => {
                return Err(Error::BadOptionalBlock(
                    "id must be two ASCII letters or digits",
                ));
            }
        };
        if &id == b"PB" {
            return Err(Error::BadOptionalBlock(
                "the PB padding block is added automatically",
            ));
        }
        let data = data.into();
        if !data.bytes().all(is_printable) {
            return Err(Error::BadOptionalBlock("data must be printable ASCII"));
        }
        Ok(Self { id, data })
    }

    /// The two-character id.
    pub fn id(&self) -> &str {
        std::str::from_utf8(&self.id).unwrap_or("??")
    }

    /// The data.
    pub fn data(&self) -> &str {
        &self.data
    }
}

fn is_printable(b: u8) -> bool {
    (0x20..=0x7E).contains(&b)
}

/// Maximum number of optional blocks, the padding block included.
const MAX_OPTIONAL_BLOCKS: usize = 99;
/// Largest key block the four-digit length field can describe.
pub(crate) const MAX_BLOCK_LEN: usize = 9999;
/// Length of the fixed part of the header.
pub(crate) const FIXED_HEADER_LEN: usize = 16;

/// A TR-31 key block header.
///
/// The length field and the number of optional blocks are not stored: they are computed
/// when the block is written. `optional_blocks` never contains the `PB` padding block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Key block version: decides the binding method.
    pub version: Version,
    /// Key usage.
    pub key_usage: KeyUsage,
    /// Algorithm of the wrapped key.
    pub algorithm: Algorithm,
    /// Mode of use of the wrapped key.
    pub mode_of_use: ModeOfUse,
    /// Key version number.
    pub key_version: KeyVersion,
    /// Exportability of the wrapped key.
    pub exportability: Exportability,
    /// Key context.
    pub key_context: KeyContext,
    /// Optional blocks in order, without the padding block.
    pub optional_blocks: Vec<OptionalBlock>,
}

impl Header {
    /// A header with key version `00`, key context `0` and no optional blocks.
    pub fn new(
        version: Version,
        key_usage: KeyUsage,
        algorithm: Algorithm,
        mode_of_use: ModeOfUse,
        exportability: Exportability,
    ) -> Self {
        Self {
            version,
            key_usage,
            algorithm,
            mode_of_use,
            key_version: KeyVersion::NONE,
            exportability,
            key_context: KeyContext::Any,
            optional_blocks: Vec::new(),
        }
    }

    /// Parses the header of a complete key block without the KBPK: checks the length field
    /// against the block, every header field and every optional block, and that the header
    /// is padded to the cipher block size. The encrypted part is not examined; use
    /// [`crate::tr31::unwrap`] to authenticate and decrypt.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadLengthField`], [`Error::UnknownVersion`],
    /// [`Error::BadHeaderField`] or [`Error::BadOptionalBlock`].
    pub fn parse(block: &str) -> Result<Self, Error> {
        parse(block).map(|(header, _)| header)
    }

    /// Writes the header text (padding block included) for a block of `total_len`
    /// characters.
    pub(crate) fn encode(&self, total_len: usize) -> Result<String, Error> {
        let (blocks, count) = self.encode_optional_blocks()?;
        if total_len > MAX_BLOCK_LEN {
            return Err(Error::CannotEncode(
                "key block would exceed 9999 characters",
            ));
        }
        let mut out = String::with_capacity(FIXED_HEADER_LEN + blocks.len());
        out.push(self.version.as_char());
        out.push_str(&format!("{total_len:04}"));
        out.push_str(self.key_usage.as_str());
        out.push(self.algorithm.as_char());
        out.push(self.mode_of_use.as_char());
        out.push_str(self.key_version.as_str());
        out.push(self.exportability.as_char());
        out.push_str(&format!("{count:02}"));
        out.push(self.key_context.as_char());
        out.push('0');
        out.push_str(&blocks);
        Ok(out)
    }

    /// Length in characters of the encoded header, padding block included.
    pub(crate) fn encoded_len(&self) -> Result<usize, Error> {
        Ok(FIXED_HEADER_LEN + self.encode_optional_blocks()?.0.len())
    }

    /// The optional blocks as text, with a `PB` block appended when the header needs
    /// padding, and their count.
    fn encode_optional_blocks(&self) -> Result<(String, usize), Error> {
        let mut out = String::new();
        for block in &self.optional_blocks {
            let short_len = 4 + block.data.len();
            out.push_str(block.id());
            if short_len <= 0xFF {
                out.push_str(&format!("{short_len:02X}"));
            } else {
                let long_len = 10 + block.data.len();
                if long_len > 0xFFFF {
                    return Err(Error::CannotEncode(
                        "optional block longer than 65535 characters",
                    ));
                }
                out.push_str(&format!("0004{long_len:04X}"));
            }
            out.push_str(&block.data);
        }
        let mut count = self.optional_blocks.len();
        let bs = self.version.block_size();
        let misalignment = (FIXED_HEADER_LEN + out.len()) % bs;
        if misalignment != 0 {
            let mut pad = bs - misalignment;
            if pad < 4 {
                pad += bs;
            }
            out.push_str(&format!("PB{pad:02X}"));
            out.extend(std::iter::repeat_n('0', pad - 4));
            count += 1;
        }
        if count > MAX_OPTIONAL_BLOCKS {
            return Err(Error::CannotEncode("more than 99 optional blocks"));
        }
        Ok((out, count))
    }
}

/// Reads `n` uppercase hex digits as a number; `None` for anything else or on overflow.
fn hex_value(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    b.iter().try_fold(0usize, |acc, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        Some(acc * 16 + usize::from(d))
    })
}

fn dec_value(b: &[u8]) -> Option<usize> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, &c| acc * 10 + usize::from(c - b'0')))
}

fn field_char(b: u8) -> char {
    char::from(b)
}

/// Parses the header of `block`; returns it with the header length in characters.
pub(crate) fn parse(block: &str) -> Result<(Header, usize), Error> {
    let b = block.as_bytes();
    let Some(&first) = b.first() else {
        return Err(Error::Truncated("empty key block"));
    };
    if !first.is_ascii() {
        return Err(Error::UnknownVersion(
            block.chars().next().unwrap_or('\u{FFFD}'),
        ));
    }
    let version = Version::from_char(field_char(first))?;
    if b.len() < FIXED_HEADER_LEN {
        return Err(Error::Truncated("shorter than the 16-character header"));
    }
    let declared = dec_value(&b[1..5]).ok_or(Error::BadLengthField("not four decimal digits"))?;
    if declared != b.len() {
        return Err(Error::BadLengthField(
            "does not match the length of the block",
        ));
    }
    let key_usage = KeyUsage(two_alnum(&b[5..7], "key usage")?);
    let algorithm = Algorithm::from_char(field_char(b[7]))?;
    let mode_of_use = ModeOfUse::from_char(field_char(b[8]))?;
    let key_version = KeyVersion(two_alnum(&b[9..11], "key version number")?);
    let exportability = Exportability::from_char(field_char(b[11]))?;
    let count = match &b[12..14] {
        d if d.iter().all(u8::is_ascii_digit) => dec_value(d).unwrap_or(0),
        _ => {
            return Err(Error::BadHeaderField {
                field: "number of optional blocks",
                reason: "must be two decimal digits",
            });
        }
    };
    let key_context = KeyContext::from_char(field_char(b[14]))?;
    if b[15] != b'0' {
        return Err(Error::BadHeaderField {
            field: "reserved",
            reason: "must be 0",
        });
    }

    let mut optional_blocks = Vec::with_capacity(count);
    let mut pos = FIXED_HEADER_LEN;
    for index in 0..count {
        let (id, data, next) = parse_optional_block(b, pos)?;
        if &id == b"PB" {
            if index + 1 != count {
                return Err(Error::BadOptionalBlock(
                    "the PB padding block must be the last one",
                ));
            }
        } else {
            optional_blocks.push(OptionalBlock {
                id,
                data: data.to_owned(),
            });
        }
        pos = next;
    }
    if !pos.is_multiple_of(version.block_size()) {
        return Err(Error::BadOptionalBlock(
            "optional blocks are not padded to a multiple of the cipher block size",
        ));
    }
    let header = Header {
        version,
        key_usage,
        algorithm,
        mode_of_use,
        key_version,
        exportability,
        key_context,
        optional_blocks,
    };
    Ok((header, pos))
}

/// Parses the optional block starting at `pos`: returns its id, its data and the position
/// after it.
fn parse_optional_block(b: &[u8], pos: usize) -> Result<([u8; 2], &str, usize), Error> {
    let head = b
        .get(pos..pos + 4)
        .ok_or(Error::Truncated("optional block id and length"))?;
    let id = match head {
        [x, y, ..] if x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric() => [*x, *y],
        _ => {
            return Err(Error::BadOptionalBlock(
                "id must be two ASCII letters or digits",
            ));
        }
    };
    let short = hex_value(&head[2..4]).ok_or(Error::BadOptionalBlock(
        "length must be two uppercase hex digits",
    ))?;
    let (data_start, total) = if short != 0 {
        if short < 4 {
            return Err(Error::BadOptionalBlock(
                "length is shorter than the id and length",
            ));
        }
        (pos + 4, short)
    } else {
        extended_length(b, pos)?
    };
    let end = pos
        .checked_add(total)
        .filter(|&e| e <= b.len())
        .ok_or(Error::Truncated("optional block data"))?;
    let data = &b[data_start..end];
    if !data.iter().copied().all(is_printable) {
        return Err(Error::BadOptionalBlock("data must be printable ASCII"));
    }
    // Printable ASCII is valid UTF-8.
    let data = std::str::from_utf8(data)
        .map_err(|_| Error::BadOptionalBlock("data must be printable ASCII"))?;
    Ok((id, data, end))
}

/// Reads the extended length form `00 LL <length>` of the block at `pos`; returns where
/// the data starts and the block's total length.
///
/// X9.143 reads `LL` as the number of hex digits of the length (its own examples write
/// `0004` + four digits); some implementations (psec) read it as a number of bytes
/// (`0002` + four digits). The X9.143 reading is tried first, then the byte reading.
fn extended_length(b: &[u8], pos: usize) -> Result<(usize, usize), Error> {
    let ll = b
        .get(pos + 4..pos + 6)
        .ok_or(Error::Truncated("optional block length of length"))?;
    let ll = hex_value(ll).ok_or(Error::BadOptionalBlock(
        "length of length must be two uppercase hex digits",
    ))?;
    if ll == 0 {
        return Err(Error::BadOptionalBlock("length of length must not be zero"));
    }
    let read = |digits: usize| -> Result<(usize, usize), Error> {
        let start = pos + 6;
        let field = b
            .get(start..start + digits)
            .ok_or(Error::Truncated("optional block extended length"))?;
        let total = hex_value(field).ok_or(Error::BadOptionalBlock(
            "extended length must be uppercase hex digits",
        ))?;
        let data_start = start + digits;
        if total < 6 + digits {
            return Err(Error::BadOptionalBlock(
                "length is shorter than the id and length",
            ));
        }
        if pos.checked_add(total).is_none_or(|end| end > b.len()) {
            return Err(Error::Truncated("optional block data"));
        }
        Ok((data_start, total))
    };
    let as_digits = read(ll);
    match as_digits {
        Ok(found) => Ok(found),
        Err(first_error) => read(ll * 2).map_err(|_| first_error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_len(s: &str) -> String {
        // Replace the 4-digit length field with the actual length.
        format!("{}{:04}{}", &s[..1], s.len(), &s[5..])
    }

    // Header examples from psec tests/test_tr31.py (test_header_load*).
    #[test]
    fn parses_psec_header_examples() {
        let h = Header::parse("B0016P0TE00N0000").unwrap();
        assert_eq!(h.version, Version::B);
        assert_eq!(h.key_usage.as_str(), "P0");
        assert_eq!(h.algorithm, Algorithm::Tdes);
        assert_eq!(h.mode_of_use, ModeOfUse::EncryptOnly);
        assert_eq!(h.key_version, KeyVersion::NONE);
        assert_eq!(h.exportability, Exportability::NonExportable);
        assert!(h.optional_blocks.is_empty());

        let (h, len) = parse(&with_len("B0000P0TE00N0100KS1800604B120F9292800000")).unwrap();
        assert_eq!(len, 40);
        assert_eq!(h.optional_blocks.len(), 1);
        assert_eq!(h.optional_blocks[0].id(), "KS");
        assert_eq!(h.optional_blocks[0].data(), "00604B120F9292800000");

        let (h, len) = parse(&with_len("B0000P0TE00N0200KS1200604B120F9292PB0600")).unwrap();
        assert_eq!(len, 40);
        assert_eq!(
            h.optional_blocks,
            vec![OptionalBlock::new("KS", "00604B120F9292").unwrap()]
        );

        let (h, len) = parse(&with_len(
            "B0000P0TE00N0400KS1800604B120F9292800000T104T20600PB0600",
        ))
        .unwrap();
        assert_eq!(len, 56);
        let ids: Vec<_> = h
            .optional_blocks
            .iter()
            .map(|b| (b.id(), b.data()))
            .collect();
        assert_eq!(
            ids,
            vec![("KS", "00604B120F9292800000"), ("T1", ""), ("T2", "00")]
        );
    }

    // psec's extended length examples use the byte reading of the length of length.
    #[test]
    fn parses_both_extended_length_readings() {
        let psec = with_len(&format!(
            "B0000P0TE00N0200KS0002010A{}PB0600",
            "P".repeat(256)
        ));
        let (h, len) = parse(&psec).unwrap();
        assert_eq!(len, 288);
        assert_eq!(h.optional_blocks[0].data(), "P".repeat(256));

        let psec_short = with_len("B0000P0TE00N0200KS00011600604B120F9292PB0A000000");
        let (h, len) = parse(&psec_short).unwrap();
        assert_eq!(len, 48);
        assert_eq!(h.optional_blocks[0].data(), "00604B120F9292");

        // X9.143 reading: 0004 + four digits (as in X9.143:2021 examples 8.5 and 8.6).
        let x9 = with_len(&format!(
            "D0000S0RS00N0200CT0004010A{}PB0600",
            "P".repeat(256)
        ));
        let (h, len) = parse(&x9).unwrap();
        assert_eq!(len, 288);
        assert_eq!(h.optional_blocks[0].id(), "CT");
    }

    #[test]
    fn writer_pads_and_uses_extended_form() {
        let mut h = Header::new(
            Version::D,
            KeyUsage::new("C0").unwrap(),
            Algorithm::Aes,
            ModeOfUse::VerifyOnly,
            Exportability::NonExportable,
        );
        h.key_version = KeyVersion::new("A1").unwrap();
        h.optional_blocks
            .push(OptionalBlock::new("KS", "VM9A").unwrap());
        h.optional_blocks
            .push(OptionalBlock::new("TS", "2018-06-18T20:42:39.22").unwrap());
        // The X9.143:2021 section 8.2 header.
        assert_eq!(
            h.encode(192).unwrap(),
            "D0192C0AVA1N0300KS08VM9ATS1A2018-06-18T20:42:39.22PB0E0000000000"
        );
        assert_eq!(h.encoded_len().unwrap(), 64);

        h.optional_blocks = vec![OptionalBlock::new("CT", "P".repeat(256)).unwrap()];
        let text = h.encode(9999).unwrap();
        assert!(text.starts_with("D9999C0AVA1N0200CT0004010APPP"));
        assert_eq!(text.len() % 16, 0);
        let (back, _) = parse(&format!("{}{}", text, "0".repeat(9999 - text.len()))).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn short_padding_gets_a_whole_extra_block() {
        // 16 + 6 = 22 characters: 2 short of 24, less than a PB block, so pad to 32.
        let mut h = Header::new(
            Version::B,
            KeyUsage::new("P0").unwrap(),
            Algorithm::Tdes,
            ModeOfUse::EncryptOnly,
            Exportability::Exportable,
        );
        h.optional_blocks
            .push(OptionalBlock::new("T1", "00").unwrap());
        let text = h.encode(96).unwrap();
        assert_eq!(text, "B0096P0TE00E0200T10600PB0A000000");
    }

    #[test]
    fn rejects_malformed_headers() {
        let cases: &[(&str, Error)] = &[
            ("", Error::Truncated("empty key block")),
            ("X0016P0TE00N0000", Error::UnknownVersion('X')),
            (
                "B0016",
                Error::Truncated("shorter than the 16-character header"),
            ),
            (
                "BX016P0TE00N0000",
                Error::BadLengthField("not four decimal digits"),
            ),
            (
                "B0040P0TE00N0000",
                Error::BadLengthField("does not match the length of the block"),
            ),
            (
                "B0016P_TE00N0000",
                Error::BadHeaderField {
                    field: "key usage",
                    reason: "must be two ASCII letters or digits",
                },
            ),
            (
                "B0016P0XE00N0000",
                Error::BadHeaderField {
                    field: "algorithm",
                    reason: "value not defined by X9.143",
                },
            ),
            (
                "B0016P0TE00N0X00",
                Error::BadHeaderField {
                    field: "number of optional blocks",
                    reason: "must be two decimal digits",
                },
            ),
            (
                "B0016P0TE00N0001",
                Error::BadHeaderField {
                    field: "reserved",
                    reason: "must be 0",
                },
            ),
            (
                "B0016P0TE00N0100",
                Error::Truncated("optional block id and length"),
            ),
            (
                "B0024P0TE00N0100KS02xxxx",
                Error::BadOptionalBlock("length is shorter than the id and length"),
            ),
            (
                "B0024P0TE00N0100KS1Yxxxx",
                Error::BadOptionalBlock("length must be two uppercase hex digits"),
            ),
            (
                "B0024P0TE00N0100KS0000xx",
                Error::BadOptionalBlock("length of length must not be zero"),
            ),
            (
                "B0024P0TE00N0100**04xxxx",
                Error::BadOptionalBlock("id must be two ASCII letters or digits"),
            ),
            (
                "B0024P0TE00N0100KS0Axxxx",
                Error::Truncated("optional block data"),
            ),
            (
                "B0024P0TE00N0200PB04KS04",
                Error::BadOptionalBlock("the PB padding block must be the last one"),
            ),
            (
                "B0024P0TE00N0100KS06xxxx",
                Error::BadOptionalBlock(
                    "optional blocks are not padded to a multiple of the cipher block size",
                ),
            ),
        ];
        for (text, err) in cases {
            assert_eq!(parse(text).map(|_| ()), Err(err.clone()), "{text}");
        }
        assert_eq!(
            parse("B0024P0TE00N0100KS05\u{3}xxx").map(|_| ()),
            Err(Error::BadOptionalBlock("data must be printable ASCII"))
        );
        assert!(matches!(
            parse("é0016P0TE00N0000"),
            Err(Error::UnknownVersion('é'))
        ));
    }

    #[test]
    fn optional_block_constructor_validates() {
        assert!(OptionalBlock::new("PB", "00").is_err());
        assert!(OptionalBlock::new("K", "00").is_err());
        assert!(OptionalBlock::new("KS", "tab\there").is_err());
        assert!(OptionalBlock::new("KS", "ok data ~").is_ok());
        assert!(KeyUsage::new("P00").is_err());
        assert!(KeyVersion::new("0_").is_err());
    }

    #[test]
    fn too_many_blocks_is_an_error() {
        let mut h = Header::new(
            Version::B,
            KeyUsage::new("P0").unwrap(),
            Algorithm::Tdes,
            ModeOfUse::EncryptOnly,
            Exportability::Exportable,
        );
        h.optional_blocks = (0..99)
            .map(|i| OptionalBlock::new(&format!("{i:02}"), "PP").unwrap())
            .collect();
        // 99 blocks of 6 characters need a PB block: 100 blocks.
        assert_eq!(
            h.encoded_len(),
            Err(Error::CannotEncode("more than 99 optional blocks"))
        );
    }
}
