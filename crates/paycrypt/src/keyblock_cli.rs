//! `paycrypt keyblock`: offline key block tools. Nothing here touches the server, the store
//! or the master key; every command is a pure function of its arguments.
//!
//! ```text
//! paycrypt keyblock tr31 wrap --kbpk HEX --header HEADER --key HEX [--no-mask]
//! paycrypt keyblock tr31 unwrap --kbpk HEX BLOCK
//! paycrypt keyblock inspect BLOCK
//! paycrypt keyblock kcv --algorithm ANSI_X9_24|CMAC|HMAC --key HEX [--key-algorithm ALG]
//! ```
//!
//! * `tr31 wrap` prints the key block. The version, the header fields and the optional
//!   blocks come from `--header`: the 16 fixed characters and the optional blocks, as in a
//!   key block (the length field is recomputed, so `0000` will do; a `PB` padding block is
//!   dropped and written anew as needed). Key length masking (TDES keys padded as if
//!   24 bytes long, AES keys as if 32) is on unless `--no-mask` is given.
//! * `tr31 unwrap` checks the MAC, decrypts and prints
//!   `{"header": {"version", "key_usage", "algorithm", "mode_of_use", "key_version",
//!   "exportability", "optional_blocks": [{"id", "data"}]}, "key": HEX, "kcv": HEX}`.
//!   The header fields are the header's characters. The KCV follows the header's algorithm:
//!   `ANSI_X9_24` for TDES (and single DES) keys, `CMAC` for AES keys, `HMAC` for HMAC keys
//!   with the hash named by an `HM` optional block (SHA-256 without one); it is `null` when
//!   none applies (asymmetric keys, a key length the algorithm cannot have, an `HM` hash
//!   other than SHA-224/256/384/512).
//! * `inspect` prints the header of a TR-31 block as JSON without any key: nothing is
//!   decrypted or authenticated. An argument that is not a TR-31 block but hex of a DER
//!   TR-34 block (as AWS puts it on the wire, or as the TR-34-2019 annex B samples and the
//!   HSMs that follow them write it) prints what `tr34::inspect` reads from it:
//!   `{"format": "TR-34", "layout": "AWS" | "TR-34-2019 annex B" | "CMS",
//!   "kdh": {"issuer", "serial"}, "krd": {"issuer", "serial"}, "header",
//!   "freshness": {"random_nonce": HEX} | {"signing_time": RFC3339}, "content_cipher",
//!   "key_transport"}`. Issuers are in RFC 4514 form (`null` if the name
//!   does not parse), serials are the INTEGER's content octets in hex. Neither the
//!   signature nor the encrypted key is checked. (The reading is
//!   `paycrypt_keyblock::describe`, which the console's inspector shows too.)
//! * `kcv` prints a key check value (6 hex digits). `--key-algorithm` defaults to TDES for
//!   `ANSI_X9_24`, AES for `CMAC` and HMAC_SHA256 for `HMAC`.
//!
//! Results go to standard output; errors go to standard error with a non-zero exit status.
//! Error messages never contain key material (hex input errors name the argument, not its
//! content). Hex input may be upper or lower case; hex output is upper case.

use std::io::Write;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use paycrypt_keyblock::describe::{self, HeaderFields};
use paycrypt_keyblock::kcv::{self, BlockCipherKind, HmacHash};
use paycrypt_keyblock::tr31::{self, Algorithm, Header, OptionalBlock, WrapOptions};
use paycrypt_keyblock::{Error as KeyblockError, SystemRng};
use serde::Serialize;
use zeroize::Zeroizing;

#[derive(Args)]
pub struct KeyblockArgs {
    #[command(subcommand)]
    command: KeyblockCommand,
}

