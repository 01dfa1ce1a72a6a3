//! Keys and signatures: public keys read from a SubjectPublicKeyInfo (RFC 5280 4.1.2.7,
//! RFC 3279 / RFC 5480), private signing keys loaded from PKCS#8, and the signature
//! algorithms this crate signs with and verifies (RFC 4055 / RFC 5758 identifiers), all
//! computed by aws-lc-rs.
//!
//! Signing profile: an RSA key signs with sha256WithRSAEncryption whatever its size; an ECC
//! key signs with ECDSA and the hash that matches its curve (P-256 / SHA-256, P-384 /
//! SHA-384, P-521 / SHA-512). ECDSA nonces come from the crypto provider (aws-lc-rs, seeded
//! by the operating system); RSA PKCS#1 v1.5 signatures are deterministic.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{AnyRef, UintRef};
use der::{Decode, Sequence};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoRef};

use crate::error::Error;

/// A NIST curve this crate handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcCurve {
    /// P-256 (secp256r1).
    P256,
    /// P-384 (secp384r1).
    P384,
    /// P-521 (secp521r1).
    P521,
}

impl EcCurve {
    /// The RSA modulus size of comparable strength (NIST SP 800-57 Part 1, table 2:
    /// 128-bit security ~ RSA-3072, 192 ~ RSA-7680, 256 ~ RSA-15360).
    pub fn comparable_rsa_bits(self) -> u32 {
        match self {
            Self::P256 => 3072,
            Self::P384 => 7680,
            Self::P521 => 15360,
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            rfc5912::SECP_256_R_1 => Some(Self::P256),
            rfc5912::SECP_384_R_1 => Some(Self::P384),
            rfc5912::SECP_521_R_1 => Some(Self::P521),
            _ => None,
        }
    }
}

/// The algorithm and size of a certificate's public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// RSA (rsaEncryption) with a modulus of `bits` bits.
    Rsa {
        /// Modulus length in bits.
        bits: u32,
    },
    /// ECC (id-ecPublicKey) on a named curve.
    Ec {
        /// The curve.
        curve: EcCurve,
    },
    /// Any other key type (or an ECC key on another curve); `oid` names the algorithm
    /// (or the curve).
    Unsupported {
        /// The algorithm or curve OID, dotted decimal.
        oid: String,
    },
}

impl KeyAlgorithm {
    /// Strength in RSA-equivalent bits (RSA: the modulus size; ECC: see
    /// [`EcCurve::comparable_rsa_bits`]); `None` for unsupported keys.
    pub fn comparable_strength_bits(&self) -> Option<u32> {
        match self {
            Self::Rsa { bits } => Some(*bits),
            Self::Ec { curve } => Some(curve.comparable_rsa_bits()),
            Self::Unsupported { .. } => None,
        }
    }
}

/// A digest used inside a signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        match oid {
            rfc5912::ID_SHA_256 => Some(Self::Sha256),
            rfc5912::ID_SHA_384 => Some(Self::Sha384),
            rfc5912::ID_SHA_512 => Some(Self::Sha512),
            _ => None,
        }
    }

    fn output_len(self) -> u32 {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// A signature algorithm this crate can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 (sha256/384/512WithRSAEncryption).
    RsaPkcs1(HashAlgorithm),
    /// RSASSA-PSS with MGF1 over the same hash and a salt as long as the hash.
    RsaPss(HashAlgorithm),
    /// ECDSA (ecdsa-with-SHA256/384/512).
    Ecdsa(HashAlgorithm),
}

/// `RSASSA-PSS-params` (RFC 4055 section 3.1); absent fields take the RFC's defaults
/// (SHA-1, MGF1-SHA-1, salt 20), none of which this crate accepts.
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

/// Parameters that must be absent or NULL (hash identifiers, PKCS#1 v1.5 and ECDSA
/// signature identifiers; RFC 5758 says absent for ECDSA, some encoders write NULL).
fn params_absent_or_null(params: Option<&der::asn1::Any>) -> bool {
    params.is_none_or(der::asn1::Any::is_null)
}

fn hash_of(ai: &AlgorithmIdentifierOwned) -> Option<HashAlgorithm> {
    HashAlgorithm::from_oid(ai.oid).filter(|_| params_absent_or_null(ai.parameters.as_ref()))
}

