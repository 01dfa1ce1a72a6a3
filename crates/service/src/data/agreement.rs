//! The data plane's ECDH parameters in the control plane's terms: the two models spell the KDF,
//! hash and algorithm enums alike, so a data-plane request becomes an
//! [`Agreement`](crate::exchange::agreement::Agreement) by name.

use paycrypt_api::ApiError;

/// The control-plane enum value named like the data-plane one.
pub(crate) fn same_named<T: Copy>(
    value: &str,
    all: &[T],
    name: impl Fn(&T) -> &'static str,
) -> Result<T, ApiError> {
    all.iter()
        .copied()
        .find(|candidate| name(candidate) == value)
        .ok_or_else(|| ApiError::validation(format!("{value} is not supported here.")))
}

/// The three ECDH enums of a data-plane request as the control plane's.
pub(crate) fn ecdh_parameters(
    algorithm: &str,
    kdf: &str,
    hash: &str,
) -> Result<
    (
        paycrypt_api::SymmetricKeyAlgorithm,
        paycrypt_api::KeyDerivationFunction,
        paycrypt_api::KeyDerivationHashAlgorithm,
    ),
    ApiError,
> {
    Ok((
        same_named(algorithm, paycrypt_api::SymmetricKeyAlgorithm::ALL, |a| {
            a.as_str()
        })?,
        same_named(kdf, paycrypt_api::KeyDerivationFunction::ALL, |a| {
            a.as_str()
        })?,
        same_named(hash, paycrypt_api::KeyDerivationHashAlgorithm::ALL, |a| {
            a.as_str()
        })?,
    ))
}
