//! Key binding: how the KBPK protects the payload. Versions `A` and `C` use the key
//! variant method (KBEK and KBAK are the KBPK XORed with constant bytes, TDES-CBC with the
//! header as IV, a 4-byte CBC-MAC over header and ciphertext); versions `B` and `D` use
//! the key derivation method (KBEK and KBAK derived from the KBPK with CMAC, a CMAC over
//! header and clear payload, CBC with the MAC as IV).

use zeroize::Zeroizing;

use super::header::Version;
use crate::error::Error;
use crate::kcv::BlockCipherKind;
use crate::sym::{self, Cipher};

/// A key block encryption key and a key block authentication key.
pub(crate) struct BindingKeys {
    pub(crate) kbek: Zeroizing<Vec<u8>>,
    pub(crate) kbak: Zeroizing<Vec<u8>>,
}

/// The cipher a version protects its payload with.
pub(crate) fn cipher_kind(version: Version) -> BlockCipherKind {
    match version {
        Version::D => BlockCipherKind::Aes,
        _ => BlockCipherKind::Tdes,
    }
}

/// Checks that the KBPK length suits the version: 16 or 24 bytes (two- or three-key TDES)
/// for `A`, `B`, `C`; 16, 24 or 32 bytes (AES) for `D`.
pub(crate) fn check_kbpk(version: Version, kbpk: &[u8]) -> Result<(), Error> {
    let ok = match version {
        Version::A | Version::B | Version::C => matches!(kbpk.len(), 16 | 24),
        Version::D => matches!(kbpk.len(), 16 | 24 | 32),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::WrongKbpkLength {
            version: version.as_char(),
            len: kbpk.len(),
        })
    }
}

/// Key variant method (versions `A` and `C`): KBEK = KBPK xor 0x45.., KBAK = KBPK xor 0x4D..
pub(crate) fn variant_keys(kbpk: &[u8]) -> BindingKeys {
    let xor = |c: u8| Zeroizing::new(kbpk.iter().map(|b| b ^ c).collect::<Vec<u8>>());
    BindingKeys {
        kbek: xor(0x45),
        kbak: xor(0x4D),
    }
}

/// Key derivation method (versions `B` and `D`): each key is the concatenation of CMACs
/// under the KBPK of the 8-byte derivation data
/// `counter | usage (0000 encryption, 0001 MAC) | 00 | algorithm | key length in bits`,
/// for counter = 1, 2, ... until the KBPK length is reached.
pub(crate) fn derived_keys(version: Version, kbpk: &[u8]) -> Result<BindingKeys, Error> {
    check_kbpk(version, kbpk)?;
    let kind = cipher_kind(version);
    let algorithm: u16 = match (kind, kbpk.len()) {
        (BlockCipherKind::Tdes, 16) => 0x0000,
        (BlockCipherKind::Tdes, _) => 0x0001,
        (BlockCipherKind::Aes, 16) => 0x0002,
        (BlockCipherKind::Aes, 24) => 0x0003,
        (BlockCipherKind::Aes, _) => 0x0004,
    };
    let bits = u16::try_from(kbpk.len() * 8).map_err(|_| Error::WrongKbpkLength {
        version: version.as_char(),
        len: kbpk.len(),
    })?;
    // Every derivation block is a CMAC under the KBPK: keyed once for all of them.
    let mut cmac = sym::KeyedCmac::new(kind, kbpk)?;
    let mut derive = |usage: u16| -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(kbpk.len() + 16));
        let mut counter = 1u8;
        while out.len() < kbpk.len() {
            let [u0, u1] = usage.to_be_bytes();
            let [a0, a1] = algorithm.to_be_bytes();
            let [l0, l1] = bits.to_be_bytes();
            let data = [counter, u0, u1, 0x00, a0, a1, l0, l1];
            out.extend_from_slice(&cmac.mac(&data));
            counter += 1;
        }
        out.truncate(kbpk.len());
        out
    };
    Ok(BindingKeys {
        kbek: derive(0x0000),
        kbak: derive(0x0001),
    })
}

