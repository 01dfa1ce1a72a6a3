//! TR-31 / ANSI X9.143 key blocks: parse, write, wrap and unwrap.
//!
//! A key block is `header | hex(encrypted payload) | hex(MAC)`, all printable ASCII. The
//! payload is `key length in bits (2 bytes) | key | random padding`, padded to the cipher
//! block size; with key length masking the padding also hides the key's true length
//! (TDES keys look 24 bytes long, AES keys 32).
//!
//! | version | KBPK | binding | MAC |
//! |---|---|---|---|
//! | `A`, `C` | TDES 16/24 bytes | key variant, TDES-CBC | 4-byte TDES CBC-MAC |
//! | `B` | TDES 16/24 bytes | CMAC key derivation, TDES-CBC | 8-byte TDES-CMAC |
//! | `D` | AES 16/24/32 bytes | CMAC key derivation, AES-CBC | 16-byte AES-CMAC |
//!
//! ```
//! use paycrypt_keyblock::SystemRng;
//! use paycrypt_keyblock::tr31::{self, Algorithm, Exportability, Header, KeyUsage, ModeOfUse, Version, WrapOptions};
//!
//! let kbpk = [0x11u8; 32]; // AES-256 key block protection key
//! let key = [0x22u8; 16]; // the AES-128 key to wrap
//! let header = Header::new(Version::D, KeyUsage::new("P0")?, Algorithm::Aes, ModeOfUse::EncryptDecrypt, Exportability::Exportable);
//! let block = tr31::wrap(&kbpk, &header, &key, WrapOptions::default(), &mut SystemRng)?;
//! assert!(block.starts_with("D0144P0AB00E0000"));
//!
//! let (parsed, unwrapped) = tr31::unwrap(&kbpk, &block)?;
//! assert_eq!(parsed, header);
//! assert_eq!(unwrapped.expose(), &key);
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```

mod binding;
mod header;

pub use header::{
    Algorithm, Exportability, Header, KeyContext, KeyUsage, KeyVersion, ModeOfUse, OptionalBlock,
    Version,
};

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secret::SecretBytes;

/// Options for [`wrap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapOptions {
    /// Pad TDES (and DES) keys as if they were 24 bytes long and AES keys as if they were
    /// 32, so the block length does not reveal the key length (required by ANSI X9.143).
    /// Keys of other algorithms are not masked. Default: `true`.
    pub mask_key_length: bool,
}

impl Default for WrapOptions {
    fn default() -> Self {
        Self {
            mask_key_length: true,
        }
    }
}

/// Largest key [`wrap`] accepts: its length in bits must fit the 2-byte length field.
const MAX_KEY_LEN: usize = 8191;

/// Wraps `key` under `kbpk` in a key block with `header`; `rng` supplies the padding.
///
/// A `PB` optional block is added when the optional blocks need padding.
///
/// # Errors
/// [`Error::WrongKbpkLength`] if the KBPK does not fit `header.version`;
/// [`Error::InvalidKeyLength`] for an empty or over-long key; [`Error::CannotEncode`] if
/// the block would exceed 9999 characters or 99 optional blocks.
pub fn wrap<R: CryptoRng + ?Sized>(
    kbpk: &[u8],
    header: &Header,
    key: &[u8],
    options: WrapOptions,
    rng: &mut R,
) -> Result<String, Error> {
    let version = header.version;
    binding::check_kbpk(version, kbpk)?;
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidKeyLength {
            what: "wrapped key",
            len: key.len(),
        });
    }
    let masked_len = if options.mask_key_length {
        match header.algorithm {
            Algorithm::Tdes | Algorithm::Des => key.len().max(24),
            Algorithm::Aes => key.len().max(32),
            _ => key.len(),
        }
    } else {
        key.len()
    };
    let bs = version.block_size();
    let payload_len = (2 + masked_len).div_ceil(bs) * bs;
    let bits = u16::try_from(key.len() * 8).map_err(|_| Error::InvalidKeyLength {
        what: "wrapped key",
        len: key.len(),
    })?;
    let total_len = header.encoded_len()? + 2 * payload_len + 2 * version.mac_len();
    let header_text = header.encode(total_len)?;

    let mut payload = Zeroizing::new(vec![0u8; payload_len]);
    payload[..2].copy_from_slice(&bits.to_be_bytes());
    payload[2..2 + key.len()].copy_from_slice(key);
    rng.fill_bytes(&mut payload[2 + key.len()..]);
    let (ciphertext, mac) = binding::protect(version, kbpk, &header_text, &payload)?;
    let mut block = header_text;
    block.push_str(&hex::encode_upper(ciphertext));
    block.push_str(&hex::encode_upper(mac));
    Ok(block)
}

/// Authenticates and decrypts a key block; returns its header and the clear key.
///
/// Works for versions `A`, `B`, `C` and `D`. The MAC is checked (in constant time) before
/// the decrypted key length is looked at.
///
/// # Errors
/// Any header error of [`Header::parse`]; [`Error::WrongKbpkLength`];
/// [`Error::Truncated`] or [`Error::BadLengthField`] if the encrypted part does not have
/// the version's shape; [`Error::NonHexPayload`]; [`Error::MacMismatch`];
/// [`Error::MalformedPayload`] if the authenticated payload holds an impossible key length.
pub fn unwrap(kbpk: &[u8], block: &str) -> Result<(Header, SecretBytes), Error> {
    let (header, header_len) = header::parse(block)?;
    let version = header.version;
    binding::check_kbpk(version, kbpk)?;
    let b = block.as_bytes();
    let rest = &b[header_len..];
    let bs = version.block_size();
    let mac_hex_len = 2 * version.mac_len();
    if rest.len() < mac_hex_len + 2 * bs {
        return Err(Error::Truncated("encrypted key and MAC"));
    }
    let (ciphertext_hex, mac_hex) = rest.split_at(rest.len() - mac_hex_len);
    if !ciphertext_hex.len().is_multiple_of(2 * bs) {
        return Err(Error::BadLengthField(
            "encrypted key is not a whole number of cipher blocks",
        ));
    }
    let ciphertext = upper_hex(ciphertext_hex)?;
    let mac = upper_hex(mac_hex)?;
    let payload = binding::unprotect(version, kbpk, &b[..header_len], &ciphertext, &mac)?;
    let [hi, lo, ..] = payload.as_slice() else {
        return Err(Error::MalformedPayload);
    };
    let bits = usize::from(u16::from_be_bytes([*hi, *lo]));
    let key_len = bits / 8;
    if bits == 0 || !bits.is_multiple_of(8) || key_len > payload.len() - 2 {
        return Err(Error::MalformedPayload);
    }
    Ok((header, SecretBytes::new(payload[2..2 + key_len].to_vec())))
}

/// Decodes uppercase hexadecimal (X9.143 does not allow lowercase).
fn upper_hex(text: &[u8]) -> Result<Vec<u8>, Error> {
    if !text.iter().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F')) {
        return Err(Error::NonHexPayload);
    }
    hex::decode(text).map_err(|_| Error::NonHexPayload)
}
