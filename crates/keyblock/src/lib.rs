//! Payment key formats and key cryptography for paycrypt, as pure functions over bytes.
//!
//! No I/O, no clock: randomness is passed in (`rand_core` CSPRNGs; [`SystemRng`] is the
//! operating system's), errors are typed ([`Error`]) and never carry key material, and
//! clear keys live in [`SecretBytes`], which is wiped on drop and never printed. No input
//! makes these functions panic. Two operations take their randomness from the crypto
//! provider (aws-lc-rs, seeded by the operating system) instead of a parameter: RSA / ECC
//! key pair generation and the RSA-OAEP seed (in [`cryptogram`] and [`tr34`]).
//!
//! | module | what |
//! |---|---|
//! | [`keygen`] | symmetric keys (TDES with odd parity, AES, HMAC) and RSA / ECC key pairs |
//! | [`kcv`] | key check values: `ANSI_X9_24`, `CMAC`, `HMAC`, `SHA_1` |
//! | [`tr31`] | TR-31 / ANSI X9.143 key blocks, versions A, B, C, D |
//! | [`describe`] | what a TR-31 or TR-34 block says about itself, read without any key |
//! | [`tr34`] | TR-34 key blocks: build (KDH, the AWS layout), open with checks (KRD) and inspect (the AWS layout and the TR-34-2019 annex B CMS layouts) |
//! | [`dukpt`] | DUKPT: TDES IPEK, transaction and working keys (X9.24-1), AES initial and working keys (X9.24-3-2017) |
//! | [`cryptogram`] | RSA-OAEP key cryptograms (SHA-256 / SHA-512) |
//! | [`ecdh`] | ECDH on P-256 / P-384 / P-521 with the SP 800-56C and X9.63 KDFs |
//! | [`sym`] | the block ciphers (DES, TDES, AES) with ECB, CBC and CMAC, for other crates' modes |
//!
//! # Key generation and key check values
//! ```
//! use paycrypt_keyblock::{SystemRng, kcv, keygen};
//! let key = keygen::generate_symmetric(keygen::SymmetricAlgorithm::Aes128, &mut SystemRng);
//! let check = kcv::cmac(kcv::BlockCipherKind::Aes, key.expose())?;
//! assert_eq!(check.len(), 3);
//!
//! let tdes = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
//! assert_eq!(kcv::ansi_x9_24(&tdes)?, [0x08, 0xD7, 0xB4]);
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```
//!
//! # TR-31 key block
//! ```
//! use paycrypt_keyblock::{SystemRng, tr31};
//! use paycrypt_keyblock::tr31::{Algorithm, Exportability, Header, KeyUsage, ModeOfUse, Version};
//!
//! let kbpk = hex::decode("DD7515F2BFC17F85CE48F3CA25CB21F6").unwrap(); // TDES KBPK
//! let key = hex::decode("3F419E1CB7079442AA37474C2EFBF8B8").unwrap();
//! let header = Header::new(Version::B, KeyUsage::new("P0")?, Algorithm::Tdes, ModeOfUse::EncryptOnly, Exportability::Exportable);
//! let block = tr31::wrap(&kbpk, &header, &key, tr31::WrapOptions::default(), &mut SystemRng)?;
//! assert_eq!(&block[..16], "B0096P0TE00E0000");
//! let (header_back, key_back) = tr31::unwrap(&kbpk, &block)?;
//! assert_eq!((header_back, key_back.expose()), (header, key.as_slice()));
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```
//!
//! # DUKPT initial key
//! ```
//! use paycrypt_keyblock::dukpt;
//! let bdk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
//! let ksn = [0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x00];
//! let ipek = dukpt::tdes_ipek(&bdk, &ksn)?;
//! assert_eq!(hex::encode_upper(ipek.expose()), "6AC292FAA1315B4D858AB3A3D7D5933A");
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```
//!
//! # RSA-OAEP key cryptogram
//! ```
//! use paycrypt_keyblock::{cryptogram::{self, OaepHash}, keygen};
//! let pair = keygen::generate_key_pair(keygen::AsymmetricAlgorithm::Rsa2048)?;
//! let wrapped = cryptogram::wrap_key(&pair.public_spki_der, OaepHash::Sha512, &[0x11; 32])?;
//! let key = cryptogram::unwrap_key(pair.private_pkcs8_der.expose(), OaepHash::Sha512, &wrapped)?;
//! assert_eq!(key.expose(), &[0x11; 32]);
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```

//! # TR-34 key block
//! Reading a block AWS Payment Cryptography produced (the AWS CLI `import-key` example) and
//! checking its signer; [`tr34`] shows building and opening one.
//! ```
//! use paycrypt_keyblock::tr34::{self, Freshness};
//! let block = hex::decode(include_str!("../tests/fixtures/aws_cli_import_key_tr34.hex").trim()).unwrap();
//! let kdh_cert = hex::decode(include_str!("../tests/fixtures/aws_cli_import_key_kdh_cert.hex").trim()).unwrap();
//! let seen = tr34::verify(&block, &kdh_cert)?; // signer, signature, message digest
//! assert_eq!(seen.header, "D0112C0TC00E0000");
//! assert_eq!(seen.kdh.serial_hex(), "69E07E9C794C55E30E1956FAE7909BB0");
//! assert!(matches!(seen.freshness, Freshness::SigningTime(_))); // a one-pass block
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```
//!
//! # ECDH key derivation
//! ```
//! use paycrypt_keyblock::ecdh::{self, Kdf, KdfHash, PeerKey};
//! use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
//! let ours = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP384)?;
//! let theirs = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP384)?;
//! let kek = ecdh::derive_key(ours.private_pkcs8_der.expose(), PeerKey::Spki(&theirs.public_spki_der),
//!                            Kdf::AnsiX963, KdfHash::Sha512, b"shared info", 32)?;
//! assert_eq!(kek.len(), 32);
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cert;
mod des;
mod error;
mod rng;
mod secret;

pub mod as2805;
pub mod cryptogram;
pub mod describe;
pub mod dukpt;
pub mod ecdh;
pub mod kcv;
pub mod keygen;
pub mod rsa_keys;
pub mod sym;
pub mod tr31;
pub mod tr34;

pub use error::{Error, Tr34Check};
pub use rand_core;
pub use rng::SystemRng;
pub use secret::SecretBytes;