#[derive(Subcommand)]
enum KeyblockCommand {
    /// TR-31 / ANSI X9.143 key blocks (versions A, B, C, D).
    Tr31 {
        #[command(subcommand)]
        command: Tr31Command,
    },
    /// Print a TR-31 block's header, or a TR-34 block's public facts, as JSON (no key
    /// needed; nothing is decrypted or verified).
    Inspect {
        /// The key block: TR-31, or hex of a DER TR-34 block.
        block: String,
    },
    /// Print a key check value (6 hex digits).
    Kcv(KcvArgs),
}

#[derive(Subcommand)]
enum Tr31Command {
    /// Wrap a key under a key block protection key and print the key block.
    Wrap(WrapArgs),
    /// Authenticate and decrypt a key block; print its header, key and KCV as JSON.
    Unwrap(UnwrapArgs),
}

#[derive(Args)]
struct WrapArgs {
    /// Key block protection key, hex (TDES 16/24 bytes for A/B/C, AES 16/24/32 for D).
    #[arg(long, value_name = "HEX")]
    kbpk: String,
    /// Header: 16 characters and optional blocks, e.g. B0000P0TE00E0000 (length field ignored).
    #[arg(long, value_name = "HEADER")]
    header: String,
    /// The key to wrap, hex.
    #[arg(long, value_name = "HEX")]
    key: String,
    /// Do not mask the key length (by default TDES keys are padded as 24 bytes, AES as 32).
    #[arg(long)]
    no_mask: bool,
}

#[derive(Args)]
struct UnwrapArgs {
    /// Key block protection key, hex.
    #[arg(long, value_name = "HEX")]
    kbpk: String,
    /// The key block.
    block: String,
}

#[derive(Args)]
struct KcvArgs {
    /// Key check value algorithm.
    #[arg(long, value_enum)]
    algorithm: KcvAlgorithm,
    /// The key, hex.
    #[arg(long, value_name = "HEX")]
    key: String,
    /// Algorithm of the key [default: TDES for ANSI_X9_24, AES for CMAC, HMAC_SHA256 for HMAC]
    #[arg(long, value_enum)]
    key_algorithm: Option<KeyAlgorithm>,
}

