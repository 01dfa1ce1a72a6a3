//! `paycrypt crypto`: the data plane's primitives at a terminal, without a server: encryption,
//! decryption and MACs over a clear key read from a file or standard input (never from the
//! command line, so keys stay out of `ps` and shell history).
//!
//! ```text
//! paycrypt crypto encrypt --cipher tdes|aes --mode MODE [--iv HEX] --key-file FILE|- DATA
//! paycrypt crypto decrypt --cipher tdes|aes --mode MODE [--iv HEX] --key-file FILE|- DATA
//! paycrypt crypto mac --algorithm ALG [--cipher tdes|aes] [--mac-length N] --key-file FILE|- DATA
//! ```
//!
//! * The key file holds the key as hex (upper or lower case, surrounding white space ignored);
//!   `-` reads it from standard input.
//! * `--mode` is one of the data plane's modes: `ECB`, `CBC`, `CFB` (the full-block segment),
//!   `CFB1`, `CFB8`, `CFB64`, `CFB128`, `OFB`. The IV defaults to zeros, as in the data plane; the
//!   data must be whole cipher blocks (8 bytes TDES, 16 AES), as EncryptData requires.
//! * `--algorithm` names a GenerateMac algorithm: `ISO9797_ALGORITHM1`, `ISO9797_ALGORITHM3`,
//!   `AS2805_4_1` (TDES keys), `CMAC` (with `--cipher`), `HMAC_SHA224`, `HMAC_SHA256`,
//!   `HMAC_SHA384`, `HMAC_SHA512`. `--mac-length` (bytes) keeps the leftmost bytes; the default
//!   is 8 for the ISO 9797 and AS 2805 MACs and the full MAC otherwise, as the data plane answers.
//!
//! DATA is hex; the result is printed as upper-case hex on standard output. Errors go to standard
//! error with a non-zero exit status and never contain the key.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use paycrypt_cardcrypto::cipher::{self, Mode};
use paycrypt_cardcrypto::mac::{self, MacAlgorithm};
use paycrypt_cardcrypto::{BlockCipherKind, HmacHash};
use zeroize::Zeroizing;

#[derive(Args)]
pub struct CryptoArgs {
    #[command(subcommand)]
    command: CryptoCommand,
}

#[derive(Subcommand)]
enum CryptoCommand {
    /// Encrypt hex data with a TDES or AES key.
    Encrypt(CipherArgs),
    /// Decrypt hex data with a TDES or AES key.
    Decrypt(CipherArgs),
    /// Compute a MAC of hex data.
    Mac(MacArgs),
}

#[derive(Args)]
struct KeySource {
    /// File holding the key as hex; `-` reads it from standard input.
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
}

#[derive(Args)]
struct CipherArgs {
    /// The block cipher of the key.
    #[arg(long, value_enum)]
    cipher: CipherName,
    /// Mode of operation.
    #[arg(long, value_enum)]
    mode: ModeName,
    /// Initialization vector, hex (one block) [default: zeros].
    #[arg(long, value_name = "HEX")]
    iv: Option<String>,
    #[command(flatten)]
    key: KeySource,
    /// The data, hex.
    data: String,
}

#[derive(Args)]
struct MacArgs {
    /// MAC algorithm.
    #[arg(long, value_enum)]
    algorithm: MacName,
    /// The block cipher of a CMAC key.
    #[arg(long, value_enum)]
    cipher: Option<CipherName>,
    /// MAC length in bytes (the leftmost bytes).
    #[arg(long, value_name = "BYTES")]
    mac_length: Option<usize>,
    #[command(flatten)]
    key: KeySource,
    /// The message, hex.
    data: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum CipherName {
    Tdes,
    Aes,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
enum ModeName {
    Ecb,
    Cbc,
    Cfb,
    Cfb1,
    Cfb8,
    Cfb64,
    Cfb128,
    Ofb,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
enum MacName {
    #[value(name = "ISO9797_ALGORITHM1")]
    Iso9797Algorithm1,
    #[value(name = "ISO9797_ALGORITHM3")]
    Iso9797Algorithm3,
    #[value(name = "AS2805_4_1")]
    As2805_4_1,
    Cmac,
    #[value(name = "HMAC_SHA224")]
    HmacSha224,
    #[value(name = "HMAC_SHA256")]
    HmacSha256,
    #[value(name = "HMAC_SHA384")]
    HmacSha384,
    #[value(name = "HMAC_SHA512")]
    HmacSha512,
}

impl CipherName {
    fn kind(self) -> BlockCipherKind {
        match self {
            Self::Tdes => BlockCipherKind::Tdes,
            Self::Aes => BlockCipherKind::Aes,
        }
    }
}

pub fn run(args: CryptoArgs) -> anyhow::Result<()> {
    let output = match args.command {
        CryptoCommand::Encrypt(a) => crypt(a, cipher::encrypt)?,
        CryptoCommand::Decrypt(a) => crypt(a, cipher::decrypt)?,
        CryptoCommand::Mac(a) => mac_of(a)?,
    };
    println!("{}", hex::encode_upper(output));
    Ok(())
}

/// The key of `source`, from its file or standard input.
fn read_key(source: &KeySource) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut text = Zeroizing::new(String::new());
    if source.key_file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the key from standard input")?;
    } else {
        let mut file = std::fs::File::open(&source.key_file)
            .with_context(|| format!("opening the key file {}", source.key_file.display()))?;
        file.read_to_string(&mut text)
            .with_context(|| format!("reading the key file {}", source.key_file.display()))?;
    }
    let key = hex::decode(text.trim()).map_err(|_| anyhow!("the key file does not hold hex"))?;
    if key.is_empty() {
        bail!("the key file is empty");
    }
    Ok(Zeroizing::new(key))
}

fn unhex(what: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.trim()).map_err(|_| anyhow!("{what} is not hex"))
}

