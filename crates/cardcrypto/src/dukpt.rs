//! DUKPT working keys for the data plane: the data-encryption, MAC and PIN keys that EncryptData /
//! DecryptData (`Dukpt`), GenerateMac / VerifyMac (`DukptIso9797Algorithm1`,
//! `DukptIso9797Algorithm3`, `DukptCmac`) and the DUKPT PIN operations derive from a BDK and a
//! KSN. The derivations themselves live in [`paycrypt_keyblock::dukpt`]; this module picks the
//! right one for the model's `DukptDerivationType` and `DukptKeyVariant`.
//!
//! | BDK | KSN | working key types | scheme |
//! |---|---|---|---|
//! | TDES, 16 bytes | 10 bytes | `Tdes2Key` | ANSI X9.24-1:2009 |
//! | AES, 16/24/32 bytes | 12 bytes | `Tdes2Key`, `Tdes3Key`, AES no longer than the BDK | ANSI X9.24-3-2017 |
//!
//! How the variant picks the key:
//!
//! | purpose | `Request` | `Response` | `Bidirectional` |
//! |---|---|---|---|
//! | data, TDES BDK | data request variant + one-way function | data response variant + one-way function | as `Request` |
//! | MAC, TDES BDK | MAC request variant | MAC response variant | as `Request` |
//! | data, AES BDK | usage 3000 (encrypt) | usage 3001 (decrypt) | usage 3002 (both) |
//! | MAC, AES BDK | usage 2000 (generate) | usage 2001 (verify) | usage 2002 (both) |
//! | PIN | PIN variant / usage 1000, whatever the variant | | |
//!
//! The request keys are the ones a terminal uses towards the host (it encrypts or MACs a
//! request), the response keys the ones the host uses towards the terminal. X9.24-1 has no
//! bidirectional TDES key; the request variant is the one AWS's public DUKPT samples use, so
//! `Bidirectional` takes it. The TDES data keys pass through the one-way function as
//! AWS's public Java sample terminals compute them (data-plane.md).
//!
//! ```
//! use paycrypt_cardcrypto::dukpt::{self, DukptKeyType, DukptKeyVariant, DukptPurpose};
//! use paycrypt_cardcrypto::BlockCipherKind;
//! let bdk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
//! let ksn = hex::decode("FFFF9876543210E00001").unwrap();
//! let key = dukpt::working_key(BlockCipherKind::Tdes, &bdk, &ksn, DukptKeyType::Tdes2Key,
//!                              DukptPurpose::DataEncryption, DukptKeyVariant::Request)?;
//! assert_eq!(hex::encode_upper(key.expose()), "448D3F076D8304036A55A3D7E0055A78");
//! # Ok::<(), paycrypt_cardcrypto::Error>(())
//! ```

use paycrypt_keyblock::SecretBytes;
use paycrypt_keyblock::dukpt::{self as kb, AesKeyUsage, KeyType, TdesVariant};
use paycrypt_keyblock::kcv::BlockCipherKind;

use crate::error::Error;

/// The type of the working key (the model's `DukptDerivationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DukptKeyType {
    /// Two-key TDES (16 bytes).
    Tdes2Key,
    /// Three-key TDES (24 bytes; AES BDKs only).
    Tdes3Key,
    /// AES-128.
    Aes128,
    /// AES-192.
    Aes192,
    /// AES-256.
    Aes256,
}

impl DukptKeyType {
    /// The block cipher the working key is for: the cipher to run [`crate::cipher`] or a CMAC
    /// with.
    pub fn cipher_kind(self) -> BlockCipherKind {
        match self {
            Self::Tdes2Key | Self::Tdes3Key => BlockCipherKind::Tdes,
            Self::Aes128 | Self::Aes192 | Self::Aes256 => BlockCipherKind::Aes,
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            Self::Tdes2Key => KeyType::Tdes2Key,
            Self::Tdes3Key => KeyType::Tdes3Key,
            Self::Aes128 => KeyType::Aes128,
            Self::Aes192 => KeyType::Aes192,
            Self::Aes256 => KeyType::Aes256,
        }
    }
}

/// Which direction of traffic the key protects (the model's `DukptKeyVariant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DukptKeyVariant {
    /// Both directions.
    Bidirectional,
    /// Terminal to host.
    Request,
    /// Host to terminal.
    Response,
}

/// What the working key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DukptPurpose {
    /// Data encryption and decryption.
    DataEncryption,
    /// MAC generation and verification.
    Mac,
    /// PIN block encryption (the variant does not matter).
    Pin,
}

