//! DUKPT initial keys: the TDES IPEK of ANSI X9.24-1 and the AES initial key of
//! ANSI X9.24-3-2017, both derived from a base derivation key (BDK).

use zeroize::Zeroizing;

use crate::error::Error;
use crate::kcv::BlockCipherKind;
use crate::secret::SecretBytes;
use crate::sym::Cipher;

/// TDES DUKPT initial key (IPEK) of ANSI X9.24-1 from a double-length TDES BDK and a
/// 10-byte KSN.
///
/// The 21-bit transaction counter at the right of the KSN is cleared and the leftmost 8
/// bytes are encrypted under the BDK (left half of the IPEK) and under the BDK XOR
/// `C0C0C0C000000000C0C0C0C000000000` (right half).
///
/// ```
/// use paycrypt_keyblock::dukpt;
/// let bdk = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
/// let ksn: [u8; 10] = hex::decode("FFFF9876543210E00000").unwrap().try_into().unwrap();
/// let ipek = dukpt::tdes_ipek(&bdk, &ksn).unwrap();
/// assert_eq!(hex::encode_upper(ipek.expose()), "6AC292FAA1315B4D858AB3A3D7D5933A");
/// ```
///
/// # Errors
/// [`Error::InvalidKeyLength`] unless the BDK is 16 bytes.
pub fn tdes_ipek(bdk: &[u8], ksn: &[u8; 10]) -> Result<SecretBytes, Error> {
    if bdk.len() != 16 {
        return Err(Error::InvalidKeyLength {
            what: "TDES DUKPT BDK",
            len: bdk.len(),
        });
    }
    let mut initial_ksn = [0u8; 8];
    initial_ksn.copy_from_slice(&ksn[..8]);
    initial_ksn[7] &= 0xE0;

    let mut ipek = Zeroizing::new(vec![0u8; 16]);
    ipek[..8].copy_from_slice(&initial_ksn);
    ipek[8..].copy_from_slice(&initial_ksn);

    Cipher::new(BlockCipherKind::Tdes, bdk)?.ecb_encrypt(&mut ipek[..8]);
    const VARIANT: [u8; 16] = [
        0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
    ];
    let variant_bdk = Zeroizing::new(
        bdk.iter()
            .zip(VARIANT)
            .map(|(b, v)| b ^ v)
            .collect::<Vec<u8>>(),
    );
    Cipher::new(BlockCipherKind::Tdes, &variant_bdk)?.ecb_encrypt(&mut ipek[8..]);
    Ok(SecretBytes::new(ipek.to_vec()))
}

/// Type of the key an AES DUKPT derivation produces (ANSI X9.24-3-2017, "key type").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Two-key TDES (algorithm indicator 0000, 128 bits).
    Tdes2Key,
    /// Three-key TDES (0001, 192 bits).
    Tdes3Key,
    /// AES-128 (0002, 128 bits).
    Aes128,
    /// AES-192 (0003, 192 bits).
    Aes192,
    /// AES-256 (0004, 256 bits).
    Aes256,
}

impl KeyType {
    fn algorithm_indicator(self) -> u16 {
        match self {
            Self::Tdes2Key => 0x0000,
            Self::Tdes3Key => 0x0001,
            Self::Aes128 => 0x0002,
            Self::Aes192 => 0x0003,
            Self::Aes256 => 0x0004,
        }
    }

    /// Length of such a key in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Tdes2Key | Self::Aes128 => 16,
            Self::Tdes3Key | Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }
}