#[derive(Clone, Copy, ValueEnum)]
enum KcvAlgorithm {
    /// TDES-ECB of eight zero bytes (TDES keys).
    #[value(name = "ANSI_X9_24")]
    AnsiX924,
    /// CMAC of a zero block (AES, or TDES with --key-algorithm TDES).
    #[value(name = "CMAC")]
    Cmac,
    /// HMAC of the empty message (HMAC keys).
    #[value(name = "HMAC")]
    Hmac,
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyAlgorithm {
    #[value(name = "TDES")]
    Tdes,
    #[value(name = "AES")]
    Aes,
    #[value(name = "HMAC_SHA224")]
    HmacSha224,
    #[value(name = "HMAC_SHA256")]
    HmacSha256,
    #[value(name = "HMAC_SHA384")]
    HmacSha384,
    #[value(name = "HMAC_SHA512")]
    HmacSha512,
}

pub fn run(args: KeyblockArgs) -> anyhow::Result<()> {
    let output = match args.command {
        KeyblockCommand::Tr31 {
            command: Tr31Command::Wrap(args),
        } => Zeroizing::new(tr31_wrap(&args)?),
        KeyblockCommand::Tr31 {
            command: Tr31Command::Unwrap(args),
        } => tr31_unwrap(&args)?,
        KeyblockCommand::Inspect { block } => Zeroizing::new(inspect(block.trim())?),
        KeyblockCommand::Kcv(args) => Zeroizing::new(key_check_value(&args)?),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", output.as_str())
        .and_then(|()| out.flush())
        .context("cannot write to standard output")
}

// ---------------------------------------------------------------------------------------
// tr31 wrap / unwrap

fn tr31_wrap(args: &WrapArgs) -> anyhow::Result<String> {
    let header = parse_header_arg(args.header.trim())?;
    let kbpk = decode_hex("--kbpk", &args.kbpk)?;
    let key = decode_hex("--key", &args.key)?;
    let options = WrapOptions {
        mask_key_length: !args.no_mask,
    };
    tr31::wrap(&kbpk, &header, &key, options, &mut SystemRng)
        .context("cannot wrap the key in a TR-31 key block")
}

#[derive(Serialize)]
struct UnwrapOutput<'a> {
    header: HeaderFields<'a>,
    key: &'a str,
    kcv: Option<String>,
}

fn tr31_unwrap(args: &UnwrapArgs) -> anyhow::Result<Zeroizing<String>> {
    let kbpk = decode_hex("--kbpk", &args.kbpk)?;
    let (header, key) = tr31::unwrap(&kbpk, args.block.trim())
        .map_err(|e| tr31_error(e, "cannot unwrap the TR-31 key block"))?;
    let key_hex = Zeroizing::new(hex::encode_upper(key.expose()));
    let output = UnwrapOutput {
        header: HeaderFields::new(&header),
        key: &key_hex,
        kcv: unwrapped_key_kcv(&header, key.expose()).map(hex::encode_upper),
    };
    serde_json::to_string_pretty(&output)
        .map(Zeroizing::new)
        .context("cannot format the result as JSON")
}

/// The KCV shown for an unwrapped key, chosen by the header's algorithm; `None` when no
/// symmetric check value applies.
fn unwrapped_key_kcv(header: &Header, key: &[u8]) -> Option<[u8; 3]> {
    match header.algorithm {
        Algorithm::Tdes | Algorithm::Des if key.len() == 8 => {
            // A single DES key K is the TDES key K|K (K1K2K1 = KKK).
            let doubled = Zeroizing::new([key, key].concat());
            kcv::ansi_x9_24(&doubled).ok()
        }
        Algorithm::Tdes | Algorithm::Des => kcv::ansi_x9_24(key).ok(),
        Algorithm::Aes => kcv::cmac(BlockCipherKind::Aes, key).ok(),
        Algorithm::Hmac => hmac_hash_of(header).map(|hash| kcv::hmac(hash, key)),
        Algorithm::Ec | Algorithm::Rsa | Algorithm::Dsa => None,
    }
}

/// The hash of an HMAC key: the ANSI X9.143 `HM` optional block (`20` SHA-224, `21`
/// SHA-256, `22` SHA-384, `23` SHA-512), SHA-256 when the block is absent, `None` for a
/// hash the KCV functions do not cover.
fn hmac_hash_of(header: &Header) -> Option<HmacHash> {
    let Some(hm) = header.optional_blocks.iter().find(|b| b.id() == "HM") else {
        return Some(HmacHash::Sha256);
    };
    match hm.data() {
        "20" => Some(HmacHash::Sha224),
        "21" => Some(HmacHash::Sha256),
        "22" => Some(HmacHash::Sha384),
        "23" => Some(HmacHash::Sha512),
        _ => None,
    }
}

fn tr31_error(e: KeyblockError, what: &'static str) -> anyhow::Error {
    match e {
        KeyblockError::UnknownVersion(_) => anyhow!(e).context(format!(
            "{what}: not a TR-31 key block (the version must be A, B, C or D)"
        )),
        other => anyhow!(other).context(what),
    }
}

// ---------------------------------------------------------------------------------------
// --header

/// Parses the `--header` argument: the 16 fixed characters (any four digits in the length
/// field) followed by exactly the optional blocks the header announces. A `PB` block is
/// dropped: the writer pads the header itself.
fn parse_header_arg(text: &str) -> anyhow::Result<Header> {
    let context = "invalid --header";
    if !text.is_ascii() {
        bail!("{context}: must be ASCII");
    }
    if text.len() < 16 {
        bail!(
            "{context}: must be at least 16 characters (e.g. B0000P0TE00E0000), got {}",
            text.len()
        );
    }
    if !text.as_bytes()[1..5].iter().all(u8::is_ascii_digit) {
        bail!("{context}: the length field (characters 2-5) must be four digits");
    }
    let count_field = &text[12..14];
    if !count_field.bytes().all(|c| c.is_ascii_digit()) {
        bail!("{context}: the number of optional blocks (characters 13-14) must be two digits");
    }
    // The fixed fields are checked by the library's parser on a header without optional
    // blocks (16 characters: the length field says 16, no padding is needed).
    let fixed = format!("{}0016{}00{}", &text[..1], &text[5..12], &text[14..16]);
    let mut header = Header::parse(&fixed).map_err(|e| anyhow!(e).context(context))?;

    let count: usize = count_field.parse().unwrap_or(0);
    let blocks = &text.as_bytes()[16..];
    let mut pos = 0;
    for index in 1..=count {
        let (id, data, next) = optional_block_at(blocks, pos)
            .with_context(|| format!("{context}: optional block {index} of {count}"))?;
        pos = next;
        if id == "PB" {
            continue;
        }
        let block = OptionalBlock::new(id, data)
            .map_err(|e| anyhow!(e).context(format!("{context}: optional block {id}")))?;
        header.optional_blocks.push(block);
    }
    if pos != blocks.len() {
        bail!(
            "{context}: {} characters follow the {count} optional block(s) the header announces",
            blocks.len() - pos
        );
    }
    Ok(header)
}

/// Reads the optional block at `pos` of `b` (ASCII): its id, data and the position after
/// it. Lengths count the id and the length field; `00` announces the extended form
/// `00 LL <length>`, where `LL` is read as a number of hex digits (X9.143) or, failing
/// that, of bytes (as psec writes it).
fn optional_block_at(b: &[u8], pos: usize) -> anyhow::Result<(&str, &str, usize)> {
    let head = b
        .get(pos..pos + 4)
        .ok_or_else(|| anyhow!("truncated id and length"))?;
    let id = ascii(&head[..2]);
    let short = hex_number(&head[2..]).ok_or_else(|| anyhow!("length is not two hex digits"))?;
    let (data_start, end) = if short != 0 {
        if short < 4 {
            bail!("length {short} is shorter than the id and length");
        }
        (pos + 4, pos + short)
    } else {
        let ll = b
            .get(pos + 4..pos + 6)
            .and_then(hex_number)
            .filter(|&ll| ll > 0)
            .ok_or_else(|| anyhow!("extended length: bad length of length"))?;
        let read = |digits: usize| -> Option<(usize, usize)> {
            let start = pos + 6;
            let total = b.get(start..start + digits).and_then(hex_number)?;
            (total >= 6 + digits && pos + total <= b.len()).then_some((start + digits, pos + total))
        };
        read(ll)
            .or_else(|| read(2 * ll))
            .ok_or_else(|| anyhow!("extended length is malformed or exceeds the header"))?
    };
    if end > b.len() {
        bail!("data is truncated");
    }
    Ok((id, ascii(&b[data_start..end]), end))
}

fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("")
}

