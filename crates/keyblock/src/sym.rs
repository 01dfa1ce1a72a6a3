//! Block-cipher plumbing shared by the formats here and by the data plane's algorithms
//! (`paycrypt-cardcrypto`): single DES, TDES (always run as three-key EDE, two-key keys
//! expanded to K1K2K1) and AES behind one type, with ECB, CBC without padding, and CMAC.

use aes::cipher::array::{Array, ArraySize};
use aes::cipher::{
    BlockCipherDecrypt, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser, KeyInit,
};
use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, Mac};
use des::{Des, TdesEde3};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::kcv::BlockCipherKind;

/// A keyed block cipher. The key schedules wipe themselves on drop (the `zeroize`
/// features of `des` and `aes`).
pub struct Cipher(Keyed);

enum Keyed {
    Des(Box<Des>),
    Tdes(Box<TdesEde3>),
    Aes128(Box<Aes128>),
    Aes192(Box<Aes192>),
    Aes256(Box<Aes256>),
}

/// Expands a two-key TDES key to three-key form (K1K2K1); three-key keys are copied.
fn tdes_ede3_key(key: &[u8]) -> Result<Zeroizing<[u8; 24]>, Error> {
    let mut out = Zeroizing::new([0u8; 24]);
    match key.len() {
        16 => {
            out[..16].copy_from_slice(key);
            out[16..].copy_from_slice(&key[..8]);
        }
        24 => out.copy_from_slice(key),
        len => {
            return Err(Error::InvalidKeyLength {
                what: "TDES key",
                len,
            });
        }
    }
    Ok(out)
}

fn init<C: KeyInit>(key: &[u8], what: &'static str) -> Result<Box<C>, Error> {
    C::new_from_slice(key)
        .map(Box::new)
        .map_err(|_| Error::InvalidKeyLength {
            what,
            len: key.len(),
        })
}

/// Runs `$body` with `$c` bound to the keyed cipher, whatever its type.
macro_rules! with_cipher {
    ($self:expr, $c:ident => $body:expr) => {
        match &$self.0 {
            Keyed::Des($c) => $body,
            Keyed::Tdes($c) => $body,
            Keyed::Aes128($c) => $body,
            Keyed::Aes192($c) => $body,
            Keyed::Aes256($c) => $body,
        }
    };
}

impl Cipher {
    /// Keys a cipher. TDES takes 16 or 24 bytes, AES 16, 24 or 32.
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] for any other length.
    pub fn new(kind: BlockCipherKind, key: &[u8]) -> Result<Self, Error> {
        let keyed = match kind {
            BlockCipherKind::Tdes => {
                let k = tdes_ede3_key(key)?;
                Keyed::Tdes(init(k.as_slice(), "TDES key")?)
            }
            BlockCipherKind::Aes => match key.len() {
                16 => Keyed::Aes128(init(key, "AES key")?),
                24 => Keyed::Aes192(init(key, "AES key")?),
                32 => Keyed::Aes256(init(key, "AES key")?),
                len => {
                    return Err(Error::InvalidKeyLength {
                        what: "AES key",
                        len,
                    });
                }
            },
        };
        Ok(Self(keyed))
    }

    /// Keys single DES with an 8-byte key (one part of a TDES key, as DUKPT and the retail
    /// MAC use it).
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] unless the key is 8 bytes.
    pub fn des(key: &[u8]) -> Result<Self, Error> {
        Ok(Self(Keyed::Des(init(key, "DES key")?)))
    }

    /// Block size in bytes: 8 for DES and TDES, 16 for AES.
    pub fn block_size(&self) -> usize {
        match self.0 {
            Keyed::Des(_) | Keyed::Tdes(_) => 8,
            Keyed::Aes128(_) | Keyed::Aes192(_) | Keyed::Aes256(_) => 16,
        }
    }

    /// ECB-encrypts every whole block of `data` in place (a trailing partial block is left
    /// untouched; callers pass whole blocks).
    pub fn ecb_encrypt(&self, data: &mut [u8]) {
        with_cipher!(self, c => ecb_enc(c.as_ref(), data))
    }

    /// ECB-decrypts every whole block of `data` in place (a trailing partial block is left
    /// untouched; callers pass whole blocks).
    pub fn ecb_decrypt(&self, data: &mut [u8]) {
        with_cipher!(self, c => ecb_dec(c.as_ref(), data))
    }

    /// CBC-encrypts whole blocks of `data` in place with `iv` (no padding).
    pub fn cbc_encrypt(&self, iv: &[u8], data: &mut [u8]) {
        with_cipher!(self, c => cbc_enc(c.as_ref(), iv, data))
    }

    /// CBC-decrypts whole blocks of `data` in place with `iv` (no padding).
    pub fn cbc_decrypt(&self, iv: &[u8], data: &mut [u8]) {
        with_cipher!(self, c => cbc_dec(c.as_ref(), iv, data))
    }
}

fn ecb_enc<C: BlockCipherEncrypt>(c: &C, data: &mut [u8])
where
    C::BlockSize: ArraySize,
{
    let (blocks, _) = Array::<u8, C::BlockSize>::slice_as_chunks_mut(data);
    c.encrypt_blocks(blocks);
}