/// AES DUKPT initial key of ANSI X9.24-3-2017 from an AES BDK and the 8-byte initial key
/// ID (BDK ID and derivation ID).
///
/// Each 16-byte block of the result is the AES encryption under the BDK of the derivation
/// data `01 | counter | 8001 (initial key) | algorithm indicator | length in bits |
/// initial key ID`, counter = 1, 2, ...; the blocks are concatenated and truncated to the
/// key length.
///
/// ```
/// use paycrypt_keyblock::dukpt::{self, KeyType};
/// let bdk = hex::decode("FEDCBA9876543210F1F1F1F1F1F1F1F1").unwrap();
/// let ik_id: [u8; 8] = hex::decode("1234567890123456").unwrap().try_into().unwrap();
/// let ik = dukpt::aes_initial_key(&bdk, KeyType::Aes128, &ik_id).unwrap();
/// assert_eq!(hex::encode_upper(ik.expose()), "1273671EA26AC29AFA4D1084127652A1");
/// ```
///
/// # Errors
/// [`Error::InvalidKeyLength`] unless the BDK is 16, 24 or 32 bytes.
pub fn aes_initial_key(
    bdk: &[u8],
    key_type: KeyType,
    initial_key_id: &[u8; 8],
) -> Result<SecretBytes, Error> {
    if !matches!(bdk.len(), 16 | 24 | 32) {
        return Err(Error::InvalidKeyLength {
            what: "AES DUKPT BDK",
            len: bdk.len(),
        });
    }
    let cipher = Cipher::new(BlockCipherKind::Aes, bdk)?;
    let len = key_type.key_len();
    let bits = u16::try_from(len * 8).unwrap_or(u16::MAX);
    let mut out = Zeroizing::new(Vec::with_capacity(32));
    let mut counter = 1u8;
    while out.len() < len {
        let mut block = [0u8; 16];
        block[0] = 0x01;
        block[1] = counter;
        block[2..4].copy_from_slice(&0x8001u16.to_be_bytes());
        block[4..6].copy_from_slice(&key_type.algorithm_indicator().to_be_bytes());
        block[6..8].copy_from_slice(&bits.to_be_bytes());
        block[8..].copy_from_slice(initial_key_id);
        cipher.ecb_encrypt(&mut block);
        out.extend_from_slice(&block);
        zeroize::Zeroize::zeroize(&mut block);
        counter += 1;
    }
    out.truncate(len);
    Ok(SecretBytes::new(out.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // ANSI X9.24-1:2009 appendix A.4 example (BDK 0123...3210, KSN FFFF9876543210E00000).
    #[test]
    fn tdes_ipek_x9_24_1_example() {
        let ksn: [u8; 10] = h("FFFF9876543210E00000").try_into().unwrap();
        let ipek = tdes_ipek(&h("0123456789ABCDEFFEDCBA9876543210"), &ksn).unwrap();
        assert_eq!(
            hex::encode_upper(ipek.expose()),
            "6AC292FAA1315B4D858AB3A3D7D5933A"
        );
        // The transaction counter does not change the IPEK.
        let later: [u8; 10] = h("FFFF9876543210E00008").try_into().unwrap();
        let again = tdes_ipek(&h("0123456789ABCDEFFEDCBA9876543210"), &later).unwrap();
        assert_eq!(again.expose(), ipek.expose());
    }

    // ANSI X9.24-3:2017 supplement test vectors (AES-128 and AES-256 BDK, initial key ID
    // 1234567890123456), as recorded in openemv/dukpt test/dukpt_aes128_test.c and
    // test/dukpt_aes256_test.c.
    #[test]
    fn aes_initial_key_x9_24_3_vectors() {
        let id: [u8; 8] = h("1234567890123456").try_into().unwrap();
        let ik128 =
            aes_initial_key(&h("FEDCBA9876543210F1F1F1F1F1F1F1F1"), KeyType::Aes128, &id).unwrap();
        assert_eq!(
            hex::encode_upper(ik128.expose()),
            "1273671EA26AC29AFA4D1084127652A1"
        );
        let ik256 = aes_initial_key(
            &h("FEDCBA9876543210F1F1F1F1F1F1F1F1FEDCBA9876543210F1F1F1F1F1F1F1F1"),
            KeyType::Aes256,
            &id,
        )
        .unwrap();
        assert_eq!(
            hex::encode_upper(ik256.expose()),
            "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"
        );
    }

    #[test]
    fn key_lengths_and_errors() {
        let id = [0u8; 8];
        for (kt, len) in [
            (KeyType::Tdes2Key, 16),
            (KeyType::Tdes3Key, 24),
            (KeyType::Aes128, 16),
            (KeyType::Aes192, 24),
            (KeyType::Aes256, 32),
        ] {
            assert_eq!(aes_initial_key(&[7; 32], kt, &id).unwrap().len(), len);
        }
        assert!(aes_initial_key(&[7; 8], KeyType::Aes128, &id).is_err());
        assert!(tdes_ipek(&[7; 24], &[0; 10]).is_err());
        assert!(tdes_ipek(&[], &[0; 10]).is_err());
    }
}