impl SignatureAlgorithm {
    /// Reads a signature AlgorithmIdentifier; unknown algorithms and parameters are
    /// [`Error::UnsupportedSignatureAlgorithm`].
    pub(crate) fn from_algorithm_identifier(ai: &AlgorithmIdentifierOwned) -> Result<Self, Error> {
        let unsupported = |what: &str| Error::UnsupportedSignatureAlgorithm(what.to_string());
        let simple = |alg: Self| {
            if params_absent_or_null(ai.parameters.as_ref()) {
                Ok(alg)
            } else {
                Err(unsupported(&format!("{} with parameters", ai.oid)))
            }
        };
        match ai.oid {
            rfc5912::SHA_256_WITH_RSA_ENCRYPTION => simple(Self::RsaPkcs1(HashAlgorithm::Sha256)),
            rfc5912::SHA_384_WITH_RSA_ENCRYPTION => simple(Self::RsaPkcs1(HashAlgorithm::Sha384)),
            rfc5912::SHA_512_WITH_RSA_ENCRYPTION => simple(Self::RsaPkcs1(HashAlgorithm::Sha512)),
            rfc5912::ECDSA_WITH_SHA_256 => simple(Self::Ecdsa(HashAlgorithm::Sha256)),
            rfc5912::ECDSA_WITH_SHA_384 => simple(Self::Ecdsa(HashAlgorithm::Sha384)),
            rfc5912::ECDSA_WITH_SHA_512 => simple(Self::Ecdsa(HashAlgorithm::Sha512)),
            rfc5912::ID_RSASSA_PSS => {
                let bad = || {
                    unsupported(
                        "RSASSA-PSS with parameters other than hash = MGF1 hash, salt = hash length",
                    )
                };
                let params = ai
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<PssParams>().ok())
                    .ok_or_else(bad)?;
                let hash = params.hash.as_ref().and_then(hash_of).ok_or_else(bad)?;
                let mgf = params.mask_gen.as_ref().ok_or_else(bad)?;
                let mgf_hash = mgf
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                    .and_then(|ai| hash_of(&ai));
                if mgf.oid != rfc5912::ID_MGF_1
                    || mgf_hash != Some(hash)
                    || params.salt_length != Some(hash.output_len())
                    || params.trailer_field.is_some_and(|t| t != 1)
                {
                    return Err(bad());
                }
                Ok(Self::RsaPss(hash))
            }
            other => Err(unsupported(&other.to_string())),
        }
    }
}

/// `RSAPublicKey` (RFC 8017 appendix A.1.1).
#[derive(Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// A public key as read from a SubjectPublicKeyInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicKey {
    pub(crate) algorithm: KeyAlgorithm,
    /// What aws-lc-rs verifies with: the PKCS#1 `RSAPublicKey` DER for RSA, the curve point
    /// for ECC, the raw key bits otherwise.
    key: Vec<u8>,
}

impl PublicKey {
    /// Reads a SubjectPublicKeyInfo DER. Unknown algorithms parse (as
    /// [`KeyAlgorithm::Unsupported`]); a malformed RSA or ECC key is an error.
    pub(crate) fn from_spki_der(spki_der: &[u8]) -> Result<Self, Error> {
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(|_| Error::InvalidPublicKey("SubjectPublicKeyInfo does not parse"))?;
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or(Error::InvalidPublicKey(
                "public key BIT STRING has unused bits",
            ))?;
        let params = spki.algorithm.parameters;
        let algorithm = match spki.algorithm.oid {
            rfc5912::RSA_ENCRYPTION => {
                if !params.is_none_or(|p: AnyRef<'_>| p.is_null()) {
                    return Err(Error::InvalidPublicKey(
                        "rsaEncryption parameters are not NULL",
                    ));
                }
                let rsa = RsaPublicKeyDer::from_der(key)
                    .map_err(|_| Error::InvalidPublicKey("RSAPublicKey does not parse"))?;
                let modulus = rsa.modulus.as_bytes();
                let first = *modulus
                    .first()
                    .ok_or(Error::InvalidPublicKey("RSA modulus is zero"))?;
                if rsa.public_exponent.as_bytes().is_empty() {
                    return Err(Error::InvalidPublicKey("RSA public exponent is zero"));
                }
                let bits = u32::try_from(modulus.len())
                    .ok()
                    .and_then(|n| n.checked_mul(8))
                    .ok_or(Error::InvalidPublicKey("RSA modulus too long"))?
                    - first.leading_zeros();
                KeyAlgorithm::Rsa { bits }
            }
            rfc5912::ID_EC_PUBLIC_KEY => {
                let curve_oid = params
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or(Error::InvalidPublicKey(
                        "id-ecPublicKey without a namedCurve OID",
                    ))?;
                match EcCurve::from_oid(curve_oid) {
                    Some(curve) => KeyAlgorithm::Ec { curve },
                    None => KeyAlgorithm::Unsupported {
                        oid: curve_oid.to_string(),
                    },
                }
            }
            other => KeyAlgorithm::Unsupported {
                oid: other.to_string(),
            },
        };
        Ok(Self {
            algorithm,
            key: key.to_vec(),
        })
    }