/// Uppercase hex digits as a number (at most 8 digits).
fn hex_number(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 8 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'A'..=b'F')) {
        return None;
    }
    usize::from_str_radix(ascii(b), 16).ok()
}

// ---------------------------------------------------------------------------------------
// inspect

/// The header of a TR-31 block or the public facts of a TR-34 block, as JSON (see
/// [`describe`]).
fn inspect(block: &str) -> anyhow::Result<String> {
    let seen = describe::inspect(block)?;
    serde_json::to_string_pretty(&seen).context("cannot format the result as JSON")
}

// ---------------------------------------------------------------------------------------
// kcv

fn key_check_value(args: &KcvArgs) -> anyhow::Result<String> {
    let key = decode_hex("--key", &args.key)?;
    let check = match (args.algorithm, args.key_algorithm) {
        (KcvAlgorithm::AnsiX924, None | Some(KeyAlgorithm::Tdes)) => kcv::ansi_x9_24(&key)?,
        (KcvAlgorithm::AnsiX924, Some(_)) => {
            bail!("ANSI_X9_24 check values are defined for TDES keys only")
        }
        (KcvAlgorithm::Cmac, None | Some(KeyAlgorithm::Aes)) => {
            kcv::cmac(BlockCipherKind::Aes, &key)?
        }
        (KcvAlgorithm::Cmac, Some(KeyAlgorithm::Tdes)) => kcv::cmac(BlockCipherKind::Tdes, &key)?,
        (KcvAlgorithm::Cmac, Some(_)) => {
            bail!("CMAC check values are defined for TDES and AES keys only")
        }
        (KcvAlgorithm::Hmac, None | Some(KeyAlgorithm::HmacSha256)) => {
            kcv::hmac(HmacHash::Sha256, &key)
        }
        (KcvAlgorithm::Hmac, Some(KeyAlgorithm::HmacSha224)) => kcv::hmac(HmacHash::Sha224, &key),
        (KcvAlgorithm::Hmac, Some(KeyAlgorithm::HmacSha384)) => kcv::hmac(HmacHash::Sha384, &key),
        (KcvAlgorithm::Hmac, Some(KeyAlgorithm::HmacSha512)) => kcv::hmac(HmacHash::Sha512, &key),
        (KcvAlgorithm::Hmac, Some(KeyAlgorithm::Tdes | KeyAlgorithm::Aes)) => {
            bail!("HMAC check values are defined for HMAC keys only")
        }
    };
    Ok(hex::encode_upper(check))
}