type CipherFn = fn(
    BlockCipherKind,
    Mode,
    &[u8],
    Option<&[u8]>,
    &[u8],
) -> Result<Vec<u8>, paycrypt_cardcrypto::Error>;

fn crypt(args: CipherArgs, run: CipherFn) -> anyhow::Result<Vec<u8>> {
    let kind = args.cipher.kind();
    let block = match kind {
        BlockCipherKind::Tdes => 8,
        BlockCipherKind::Aes => 16,
    };
    let mode = match args.mode {
        ModeName::Ecb => Mode::Ecb,
        ModeName::Cbc => Mode::Cbc,
        ModeName::Cfb if block == 8 => Mode::Cfb64,
        ModeName::Cfb => Mode::Cfb128,
        ModeName::Cfb1 => Mode::Cfb1,
        ModeName::Cfb8 => Mode::Cfb8,
        ModeName::Cfb64 => Mode::Cfb64,
        ModeName::Cfb128 => Mode::Cfb128,
        ModeName::Ofb => Mode::Ofb,
    };
    let data = unhex("DATA", &args.data)?;
    if data.len() % block != 0 {
        bail!(
            "DATA must be a multiple of {block} bytes for this cipher; it is {} bytes",
            data.len()
        );
    }
    let iv = args.iv.as_deref().map(|iv| unhex("--iv", iv)).transpose()?;
    let key = read_key(&args.key)?;
    run(kind, mode, &key, iv.as_deref(), &data).map_err(|e| anyhow!("{e}"))
}

fn mac_of(args: MacArgs) -> anyhow::Result<Vec<u8>> {
    let (algorithm, default_len) = match args.algorithm {
        MacName::Iso9797Algorithm1 => (MacAlgorithm::Iso9797Algorithm1, Some(8)),
        MacName::Iso9797Algorithm3 => (MacAlgorithm::Iso9797Algorithm3, Some(8)),
        MacName::As2805_4_1 => (MacAlgorithm::As2805_4_1, Some(8)),
        MacName::Cmac => {
            let cipher = args
                .cipher
                .ok_or_else(|| anyhow!("CMAC needs --cipher tdes or --cipher aes"))?;
            (MacAlgorithm::Cmac(cipher.kind()), None)
        }
        MacName::HmacSha224 => (MacAlgorithm::Hmac(HmacHash::Sha224), None),
        MacName::HmacSha256 => (MacAlgorithm::Hmac(HmacHash::Sha256), None),
        MacName::HmacSha384 => (MacAlgorithm::Hmac(HmacHash::Sha384), None),
        MacName::HmacSha512 => (MacAlgorithm::Hmac(HmacHash::Sha512), None),
    };
    let data = unhex("DATA", &args.data)?;
    let key = read_key(&args.key)?;
    let full = mac::generate(algorithm, &key, &data).map_err(|e| anyhow!("{e}"))?;
    let len = args.mac_length.or(default_len).unwrap_or(full.len());
    if !(mac::MIN_VERIFY_LEN..=full.len()).contains(&len) {
        bail!(
            "--mac-length must be {} to {} bytes for this algorithm",
            mac::MIN_VERIFY_LEN,
            full.len()
        );
    }
    Ok(full[..len].to_vec())
}