/// Protects `payload` (already padded to whole blocks) under `header_text`; returns the
/// ciphertext and the MAC.
pub(crate) fn protect(
    version: Version,
    kbpk: &[u8],
    header_text: &str,
    payload: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), Error> {
    check_kbpk(version, kbpk)?;
    match version {
        Version::A | Version::C => {
            let keys = variant_keys(kbpk);
            let cipher = Cipher::new(BlockCipherKind::Tdes, &keys.kbek)?;
            let mut ciphertext = payload.to_vec();
            cipher.cbc_encrypt(&header_text.as_bytes()[..8], &mut ciphertext);
            let mac = variant_mac(&keys.kbak, header_text.as_bytes(), &ciphertext)?;
            Ok((ciphertext, mac))
        }
        Version::B | Version::D => {
            let keys = derived_keys(version, kbpk)?;
            let kind = cipher_kind(version);
            let mac = derivation_mac(version, &keys.kbak, header_text.as_bytes(), payload)?;
            let cipher = Cipher::new(kind, &keys.kbek)?;
            let mut ciphertext = payload.to_vec();
            cipher.cbc_encrypt(&mac, &mut ciphertext);
            Ok((ciphertext, mac))
        }
    }
}

/// Verifies the MAC and decrypts; returns the clear payload only if the MAC verifies.
pub(crate) fn unprotect(
    version: Version,
    kbpk: &[u8],
    header_text: &[u8],
    ciphertext: &[u8],
    mac: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    use subtle::ConstantTimeEq;
    check_kbpk(version, kbpk)?;
    match version {
        Version::A | Version::C => {
            let keys = variant_keys(kbpk);
            let expected = variant_mac(&keys.kbak, header_text, ciphertext)?;
            if !bool::from(expected.ct_eq(mac)) {
                return Err(Error::MacMismatch);
            }
            let cipher = Cipher::new(BlockCipherKind::Tdes, &keys.kbek)?;
            let mut payload = Zeroizing::new(ciphertext.to_vec());
            cipher.cbc_decrypt(header_text.get(..8).unwrap_or_default(), &mut payload);
            Ok(payload)
        }
        Version::B | Version::D => {
            let keys = derived_keys(version, kbpk)?;
            let cipher = Cipher::new(cipher_kind(version), &keys.kbek)?;
            let mut payload = Zeroizing::new(ciphertext.to_vec());
            cipher.cbc_decrypt(mac, &mut payload);
            let expected = derivation_mac(version, &keys.kbak, header_text, &payload)?;
            if !bool::from(expected.ct_eq(mac)) {
                return Err(Error::MacMismatch);
            }
            Ok(payload)
        }
    }
}

/// Versions `A`/`C`: TDES CBC-MAC (zero IV) over header and ciphertext, first 4 bytes.
fn variant_mac(kbak: &[u8], header_text: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
    let cipher = Cipher::new(BlockCipherKind::Tdes, kbak)?;
    let mut data = [header_text, ciphertext].concat();
    cipher.cbc_encrypt(&[0u8; 8], &mut data);
    let last_block = data.len().saturating_sub(8);
    Ok(data[last_block..].iter().take(4).copied().collect())
}

