//! Single-block DES, TDES and AES, the only cipher operations the PIN and card algorithms
//! need (the PVV, IBM 3624, CVV and CVC3 steps, and the two encipherments of ISO format 4).
//! Blocks are transformed in place; key schedules wipe themselves on drop (the `zeroize`
//! features of `des` and `aes`).

use aes::cipher::array::{Array, ArraySize};
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use des::{Des, TdesEde2, TdesEde3};

use crate::error::Error;

fn keyed<C: KeyInit>(key: &[u8], what: &'static str) -> Result<C, Error> {
    C::new_from_slice(key).map_err(|_| Error::InvalidKeyLength {
        what,
        len: key.len(),
    })
}

fn enc<C: BlockCipherEncrypt>(c: &C, block: &mut [u8])
where
    C::BlockSize: ArraySize,
{
    let (blocks, _) = Array::<u8, C::BlockSize>::slice_as_chunks_mut(block);
    c.encrypt_blocks(blocks);
}

fn dec<C: BlockCipherDecrypt>(c: &C, block: &mut [u8])
where
    C::BlockSize: ArraySize,
{
    let (blocks, _) = Array::<u8, C::BlockSize>::slice_as_chunks_mut(block);
    c.decrypt_blocks(blocks);
}

/// Encrypts one 8-byte block with single DES under an 8-byte key.
pub(crate) fn des_encrypt(key: &[u8], block: &mut [u8; 8]) -> Result<(), Error> {
    enc(&keyed::<Des>(key, "DES key")?, block);
    Ok(())
}

/// Decrypts one 8-byte block with single DES under an 8-byte key.
pub(crate) fn des_decrypt(key: &[u8], block: &mut [u8; 8]) -> Result<(), Error> {
    dec(&keyed::<Des>(key, "DES key")?, block);
    Ok(())
}

/// Encrypts one 8-byte block with TDES (EDE) under a 16-byte (two-key) or 24-byte key.
pub(crate) fn tdes_encrypt(key: &[u8], block: &mut [u8; 8]) -> Result<(), Error> {
    match key.len() {
        16 => enc(&keyed::<TdesEde2>(key, "TDES key")?, block),
        24 => enc(&keyed::<TdesEde3>(key, "TDES key")?, block),
        len => {
            return Err(Error::InvalidKeyLength {
                what: "TDES key",
                len,
            });
        }
    }
    Ok(())
}

/// Encrypts (`decrypt == false`) or decrypts one 16-byte block with AES-128/192/256.
pub(crate) fn aes_block(key: &[u8], block: &mut [u8; 16], decrypt: bool) -> Result<(), Error> {
    fn run<C: BlockCipherEncrypt + BlockCipherDecrypt>(c: &C, block: &mut [u8], decrypt: bool)
    where
        C::BlockSize: ArraySize,
    {
        if decrypt {
            dec(c, block)
        } else {
            enc(c, block)
        }
    }
    match key.len() {
        16 => run(&keyed::<Aes128>(key, "AES key")?, block, decrypt),
        24 => run(&keyed::<Aes192>(key, "AES key")?, block, decrypt),
        32 => run(&keyed::<Aes256>(key, "AES key")?, block, decrypt),
        len => {
            return Err(Error::InvalidKeyLength {
                what: "AES key",
                len,
            });
        }
    }
    Ok(())
}
