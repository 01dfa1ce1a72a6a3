//! Block-cipher plumbing shared by the formats here and by the data plane's algorithms
//! (`paycrypt-cardcrypto`): single DES, TDES (two-key keys run as K1K2K1; see [`crate::des`])
//! and AES behind one type, with ECB, CBC without padding, and CMAC.

use aes::cipher::array::{Array, ArraySize};
use aes::cipher::{
    BlockCipherDecrypt, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser, KeyInit,
};
use aes::{Aes128, Aes192, Aes256};
use cmac::digest::{FixedOutputReset, InnerInit};
use cmac::{Cmac, Mac};
use zeroize::Zeroizing;

use crate::des::{Des, Tdes};
use crate::error::Error;
use crate::kcv::BlockCipherKind;

/// A keyed block cipher. The key schedules wipe themselves on drop (DES and TDES by
/// [`crate::des`], AES by the `zeroize` feature of `aes`).
pub struct Cipher(Keyed);

enum Keyed {
    Des(Box<Des>),
    Tdes(Box<Tdes>),
    Aes128(Box<Aes128>),
    Aes192(Box<Aes192>),
    Aes256(Box<Aes256>),
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
            BlockCipherKind::Tdes => Keyed::Tdes(Box::new(Tdes::new(key)?)),
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
        Ok(Self(Keyed::Des(Box::new(Des::new(key)?))))
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
    Ok(KeyedCmac::new(kind, key)?.mac(data))
}

/// CMAC under one key for several messages: the key schedule and the CMAC subkeys are computed
/// once, where [`cmac`] computes them for each message (TR-31 derives its two block keys from
/// up to six CMACs under the block protection key).
pub(crate) struct KeyedCmac(KeyedMac);

/// The cipher's key schedule wipes itself on drop, as in [`Cipher`].
enum KeyedMac {
    Tdes(Box<Cmac<Tdes>>),
    Aes128(Box<Cmac<Aes128>>),
    Aes192(Box<Cmac<Aes192>>),
    Aes256(Box<Cmac<Aes256>>),
}

impl KeyedCmac {
    /// Keys the CMAC. TDES takes 16 or 24 bytes, AES 16, 24 or 32.
    ///
    /// # Errors
    /// [`Error::InvalidKeyLength`] for any other length.
    pub(crate) fn new(kind: BlockCipherKind, key: &[u8]) -> Result<Self, Error> {
        let keyed = match (kind, key.len()) {
            (BlockCipherKind::Tdes, _) => {
                KeyedMac::Tdes(Box::new(Cmac::inner_init(Tdes::new(key)?)))
            }
            (BlockCipherKind::Aes, 16) => KeyedMac::Aes128(init_mac(key, "AES key")?),
            (BlockCipherKind::Aes, 24) => KeyedMac::Aes192(init_mac(key, "AES key")?),
            (BlockCipherKind::Aes, 32) => KeyedMac::Aes256(init_mac(key, "AES key")?),
            (BlockCipherKind::Aes, len) => {
                return Err(Error::InvalidKeyLength {
                    what: "AES key",
                    len,
                });
            }
        };
        Ok(Self(keyed))
    }

    /// The CMAC of `data`, full length, wiped on drop; the key stays ready for the next.
    pub(crate) fn mac(&mut self, data: &[u8]) -> Zeroizing<Vec<u8>> {
        fn run<M: Mac + FixedOutputReset>(mac: &mut M, data: &[u8]) -> Zeroizing<Vec<u8>> {
            Mac::update(mac, data);
            Zeroizing::new(mac.finalize_reset().into_bytes().to_vec())
        }
        match &mut self.0 {
            KeyedMac::Tdes(m) => run(m.as_mut(), data),
            KeyedMac::Aes128(m) => run(m.as_mut(), data),
            KeyedMac::Aes192(m) => run(m.as_mut(), data),
            KeyedMac::Aes256(m) => run(m.as_mut(), data),
        }
    }
}

fn init_mac<M: Mac + KeyInit>(key: &[u8], what: &'static str) -> Result<Box<M>, Error> {
    <M as KeyInit>::new_from_slice(key)
        .map(Box::new)
        .map_err(|_| Error::InvalidKeyLength {
            what,
            len: key.len(),
        })
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

    // NIST SP 800-38B D.1 (AES-128 CMAC), examples 1 to 4 (empty, one block, 40 bytes, four
    // blocks) through one keyed CMAC, in turn and then again: each answer is the example's.
    #[test]
    fn keyed_cmac_answers_each_message_as_if_fresh() {
        let message = h(concat!(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
        ));
        let examples = [
            (0, "bb1d6929e95937287fa37d129b756746"),
            (16, "070a16b46b4d4144f79bdd9dd04a287c"),
            (40, "dfa66747de9ae63030ca32611497c827"),
            (64, "51f0bebf7e3b9d92fc49741779363cfe"),
        ];
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let mut keyed = KeyedCmac::new(BlockCipherKind::Aes, &key).unwrap();
        for _ in 0..2 {
            for (len, mac) in examples {
                assert_eq!(keyed.mac(&message[..len]).as_slice(), h(mac), "{len} bytes");
            }
        }
    }

    #[test]
    fn rejects_bad_lengths() {
        assert!(Cipher::new(BlockCipherKind::Tdes, &[0; 8]).is_err());
        assert!(Cipher::new(BlockCipherKind::Aes, &[0; 20]).is_err());
        assert!(cmac(BlockCipherKind::Aes, &[0; 15], b"").is_err());
        assert!(cmac(BlockCipherKind::Tdes, &[0; 32], b"").is_err());
    }
}
