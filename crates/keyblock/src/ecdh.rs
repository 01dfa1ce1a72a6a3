//! Elliptic curve Diffie-Hellman on NIST P-256, P-384 and P-521, and the two key
//! derivation functions the AWS Payment Cryptography API names for it (`NIST_SP800` and
//! `ANSI_X963`, each with SHA-256, SHA-384 or SHA-512).
//!
//! The shared secret Z is the x-coordinate of `d * Q` (SP 800-56A "ECC CDH", cofactor 1 on
//! these curves), as many bytes as the field. The KDFs then stretch Z:
//!
//! - NIST SP 800-56C rev. 2, one-step KDF with a hash (the "concatenation KDF"):
//!   `K(i) = H(counter_i as 32-bit big-endian || Z || OtherInfo)`, counter from 1;
//! - ANSI X9.63 (SEC 1 v2, 3.6.1): `K(i) = H(Z || counter_i as 32-bit big-endian || SharedInfo)`,
//!   counter from 1;
//!
//! and the derived key is the first `len` bytes of `K(1) || K(2) || ...`.
//!
//! ```
//! use paycrypt_keyblock::ecdh::{self, Kdf, KdfHash, PeerKey};
//! use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
//!
//! let ours = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP256)?;
//! let theirs = keygen::generate_key_pair(AsymmetricAlgorithm::EccNistP256)?;
//! let info = b"shared information agreed by both sides";
//!
//! let a = ecdh::derive_key(ours.private_pkcs8_der.expose(), PeerKey::Spki(&theirs.public_spki_der),
//!                          Kdf::NistSp800_56C, KdfHash::Sha256, info, 32)?;
//! let b = ecdh::derive_key(theirs.private_pkcs8_der.expose(), PeerKey::Spki(&ours.public_spki_der),
//!                          Kdf::NistSp800_56C, KdfHash::Sha256, info, 32)?;
//! assert_eq!(a.expose(), b.expose());
//! assert_eq!(a.len(), 32);
//!
//! // The KDFs on their own (here: the X9.63 vector that python `cryptography` tests with).
//! let z = hex::decode("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08").unwrap();
//! let k = ecdh::x963_kdf(KdfHash::Sha256, &z, b"", 16)?;
//! assert_eq!(hex::encode(k.expose()), "443024c3dae66b95e6f5670601558f71");
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```

use aws_lc_rs::agreement::{self, ECDH_P256, ECDH_P384, ECDH_P521, UnparsedPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use zeroize::Zeroizing;

use crate::cert;
use crate::error::Error;
use crate::secret::SecretBytes;

/// A NIST curve ECDH runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// P-256 (secp256r1); Z is 32 bytes.
    P256,
    /// P-384 (secp384r1); Z is 48 bytes.
    P384,
    /// P-521 (secp521r1); Z is 66 bytes.
    P521,
}

impl Curve {
    fn algorithm(self) -> &'static agreement::Algorithm {
        match self {
            Self::P256 => &ECDH_P256,
            Self::P384 => &ECDH_P384,
            Self::P521 => &ECDH_P521,
        }
    }
}

/// The other party's public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerKey<'a> {
    /// X.509 SubjectPublicKeyInfo DER.
    Spki(&'a [u8]),
    /// An X.509 certificate (DER) whose subject key is used.
    Certificate(&'a [u8]),
}

/// The key derivation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kdf {
    /// NIST SP 800-56C one-step KDF with a hash (`NIST_SP800` in the API).
    NistSp800_56C,
    /// ANSI X9.63 KDF (`ANSI_X963` in the API).
    AnsiX963,
}

/// The hash the KDF uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KdfHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// Largest key the KDFs derive (far beyond any key they are used for; keeps a bad length
/// from asking for an enormous allocation).
pub const MAX_DERIVED_LEN: usize = 1024;

/// Parses our PKCS#8 (or RFC 5915) EC private key, finding its curve.
fn private_key(private_pkcs8_der: &[u8]) -> Result<(Curve, agreement::PrivateKey), Error> {
    [Curve::P256, Curve::P384, Curve::P521]
        .into_iter()
        .find_map(|curve| {
            agreement::PrivateKey::from_private_key_der(curve.algorithm(), private_pkcs8_der)
                .ok()
                .map(|key| (curve, key))
        })
        .ok_or(Error::InvalidPrivateKey(
            "not a P-256, P-384 or P-521 PKCS#8 private key",
        ))
}

/// The ECDH shared secret Z between our private key (PKCS#8 DER, from
/// [`crate::keygen::generate_key_pair`] or elsewhere) and the peer's public key, and the
/// curve both are on.
///
/// # Errors
/// [`Error::InvalidPrivateKey`] if our key is not an EC key on one of the three curves;
/// [`Error::InvalidCertificate`] if a peer certificate does not parse;
/// [`Error::InvalidPublicKey`] if the peer key is not a valid point on our key's curve.
pub fn shared_secret(
    private_pkcs8_der: &[u8],
    peer: PeerKey<'_>,
) -> Result<(Curve, SecretBytes), Error> {
    let (curve, private) = private_key(private_pkcs8_der)?;
    let spki;
    let peer_der = match peer {
        PeerKey::Spki(der) => der,
        PeerKey::Certificate(der) => {
            spki = cert::facts(der, "peer certificate does not parse")?.spki_der;
            &spki
        }
    };
    let peer = UnparsedPublicKey::new(curve.algorithm(), peer_der);
    let z = agreement::agree(
        &private,
        peer,
        Error::InvalidPublicKey("not a public key on the private key's curve"),
        |z| Ok(SecretBytes::new(z.to_vec())),
    )?;
    Ok((curve, z))
}

/// ECDH followed by `kdf` over Z: a `len`-byte key (see [`shared_secret`],
/// [`concat_kdf`] and [`x963_kdf`]). `info` is SP 800-56C's OtherInfo or X9.63's
/// SharedInfo.
///
/// # Errors
/// As [`shared_secret`]; [`Error::InvalidKeyLength`] for `len` of 0 or above
/// [`MAX_DERIVED_LEN`].
pub fn derive_key(
    private_pkcs8_der: &[u8],
    peer: PeerKey<'_>,
    kdf: Kdf,
    hash: KdfHash,
    info: &[u8],
    len: usize,
) -> Result<SecretBytes, Error> {
    check_len(len)?;
    let (_, z) = shared_secret(private_pkcs8_der, peer)?;
    match kdf {
        Kdf::NistSp800_56C => concat_kdf(hash, z.expose(), info, len),
        Kdf::AnsiX963 => x963_kdf(hash, z.expose(), info, len),
    }
}

fn check_len(len: usize) -> Result<(), Error> {
    if (1..=MAX_DERIVED_LEN).contains(&len) {
        Ok(())
    } else {
        Err(Error::InvalidKeyLength {
            what: "derived key",
            len,
        })
    }
}

/// Runs `block(counter)` for counters 1, 2, ... and keeps the first `len` output bytes.
fn counter_kdf<D: Digest>(
    len: usize,
    mut block: impl FnMut(&mut D, [u8; 4]),
) -> Result<SecretBytes, Error> {
    check_len(len)?;
    let mut out = Zeroizing::new(Vec::with_capacity(len + <D as Digest>::output_size()));
    // At most MAX_DERIVED_LEN blocks, so the 32-bit counter never wraps.
    let mut counter: u32 = 1;
    while out.len() < len {
        let mut hasher = D::new();
        block(&mut hasher, counter.to_be_bytes());
        let digest = Zeroizing::new(hasher.finalize().to_vec());
        out.extend_from_slice(&digest);
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    Ok(SecretBytes::new(out.to_vec()))
}

/// NIST SP 800-56C rev. 2 one-step KDF with `hash` (section 4.1, option 1):
/// `H(counter || Z || other_info)` for counter = 1, 2, ..., truncated to `len` bytes.
///
/// # Errors
/// [`Error::InvalidKeyLength`] for `len` of 0 or above [`MAX_DERIVED_LEN`].
pub fn concat_kdf(
    hash: KdfHash,
    z: &[u8],
    other_info: &[u8],
    len: usize,
) -> Result<SecretBytes, Error> {
    fn run<D: Digest>(z: &[u8], info: &[u8], len: usize) -> Result<SecretBytes, Error> {
        counter_kdf::<D>(len, |h, counter| {
            h.update(counter);
            h.update(z);
            h.update(info);
        })
    }
    match hash {
        KdfHash::Sha256 => run::<Sha256>(z, other_info, len),
        KdfHash::Sha384 => run::<Sha384>(z, other_info, len),
        KdfHash::Sha512 => run::<Sha512>(z, other_info, len),
    }
}

/// ANSI X9.63 KDF with `hash` (SEC 1 v2 section 3.6.1):
/// `H(Z || counter || shared_info)` for counter = 1, 2, ..., truncated to `len` bytes.
///
/// # Errors
/// [`Error::InvalidKeyLength`] for `len` of 0 or above [`MAX_DERIVED_LEN`].
pub fn x963_kdf(
    hash: KdfHash,
    z: &[u8],
    shared_info: &[u8],
    len: usize,
) -> Result<SecretBytes, Error> {
    fn run<D: Digest>(z: &[u8], info: &[u8], len: usize) -> Result<SecretBytes, Error> {
        counter_kdf::<D>(len, |h, counter| {
            h.update(z);
            h.update(counter);
            h.update(info);
        })
    }
    match hash {
        KdfHash::Sha256 => run::<Sha256>(z, shared_info, len),
        KdfHash::Sha384 => run::<Sha384>(z, shared_info, len),
        KdfHash::Sha512 => run::<Sha512>(z, shared_info, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygen::{AsymmetricAlgorithm, generate_key_pair};

    #[test]
    fn both_sides_agree_on_every_curve() {
        for (alg, curve, z_len) in [
            (AsymmetricAlgorithm::EccNistP256, Curve::P256, 32),
            (AsymmetricAlgorithm::EccNistP384, Curve::P384, 48),
            (AsymmetricAlgorithm::EccNistP521, Curve::P521, 66),
        ] {
            let a = generate_key_pair(alg).unwrap();
            let b = generate_key_pair(alg).unwrap();
            let (ca, za) = shared_secret(
                a.private_pkcs8_der.expose(),
                PeerKey::Spki(&b.public_spki_der),
            )
            .unwrap();
            let (cb, zb) = shared_secret(
                b.private_pkcs8_der.expose(),
                PeerKey::Spki(&a.public_spki_der),
            )
            .unwrap();
            assert_eq!((ca, cb), (curve, curve));
            assert_eq!(za.len(), z_len);
            assert_eq!(za.expose(), zb.expose());
        }
    }

    #[test]
    fn mismatched_or_bad_keys_are_errors() {
        let p256 = generate_key_pair(AsymmetricAlgorithm::EccNistP256).unwrap();
        let p384 = generate_key_pair(AsymmetricAlgorithm::EccNistP384).unwrap();
        let rsa = generate_key_pair(AsymmetricAlgorithm::Rsa2048).unwrap();
        let ours = p256.private_pkcs8_der.expose();
        assert!(matches!(
            shared_secret(ours, PeerKey::Spki(&p384.public_spki_der)),
            Err(Error::InvalidPublicKey(_))
        ));
        assert!(matches!(
            shared_secret(ours, PeerKey::Spki(&rsa.public_spki_der)),
            Err(Error::InvalidPublicKey(_))
        ));
        assert!(matches!(
            shared_secret(ours, PeerKey::Spki(b"")),
            Err(Error::InvalidPublicKey(_))
        ));
        assert!(matches!(
            shared_secret(
                rsa.private_pkcs8_der.expose(),
                PeerKey::Spki(&p256.public_spki_der)
            ),
            Err(Error::InvalidPrivateKey(_))
        ));
        assert!(matches!(
            shared_secret(ours, PeerKey::Certificate(b"\x30\x00")),
            Err(Error::InvalidCertificate(_))
        ));
    }

    #[test]
    fn lengths() {
        for len in [0, MAX_DERIVED_LEN + 1] {
            let err = Err(Error::InvalidKeyLength {
                what: "derived key",
                len,
            });
            assert_eq!(concat_kdf(KdfHash::Sha256, b"z", b"", len).map(|_| ()), err);
            assert_eq!(x963_kdf(KdfHash::Sha512, b"z", b"", len).map(|_| ()), err);
        }
        for hash in [KdfHash::Sha256, KdfHash::Sha384, KdfHash::Sha512] {
            for len in [1, 31, 32, 33, 64, 65, MAX_DERIVED_LEN] {
                let long = concat_kdf(hash, b"z", b"i", MAX_DERIVED_LEN).unwrap();
                let short = concat_kdf(hash, b"z", b"i", len).unwrap();
                assert_eq!(short.expose(), &long.expose()[..len]);
                let long = x963_kdf(hash, b"z", b"i", MAX_DERIVED_LEN).unwrap();
                let short = x963_kdf(hash, b"z", b"i", len).unwrap();
                assert_eq!(short.expose(), &long.expose()[..len]);
            }
        }
    }

    // The two KDFs differ only in where the counter goes; check that directly.
    #[test]
    fn counter_placement() {
        let z = [0xAB; 4];
        let one = [0, 0, 0, 1];
        let concat = Sha256::digest([&one[..], &z, b"info"].concat());
        let x963 = Sha256::digest([&z[..], &one, b"info"].concat());
        assert_eq!(
            concat_kdf(KdfHash::Sha256, &z, b"info", 32)
                .unwrap()
                .expose(),
            concat.as_slice()
        );
        assert_eq!(
            x963_kdf(KdfHash::Sha256, &z, b"info", 32).unwrap().expose(),
            x963.as_slice()
        );
    }
}
