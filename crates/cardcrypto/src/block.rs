//! Single-block DES, TDES and AES, as the PIN and card algorithms use them (the PVV, IBM 3624,
//! CVV and CVC3 steps, and the two encipherments of ISO format 4): thin calls of keyblock's
//! [`Cipher`], the one block-cipher wrapper of the workspace. Blocks are transformed in place.

use paycrypt_keyblock::kcv::BlockCipherKind;
use paycrypt_keyblock::sym::Cipher;

use crate::error::Error;

/// Encrypts one 8-byte block with single DES under an 8-byte key.
pub(crate) fn des_encrypt(key: &[u8], block: &mut [u8; 8]) -> Result<(), Error> {
    Cipher::des(key)?.ecb_encrypt(block);
    Ok(())
}

/// Decrypts one 8-byte block with single DES under an 8-byte key.
pub(crate) fn des_decrypt(key: &[u8], block: &mut [u8; 8]) -> Result<(), Error> {
    Cipher::des(key)?.ecb_decrypt(block);
    Ok(())
}

/// Encrypts one 8-byte block with TDES (EDE) under a 16-byte (two-key) or 24-byte key.
pub(crate) fn tdes_encrypt(key: &[u8], block: &mut [u8; 8]) -> Result<(), Error> {
    Cipher::new(BlockCipherKind::Tdes, key)?.ecb_encrypt(block);
    Ok(())
}

/// Encrypts (`decrypt == false`) or decrypts one 16-byte block with AES-128/192/256.
pub(crate) fn aes_block(key: &[u8], block: &mut [u8; 16], decrypt: bool) -> Result<(), Error> {
    let cipher = Cipher::new(BlockCipherKind::Aes, key)?;
    if decrypt {
        cipher.ecb_decrypt(block);
    } else {
        cipher.ecb_encrypt(block);
    }
    Ok(())
}