// ---------------------------------------------------------------------------------------
// hex input

/// Decodes a hex argument (either case, surrounding whitespace ignored). Errors name the
/// argument and never echo its content.
fn decode_hex(what: &str, text: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let text = text.trim();
    if text.is_empty() {
        bail!("{what} is empty");
    }
    if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        bail!("{what} is not hexadecimal (only 0-9 and A-F are allowed)");
    }
    if !text.len().is_multiple_of(2) {
        bail!("{what} has an odd number of hex digits ({})", text.len());
    }
    hex::decode(text)
        .map(Zeroizing::new)
        .map_err(|_| anyhow!("{what} is not hexadecimal"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use paycrypt_keyblock::tr31::Version;

    #[test]
    fn header_arg_takes_fixed_fields_and_optional_blocks() {
        let h = parse_header_arg("B0000P0TE00N0100KS1800604B120F9292800000").unwrap();
        assert_eq!(h.version, Version::B);
        assert_eq!(h.key_usage.as_str(), "P0");
        assert_eq!(h.optional_blocks.len(), 1);
        assert_eq!(h.optional_blocks[0].id(), "KS");
        assert_eq!(h.optional_blocks[0].data(), "00604B120F9292800000");

        // A PB block is dropped; the extended length form is read both ways.
        let h =
            parse_header_arg("D0000C0AVA1N0300KS08VM9ATS1A2018-06-18T20:42:39.22PB0E0000000000")
                .unwrap();
        assert_eq!(h.optional_blocks.len(), 2);
        let long = "X".repeat(300);
        for ext in ["00040136", "00020136"] {
            let h = parse_header_arg(&format!("B0000P0TE00N0100KS{ext}{long}")).unwrap();
            assert_eq!(h.optional_blocks[0].data(), long);
        }
    }

    #[test]
    fn header_arg_errors() {
        for bad in [
            "",
            "B0000P0TE00N000",
            "X0000P0TE00N0000",
            "B00x0P0TE00N0000",
            "B0000P0TE00N0100",
            "B0000P0TE00N0000KS04",
            "B0000P0TE00N0100KS0200",
            "B0000P0TE00N0100KS05",
            "B0000P0QE00N0000",
            "B0000P0TE00NAA00",
        ] {
            assert!(parse_header_arg(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_errors_do_not_echo_input() {
        let e = decode_hex("--key", "0123456789ABCDEG").unwrap_err();
        assert!(!format!("{e:#}").contains("0123"));
        assert!(decode_hex("--key", "ABC").is_err());
        assert!(decode_hex("--key", " ").is_err());
        assert_eq!(
            decode_hex("--key", "abCD").unwrap().as_slice(),
            &[0xAB, 0xCD]
        );
    }
}