/// Versions `B`/`D`: CMAC over header and clear payload, truncated to the version's MAC
/// length (the full block: 8 bytes for `B`, 16 for `D`).
fn derivation_mac(
    version: Version,
    kbak: &[u8],
    header_text: &[u8],
    payload: &[u8],
) -> Result<Vec<u8>, Error> {
    let data = Zeroizing::new([header_text, payload].concat());
    let mac = sym::cmac(cipher_kind(version), kbak, &data)?;
    Ok(mac.iter().take(version.mac_len()).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // KBEK/KBAK vectors as collected in openemv/tr31 test/tr31_crypto_test.c: "test1" was
    // produced with a Thales payShield 10k, the others come from TR-31:2018 A.7.2.1,
    // A.7.2.2, A.7.3.1, A.7.3.2, A.7.4 and ISO 20038:2017 B.3.
    #[test]
    fn variant_keys_match_published_values() {
        for (kbpk, kbek, kbak) in [
            (
                "EFE0853B256B583D868F251CE99EA1D9",
                "AAA5C07E602E1D78C3CA6059ACDBE49C",
                "A2ADC87668261570CBC26851A4D3EC94",
            ),
            (
                "89E88CF7931444F334BD7547FC3F380C",
                "CCADC9B2D65101B671F83002B97A7D49",
                "C4A5C1BADE5909BE79F0380AB1727541",
            ),
            (
                "B8ED59E0A279A295E9F5ED7944FD06B9",
                "FDA81CA5E73CE7D0ACB0A83C01B843FC",
                "F5A014ADEF34EFD8A4B8A03409B04BF4",
            ),
        ] {
            let keys = variant_keys(&h(kbpk));
            assert_eq!(keys.kbek.as_slice(), h(kbek).as_slice(), "{kbpk}");
            assert_eq!(keys.kbak.as_slice(), h(kbak).as_slice(), "{kbpk}");
        }
    }

    #[test]
    fn derived_keys_match_published_values() {
        for (version, kbpk, kbek, kbak) in [
            (
                Version::B,
                "EFE0853B256B583D868F251CE99EA1D9",
                "60C17C9B43020123C16040CCDCBC76F1",
                "8A1542BD19E8C081242A143176E745B8",
            ),
            (
                Version::B,
                "DD7515F2BFC17F85CE48F3CA25CB21F6",
                "698832F8778A7CFCBC79559DAB07B88A",
                "DD6CEEC1782D8453671BF8358AF9DB47",
            ),
            (
                Version::B,
                "1D22BF32387C600AD97F9B97A51311AC",
                "BCE8E2AD5D4489FD0EA5236A884DAC58",
                "1F9B2BDAF969C7B8B6C933AC7B9C6894",
            ),
            (
                Version::D,
                "88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6",
                "396C9382A6E2E66A088774E1D6E46541F5EAD67D7204F8DD0D7AE8FDA334D3AC",
                "4EF24317696213840451890756757E573E0673483888F9B7F9B7517827F95022",
            ),
            (
                Version::D,
                "3235362D62697420414553207772617070696E6720284953 4F20323030333829",
                "9C248005FFD5E6DDEF26A55421A8E925368B3E635D14DF9B863984778B9F6678",
                "97AC0955A4B883CE77CBEA0620E8542C6DF7E9AFB4CF8F115E00D4D67FEA1E06",
            ),
        ] {
            let keys = derived_keys(version, &h(&kbpk.replace(' ', ""))).unwrap();
            assert_eq!(hex::encode_upper(keys.kbek.as_slice()), kbek, "{kbpk}");
            assert_eq!(hex::encode_upper(keys.kbak.as_slice()), kbak, "{kbpk}");
        }
    }

    #[test]
    fn kbpk_lengths_per_version() {
        for (version, good, bad) in [
            (Version::A, &[16, 24][..], &[0, 8, 32][..]),
            (Version::B, &[16, 24], &[8, 32]),
            (Version::C, &[16, 24], &[8, 32]),
            (Version::D, &[16, 24, 32], &[8, 20, 48]),
        ] {
            for &len in good {
                assert!(check_kbpk(version, &vec![1; len]).is_ok());
            }
            for &len in bad {
                assert_eq!(
                    check_kbpk(version, &vec![1; len]),
                    Err(Error::WrongKbpkLength {
                        version: version.as_char(),
                        len
                    })
                );
            }
        }
    }
}