/// The DUKPT working key for `purpose` from the BDK (`bdk_kind` says whether it is a TDES or an
/// AES BDK, since both come in 16 bytes) and the KSN (10 bytes for a TDES BDK, 12 for AES).
///
/// # Errors
/// [`Error::InvalidKeyLength`] for a BDK of the wrong length; [`Error::InvalidInput`] for a KSN
/// of the wrong length, a TDES BDK with a key type other than `Tdes2Key`, or an AES working key
/// longer than the AES BDK.
pub fn working_key(
    bdk_kind: BlockCipherKind,
    bdk: &[u8],
    ksn: &[u8],
    key_type: DukptKeyType,
    purpose: DukptPurpose,
    variant: DukptKeyVariant,
) -> Result<SecretBytes, Error> {
    match bdk_kind {
        BlockCipherKind::Tdes => {
            let ksn: &[u8; 10] = ksn.try_into().map_err(|_| ksn_length(10, ksn.len()))?;
            if key_type != DukptKeyType::Tdes2Key {
                return Err(Error::InvalidInput(
                    "a TDES BDK derives two-key TDES working keys only (TDES_2KEY)".into(),
                ));
            }
            let tdes_variant = match (purpose, variant) {
                (DukptPurpose::Pin, _) => TdesVariant::Pin,
                (DukptPurpose::DataEncryption, DukptKeyVariant::Response) => {
                    TdesVariant::DataResponse
                }
                (DukptPurpose::DataEncryption, _) => TdesVariant::DataRequest,
                (DukptPurpose::Mac, DukptKeyVariant::Response) => TdesVariant::MacResponse,
                (DukptPurpose::Mac, _) => TdesVariant::MacRequest,
            };
            Ok(kb::tdes_working_key(bdk, ksn, tdes_variant)?)
        }
        BlockCipherKind::Aes => {
            let ksn: &[u8; 12] = ksn.try_into().map_err(|_| ksn_length(12, ksn.len()))?;
            let aes_key = key_type.cipher_kind() == BlockCipherKind::Aes;
            if aes_key && key_type.key_type().key_len() > bdk.len() {
                return Err(Error::InvalidInput(
                    "the DUKPT working key type is stronger than the BDK".into(),
                ));
            }
            let usage = match (purpose, variant) {
                (DukptPurpose::Pin, _) => AesKeyUsage::PinEncryption,
                (DukptPurpose::DataEncryption, DukptKeyVariant::Bidirectional) => {
                    AesKeyUsage::DataBoth
                }
                (DukptPurpose::DataEncryption, DukptKeyVariant::Request) => {
                    AesKeyUsage::DataEncrypt
                }
                (DukptPurpose::DataEncryption, DukptKeyVariant::Response) => {
                    AesKeyUsage::DataDecrypt
                }
                (DukptPurpose::Mac, DukptKeyVariant::Bidirectional) => AesKeyUsage::MacBoth,
                (DukptPurpose::Mac, DukptKeyVariant::Request) => AesKeyUsage::MacGeneration,
                (DukptPurpose::Mac, DukptKeyVariant::Response) => AesKeyUsage::MacVerification,
            };
            Ok(kb::aes_working_key(bdk, ksn, usage, key_type.key_type())?)
        }
    }
}