    /// Verifies `signature` over `message` with this key under `alg`.
    pub(crate) fn verify(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        use HashAlgorithm::{Sha256, Sha384, Sha512};
        let verifier: &'static dyn VerificationAlgorithm = match (&self.algorithm, alg) {
            (KeyAlgorithm::Rsa { bits }, _) if !(2048..=8192).contains(bits) => {
                return Err(Error::UnsupportedKey(format!(
                    "RSA key of {bits} bits (2048 to 8192 verify)"
                )));
            }
            (KeyAlgorithm::Rsa { .. }, SignatureAlgorithm::RsaPkcs1(h)) => match h {
                Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            },
            (KeyAlgorithm::Rsa { .. }, SignatureAlgorithm::RsaPss(h)) => match h {
                Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
                Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
                Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
            },
            (KeyAlgorithm::Ec { curve }, SignatureAlgorithm::Ecdsa(h)) => match (curve, h) {
                (EcCurve::P256, Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
                (EcCurve::P256, Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
                (EcCurve::P256, Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
                (EcCurve::P384, Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
                (EcCurve::P384, Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
                (EcCurve::P384, Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
                (EcCurve::P521, Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
                (EcCurve::P521, Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
                (EcCurve::P521, Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
            },
            (KeyAlgorithm::Unsupported { oid }, _) => {
                return Err(Error::UnsupportedKey(format!("key algorithm {oid}")));
            }
            _ => {
                return Err(Error::SignatureAlgorithmMismatch(
                    "the signature algorithm does not fit the issuer's key type",
                ));
            }
        };
        UnparsedPublicKey::new(verifier, &self.key)
            .verify(message, signature)
            .map_err(|_| Error::BadSignature)
    }
}

/// A private key that signs certificates and requests.
pub(crate) enum SigningKey {
    Rsa(std::sync::Arc<signature::RsaKeyPair>),
    Ec(signature::EcdsaKeyPair, EcCurve),
}

impl SigningKey {
    /// Loads a PKCS#8 private key of the type `public` names and checks that it is the
    /// private half of `public` (`what` names the public key in [`Error::KeyMismatch`]).
    pub(crate) fn load(
        private_pkcs8_der: &[u8],
        public: &PublicKey,
        what: &'static str,
    ) -> Result<Self, Error> {
        let (key, own_spki) = match &public.algorithm {
            KeyAlgorithm::Rsa { .. } => {
                let kp = paycrypt_keyblock::rsa_keys::key_pair(private_pkcs8_der)
                    .ok_or(Error::InvalidPrivateKey)?;
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(|_| Error::InvalidPrivateKey)?;
                (Self::Rsa(kp), spki)
            }
            KeyAlgorithm::Ec { curve } => {
                let alg = match curve {
                    EcCurve::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    EcCurve::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    EcCurve::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                };
                let kp = signature::EcdsaKeyPair::from_pkcs8(alg, private_pkcs8_der)
                    .map_err(|_| Error::InvalidPrivateKey)?;
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(|_| Error::InvalidPrivateKey)?;
                (Self::Ec(kp, *curve), spki)
            }
            KeyAlgorithm::Unsupported { oid } => {
                return Err(Error::UnsupportedKey(format!("key algorithm {oid}")));
            }
        };
        if PublicKey::from_spki_der(own_spki.as_ref())? != *public {
            return Err(Error::KeyMismatch(what));
        }
        Ok(key)
    }

    /// The signature AlgorithmIdentifier this key signs under.
    pub(crate) fn algorithm_identifier(&self) -> AlgorithmIdentifierOwned {
        match self {
            Self::Rsa(_) => AlgorithmIdentifierOwned {
                oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                parameters: Some(der::asn1::Any::null()),
            },
            Self::Ec(_, curve) => AlgorithmIdentifierOwned {
                oid: match curve {
                    EcCurve::P256 => rfc5912::ECDSA_WITH_SHA_256,
                    EcCurve::P384 => rfc5912::ECDSA_WITH_SHA_384,
                    EcCurve::P521 => rfc5912::ECDSA_WITH_SHA_512,
                },
                parameters: None,
            },
        }
    }

    /// Signs `message` (the DER of a TBSCertificate or CertificationRequestInfo).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            Self::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| Error::Signing)?;
                Ok(sig)
            }
            Self::Ec(kp, _) => kp
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Signing),
        }
    }
}