fn ecb_dec<C: BlockCipherDecrypt>(c: &C, data: &mut [u8]) {
    let (blocks, _) = Array::<u8, C::BlockSize>::slice_as_chunks_mut(data);
    c.decrypt_blocks(blocks);
}

fn xor_into(dst: &mut [u8], src: &[u8]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d ^= s);
}

fn cbc_enc<C: BlockCipherEncrypt>(c: &C, iv: &[u8], data: &mut [u8]) {
    let (blocks, _) = Array::<u8, C::BlockSize>::slice_as_chunks_mut(data);
    c.encrypt_with_backend(CbcEncryption { iv, blocks });
}

/// CBC encryption, serial by nature, run as one pass through the cipher's backend: a backend's
/// set-up (AES with AVX-512 loads every round key into the vector registers) is then paid once
/// per message, not once per block.
struct CbcEncryption<'a, N: ArraySize> {
    iv: &'a [u8],
    blocks: &'a mut [Array<u8, N>],
}

impl<N: ArraySize> BlockSizeUser for CbcEncryption<'_, N> {
    type BlockSize = N;
}

impl<N: ArraySize> BlockCipherEncClosure for CbcEncryption<'_, N> {
    fn call<B: BlockCipherEncBackend<BlockSize = N>>(self, backend: &B) {
        for i in 0..self.blocks.len() {
            let (done, rest) = self.blocks.split_at_mut(i);
            let block = &mut rest[0];
            xor_into(
                block,
                done.last().map_or(self.iv, |previous| previous.as_slice()),
            );
            backend.encrypt_block_inplace(block);
        }
    }
}

/// CBC decryption of all blocks at once: the blocks are deciphered together (the cipher
/// pipelines them), then each is XORed with the ciphertext block before it, from a copy.
fn cbc_dec<C: BlockCipherDecrypt>(c: &C, iv: &[u8], data: &mut [u8]) {
    let (blocks, _) = Array::<u8, C::BlockSize>::slice_as_chunks_mut(data);
    let ciphertext = blocks.to_vec();
    c.decrypt_blocks(blocks);
    let previous = std::iter::once(iv).chain(ciphertext.iter().map(|block| block.as_slice()));
    for (block, previous) in blocks.iter_mut().zip(previous) {
        xor_into(block, previous);
    }
}

/// CMAC (NIST SP 800-38B) of `data`, full length (8 bytes for TDES, 16 for AES). The
/// result is wiped on drop because CMAC also derives keys (TR-31 B and D).
///
/// # Errors
/// [`Error::InvalidKeyLength`] if the key length does not fit the cipher.
pub fn cmac(kind: BlockCipherKind, key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    match (kind, key.len()) {
        (BlockCipherKind::Tdes, _) => {
            let k = tdes_ede3_key(key)?;
            mac_with::<Cmac<TdesEde3>>(k.as_slice(), data, "TDES key")
        }
        (BlockCipherKind::Aes, 16) => mac_with::<Cmac<Aes128>>(key, data, "AES key"),
        (BlockCipherKind::Aes, 24) => mac_with::<Cmac<Aes192>>(key, data, "AES key"),
        (BlockCipherKind::Aes, 32) => mac_with::<Cmac<Aes256>>(key, data, "AES key"),
        (BlockCipherKind::Aes, len) => Err(Error::InvalidKeyLength {
            what: "AES key",
            len,
        }),
    }
}

fn mac_with<M: Mac + KeyInit>(
    key: &[u8],
    data: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut mac = <M as KeyInit>::new_from_slice(key).map_err(|_| Error::InvalidKeyLength {
        what,
        len: key.len(),
    })?;
    mac.update(data);
    Ok(Zeroizing::new(mac.finalize().into_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt), first two blocks.
    #[test]
    fn aes_cbc_sp800_38a() {
        let c = Cipher::new(BlockCipherKind::Aes, &h("2b7e151628aed2a6abf7158809cf4f3c")).unwrap();
        let iv = h("000102030405060708090a0b0c0d0e0f");
        let pt = h("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let mut buf = pt.clone();
        c.cbc_encrypt(&iv, &mut buf);
        assert_eq!(
            buf,
            h("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2")
        );
        c.cbc_decrypt(&iv, &mut buf);
        assert_eq!(buf, pt);
    }

    // NIST SP 800-38B D.1 (AES-128 CMAC), example 2 (one block).
    #[test]
    fn aes_cmac_sp800_38b() {
        let mac = cmac(
            BlockCipherKind::Aes,
            &h("2b7e151628aed2a6abf7158809cf4f3c"),
            &h("6bc1bee22e409f96e93d7e117393172a"),
        )
        .unwrap();
        assert_eq!(mac.as_slice(), h("070a16b46b4d4144f79bdd9dd04a287c"));
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(Cipher::new(BlockCipherKind::Tdes, &[0; 8]).is_err());
        assert!(Cipher::new(BlockCipherKind::Aes, &[0; 20]).is_err());
        assert!(cmac(BlockCipherKind::Aes, &[0; 15], b"").is_err());
        assert!(cmac(BlockCipherKind::Tdes, &[0; 32], b"").is_err());
    }
}
