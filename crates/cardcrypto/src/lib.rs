//! The payment algorithms of the AWS Payment Cryptography data plane, as pure functions over
//! bytes: no I/O, no API types, no clock; randomness is passed in.
//!
//! Keys arrive as clear bytes for the length of one call and derived keys leave as
//! [`paycrypt_keyblock::SecretBytes`]; no error ever carries key material, PINs or MACs.
//! DUKPT derivations live in [`paycrypt_keyblock::dukpt`] (one place for DUKPT).

mod block;
mod digits;
mod error;

pub mod as2805;
pub mod card_validation;
pub mod cipher;
pub mod dukpt;
pub mod emv;
pub mod mac;
pub mod pin_verification;
pub mod pinblock;
pub mod rsa;

pub use error::Error;
pub use paycrypt_keyblock::kcv::{BlockCipherKind, HmacHash};