fn ksn_length(expected: usize, len: usize) -> Error {
    Error::InvalidInput(format!(
        "the key serial number must be {expected} bytes for this BDK, got {len}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac::{self, MacAlgorithm};
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const TDES_BDK: &str = "0123456789ABCDEFFEDCBA9876543210";
    const TDES_KSN: &str = "FFFF9876543210E00001";
    const AES_BDK: &str = "FEDCBA9876543210F1F1F1F1F1F1F1F1";
    const AES_KSN: &str = "123456789012345600000001";

    fn key_hex(
        kind: BlockCipherKind,
        bdk: &str,
        ksn: &str,
        key_type: DukptKeyType,
        purpose: DukptPurpose,
        variant: DukptKeyVariant,
    ) -> String {
        let key = working_key(kind, &h(bdk), &h(ksn), key_type, purpose, variant).unwrap();
        hex::encode_upper(key.expose())
    }

    #[test]
    fn tdes_mapping() {
        // pydukpt 0.1.0 keys for KSN FFFF9876543210E00001 (see keyblock's dukpt tests).
        let tdes = |purpose, variant| {
            key_hex(
                BlockCipherKind::Tdes,
                TDES_BDK,
                TDES_KSN,
                DukptKeyType::Tdes2Key,
                purpose,
                variant,
            )
        };
        use DukptKeyVariant::{Bidirectional, Request, Response};
        use DukptPurpose::{DataEncryption, Mac, Pin};
        let data_request = "448D3F076D8304036A55A3D7E0055A78";
        assert_eq!(tdes(DataEncryption, Request), data_request);
        assert_eq!(tdes(DataEncryption, Bidirectional), data_request);
        assert_eq!(
            tdes(DataEncryption, Response),
            "AD7BFC8B06AD3A08A560B4105CF8D9E5"
        );
        let mac_request = "042666B4918430A368DE9628D03984C9";
        assert_eq!(tdes(Mac, Request), mac_request);
        assert_eq!(tdes(Mac, Bidirectional), mac_request);
        assert_eq!(tdes(Mac, Response), "042666B46E84CFA368DE96282F397BC9");
        assert_eq!(tdes(Pin, Response), "042666B49184CF5C68DE9628D0397B36");
    }

    #[test]
    fn aes_mapping() {
        // X9.24-3-2017 supplement values, AES-128 BDK, counter 1 (see keyblock's dukpt tests).
        let aes = |key_type, purpose, variant| {
            key_hex(
                BlockCipherKind::Aes,
                AES_BDK,
                AES_KSN,
                key_type,
                purpose,
                variant,
            )
        };
        use DukptKeyType::{Aes128, Tdes2Key};
        use DukptKeyVariant::{Bidirectional, Request, Response};
        use DukptPurpose::{DataEncryption, Mac, Pin};
        for (purpose, variant, expected) in [
            (Pin, Bidirectional, "AF8CB133A78F8DC2D1359F18527593FB"),
            (Mac, Request, "A2DC23DE6FDE0824A2BC321E08E4B8B7"),
            (Mac, Response, "DBB463945B286C07CD3AD82EE96FD9C9"),
            (Mac, Bidirectional, "85675439D18D7F1158BD8E3EAA3D502B"),
            (DataEncryption, Request, "A35C412EFD41FDB98B69797C02DCD08F"),
            (DataEncryption, Response, "16292C6EA8F64C5420A0584BFBC577BE"),
            (
                DataEncryption,
                Bidirectional,
                "A308E080DD15A1B741F1721BF67DE11C",
            ),
        ] {
            assert_eq!(aes(Aes128, purpose, variant), expected);
        }
        assert_eq!(
            aes(Tdes2Key, Pin, Request),
            "630C706D9546E47D4449313F61C4D4AB"
        );
    }

    #[test]
    fn dukpt_mac_end_to_end() {
        // A DUKPT retail MAC: the TDES MAC request key of KSN ...E00001, then ISO 9797-1
        // algorithm 3 (psec 1.3.0 `mac.generate_retail_mac` with that key gives the same).
        let key = working_key(
            BlockCipherKind::Tdes,
            &h(TDES_BDK),
            &h(TDES_KSN),
            DukptKeyType::Tdes2Key,
            DukptPurpose::Mac,
            DukptKeyVariant::Request,
        )
        .unwrap();
        let full = mac::generate(
            MacAlgorithm::Iso9797Algorithm3,
            key.expose(),
            b"Now is the time for all ",
        )
        .unwrap();
        assert_eq!(hex::encode_upper(full), "FA778A1A07BCFDAD");
    }

    #[test]
    fn refusals() {
        use DukptKeyType::{Aes128, Aes192, Aes256, Tdes2Key, Tdes3Key};
        let r = |kind, bdk: &[u8], ksn: &[u8], key_type| {
            working_key(
                kind,
                bdk,
                ksn,
                key_type,
                DukptPurpose::DataEncryption,
                DukptKeyVariant::Bidirectional,
            )
        };
        let tdes = BlockCipherKind::Tdes;
        let aes = BlockCipherKind::Aes;
        assert!(matches!(
            r(tdes, &[1; 16], &[0; 12], Tdes2Key),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            r(tdes, &[1; 16], &[0; 10], Tdes3Key),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            r(tdes, &[1; 24], &[0; 10], Tdes2Key),
            Err(Error::InvalidKeyLength { len: 24, .. })
        ));
        assert!(matches!(
            r(aes, &[1; 16], &[0; 10], Aes128),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            r(aes, &[1; 16], &[0; 12], Aes192),
            Err(Error::InvalidInput(_))
        ));
        assert!(r(aes, &[1; 16], &[0; 12], Tdes3Key).is_ok());
        assert!(r(aes, &[1; 32], &[0; 12], Aes256).is_ok());
        assert!(matches!(
            r(aes, &[1; 20], &[0; 12], Tdes2Key),
            Err(Error::InvalidKeyLength { len: 20, .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(
            aes in any::<bool>(),
            bdk in proptest::collection::vec(any::<u8>(), 0..40),
            ksn in proptest::collection::vec(any::<u8>(), 0..14),
            key_type in prop_oneof![
                Just(DukptKeyType::Tdes2Key), Just(DukptKeyType::Tdes3Key),
                Just(DukptKeyType::Aes128), Just(DukptKeyType::Aes192), Just(DukptKeyType::Aes256)
            ],
        ) {
            let kind = if aes { BlockCipherKind::Aes } else { BlockCipherKind::Tdes };
            if let Ok(key) = working_key(kind, &bdk, &ksn, key_type, DukptPurpose::Mac,
                                         DukptKeyVariant::Response) {
                prop_assert_eq!(key.len(), key_type.key_type().key_len());
            }
        }
    }
}
