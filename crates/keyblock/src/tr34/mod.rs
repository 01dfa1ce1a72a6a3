//! TR-34 key blocks: a symmetric key, with its TR-31 style header, encrypted to a key
//! receiving device (KRD) certificate and signed by a key distribution host (KDH).
//!
//! [`build`] writes the layout AWS Payment Cryptography writes and reads ("TR-34-2012
//! non-CMS two pass format"). It looks like CMS SignedData around EnvelopedData but
//! departs from CMS in three places, so it is built and parsed here at the DER level:
//!
//! 1. the signed content (ENV) is the EnvelopedData *fields* without their SEQUENCE;
//! 2. the RSAES-OAEP parameters are written untagged, the MGF1 hash without NULL;
//! 3. the ciphertext sits inside the content encryption AlgorithmIdentifier.
//!
//! [`inspect`], [`verify`] and [`open`] also read the layouts of the TR-34-2019 annex B
//! sample blocks, which HSMs that follow the standard write (see [`Layout`]): there ENV
//! is a real EnvelopedData SEQUENCE (departure 1 undone), and in the samples of the 2019
//! corrigendum the ciphertext follows the algorithm as in RFC 5652 (departure 3 undone
//! too). Departure 2 is in the annex B samples as well, byte for byte. Everything else is
//! the same in all layouts: the messageDigest is the SHA-256 of the encapsulated OCTET
//! STRING's content, the signature covers the signed attributes as received (the annex B
//! two-pass sample's are not in DER SET order), and the plaintext is the same.
//!
//! ```text
//! ContentInfo { signedData, [0] SignedData {
//!   1, { sha256 }, { envelopedData, [0] OCTET STRING ENV },
//!   { SignerInfo { 1, KDH issuer+serial, sha256,
//!       [0] { contentType, randomNonce | signingTime, id-data (header), messageDigest },
//!       rsaEncryption, signature } } } }
//! ENV = 0 | { { 0, KRD issuer+serial, rsaesOaep(sha256, mgf1(sha256), ''), encryptedKey } }
//!         | { id-data, { des-ede3-cbc | aes128-CBC, IV, [0] ciphertext } }
//! plaintext = { 1, KDH issuer+serial, OCTET STRING key, { id-data, { header } } } + PKCS#7
//! ```
//!
//! Two-pass blocks carry the receiver's random nonce; one-pass blocks a signing time
//! instead (this crate has no clock: the caller passes the time, and judges it on receipt).
//! The RSA-OAEP seed comes from aws-lc's CSPRNG (seeded by the operating system); the
//! content key and IV come from the `rng` passed to [`build`].
//!
//! ```
//! use paycrypt_keyblock::{SystemRng, keygen::{self, AsymmetricAlgorithm}};
//! use paycrypt_keyblock::tr34::{self, BuildParams, ContentCipher, Freshness};
//! # fn certificate(pair: &keygen::KeyPair, name: &str) -> Vec<u8> {
//! #     let key = rcgen::KeyPair::try_from(pair.private_pkcs8_der.expose()).unwrap();
//! #     let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
//! #     params.distinguished_name.push(rcgen::DnType::CommonName, name);
//! #     params.self_signed(&key).unwrap().der().to_vec()
//! # }
//! let kdh = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048)?; // signs
//! let krd = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048)?; // receives
//! let (kdh_cert, krd_cert) = (certificate(&kdh, "KDH"), certificate(&krd, "KRD"));
//!
//! let key = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap(); // a TDES key
//! let nonce = hex::decode("1122334455667788").unwrap(); // sent by the KRD
//! let block = tr34::build(
//!     &BuildParams {
//!         key: &key,
//!         header: "D0112K0TB00E0000",
//!         kdh_certificate_der: &kdh_cert,
//!         kdh_private_pkcs8_der: kdh.private_pkcs8_der.expose(),
//!         krd_certificate_der: &krd_cert,
//!         content_cipher: ContentCipher::Tdes,
//!         freshness: Freshness::RandomNonce(nonce.clone()),
//!     },
//!     &mut SystemRng,
//! )?;
//!
//! let seen = tr34::inspect(&block)?;
//! assert_eq!(seen.header, "D0112K0TB00E0000");
//! assert_eq!(seen.content_cipher.name(), "des-ede3-cbc");
//!
//! let opened = tr34::open(&block, &krd_cert, krd.private_pkcs8_der.expose(), &kdh_cert, Some(&nonce))?;
//! assert_eq!(opened.key.expose(), key.as_slice());
//! assert_eq!(opened.header, "D0112K0TB00E0000");
//! # Ok::<(), paycrypt_keyblock::Error>(())
//! ```

mod asn1;
mod parse;
mod write;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use der::asn1::{ObjectIdentifier, UtcTime};
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use crate::error::Tr34Check;

use crate::cert;
use crate::cryptogram::{self, OaepHash};
use crate::error::Error;
use crate::kcv::BlockCipherKind;
use crate::keygen::{self, SymmetricAlgorithm};
use crate::secret::SecretBytes;
use crate::sym::Cipher;

/// The cipher that encrypts the content (the key and its header) under a one-time key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentCipher {
    /// Three-key TDES in CBC mode (`des-ede3-cbc`): 24-byte content key, 8-byte IV.
    Tdes,
    /// AES-128 in CBC mode (`aes128-CBC`): 16-byte content key, 16-byte IV.
    Aes128,
}

impl ContentCipher {
    /// The algorithm's name as in its ASN.1 module: `des-ede3-cbc` or `aes128-CBC`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tdes => "des-ede3-cbc",
            Self::Aes128 => "aes128-CBC",
        }
    }

    /// The object identifier in dotted form.
    pub fn oid(self) -> &'static str {
        match self {
            Self::Tdes => "1.2.840.113549.3.7",
            Self::Aes128 => "2.16.840.1.101.3.4.1.2",
        }
    }

    fn oid_const(self) -> &'static ObjectIdentifier {
        match self {
            Self::Tdes => &asn1::oid::DES_EDE3_CBC,
            Self::Aes128 => &asn1::oid::AES128_CBC,
        }
    }

    fn block_len(self) -> usize {
        match self {
            Self::Tdes => 8,
            Self::Aes128 => 16,
        }
    }

    fn kind(self) -> BlockCipherKind {
        match self {
            Self::Tdes => BlockCipherKind::Tdes,
            Self::Aes128 => BlockCipherKind::Aes,
        }
    }

    fn key_algorithm(self) -> SymmetricAlgorithm {
        match self {
            Self::Tdes => SymmetricAlgorithm::Tdes3Key,
            Self::Aes128 => SymmetricAlgorithm::Aes128,
        }
    }
}

/// Where the fields of the enveloped part sit: the three forms TR-34 blocks are met in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layout {
    /// AWS Payment Cryptography's: the EnvelopedData fields without their SEQUENCE, the
    /// ciphertext inside the content encryption AlgorithmIdentifier. [`build`] writes it.
    Aws,
    /// TR-34-2019 annex B as first published (sections B.8 and B.9): an EnvelopedData
    /// SEQUENCE, the ciphertext still inside the AlgorithmIdentifier.
    AnnexB2019,
    /// RFC 5652 CMS, as the annex B samples of the TR-34-2019 corrigendum: an
    /// EnvelopedData SEQUENCE whose EncryptedContentInfo holds the ciphertext after the
    /// AlgorithmIdentifier, `[0] IMPLICIT`.
    Cms,
}

impl Layout {
    /// A readable name: `AWS`, `TR-34-2019 annex B` or `CMS`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "AWS",
            Self::AnnexB2019 => "TR-34-2019 annex B",
            Self::Cms => "CMS",
        }
    }
}

/// How the content key is transported to the KRD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyTransport {
    /// RSAES-OAEP with SHA-256, MGF1-SHA-256 and an empty label (RFC 8017), the only
    /// transport AWS and the TR-34-2019 annex B samples use, and the only one this crate
    /// accepts.
    RsaOaepSha256,
}

impl KeyTransport {
    /// A readable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaOaepSha256 => "RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label)",
        }
    }
}

/// A block's signing time (one-pass blocks): a UTCTime, so between 1970 and 2049 here.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigningTime(UtcTime);

impl SigningTime {
    /// The time `seconds` after the Unix epoch, whole seconds.
    ///
    /// # Errors
    /// [`Error::Tr34Parameter`] if the time is not before 2050 (UTCTime's range).
    pub fn from_unix_seconds(seconds: u64) -> Result<Self, Error> {
        UtcTime::from_unix_duration(std::time::Duration::from_secs(seconds))
            .map(Self)
            .map_err(|_| Error::Tr34Parameter("signing time must be before 2050"))
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> u64 {
        self.0.to_unix_duration().as_secs()
    }

    /// The UTCTime TLV, `YYMMDDhhmmssZ`.
    fn to_der(self) -> Vec<u8> {
        let t = self.0.to_date_time();
        let text = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            t.month(),
            t.day(),
            t.hour(),
            t.minutes(),
            t.seconds()
        );
        asn1::tlv(asn1::tag::UTC_TIME, &[text.as_bytes()])
    }
}

impl std::fmt::Debug for SigningTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningTime({})", self.0.to_date_time())
    }
}

impl std::fmt::Display for SigningTime {
    /// RFC 3339, e.g. `2023-06-09T23:39:46Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.to_date_time())
    }
}

/// What makes a block fresh: the KRD's random nonce (two-pass) or the KDH's signing time
/// (one-pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// The `randomNonce` attribute (PKCS #9), 8 to 16 bytes when this crate writes it.
    RandomNonce(Vec<u8>),
    /// The `signingTime` attribute.
    SigningTime(SigningTime),
}

/// A certificate named by issuer and serial number (CMS `IssuerAndSerialNumber`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IssuerSerial {
    issuer_der: Vec<u8>,
    serial: Vec<u8>,
}

impl IssuerSerial {
    /// The issuer and serial number of a DER certificate.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] if the certificate does not parse.
    pub fn from_certificate(certificate_der: &[u8]) -> Result<Self, Error> {
        let facts = cert::facts(certificate_der, "certificate does not parse")?;
        Ok(Self {
            issuer_der: facts.issuer_der,
            serial: facts.serial,
        })
    }

    /// The issuer `Name`, DER.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// The issuer in RFC 4514 form (`L=Arlington,CN=...,C=US`), if the name parses.
    pub fn issuer(&self) -> Option<String> {
        cert::name_to_string(&self.issuer_der)
    }

    /// The serial number's INTEGER content octets (big-endian two's complement, so a
    /// leading `00` when the top bit is set).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The serial number as uppercase hex of [`IssuerSerial::serial`].
    pub fn serial_hex(&self) -> String {
        hex::encode_upper(&self.serial)
    }
}

/// What [`inspect`] and [`verify`] report about a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Where the enveloped part's fields sit.
    pub layout: Layout,
    /// The signer (KDH certificate).
    pub kdh: IssuerSerial,
    /// The recipient (KRD certificate).
    pub krd: IssuerSerial,
    /// The signed key block header, verbatim (e.g. `D0112K0TB00E0000`).
    pub header: String,
    /// Random nonce (two-pass) or signing time (one-pass).
    pub freshness: Freshness,
    /// The content cipher.
    pub content_cipher: ContentCipher,
    /// The key transport algorithm.
    pub key_transport: KeyTransport,
}

/// The result of [`open`].
#[derive(Debug, Clone)]
pub struct Opened {
    /// The key block header, verbatim. Its version and length characters are not checked
    /// (senders write `D9999...` as well as `D0112...`); read usage, algorithm, mode of
    /// use, key version and exportability from positions 5 to 16.
    pub header: String,
    /// The clear key.
    pub key: SecretBytes,
    /// Random nonce (two-pass) or signing time (one-pass): judging a signing time's age is
    /// the caller's job.
    pub freshness: Freshness,
    /// The content cipher the sender used.
    pub content_cipher: ContentCipher,
    /// The layout the sender used.
    pub layout: Layout,
}

/// The inputs of [`build`].
#[derive(Debug, Clone)]
pub struct BuildParams<'a> {
    /// The clear key to transport: 16, 24 or 32 bytes (TDES or AES), not masked.
    pub key: &'a [u8],
    /// The TR-31 style key block header, 16 to 9999 printable ASCII characters,
    /// e.g. `D0112K0TB00E0000`.
    pub header: &'a str,
    /// The KDH (signer) certificate, DER; its issuer and serial name the signer.
    pub kdh_certificate_der: &'a [u8],
    /// The KDH's RSA private key, PKCS#8 DER; must match the KDH certificate.
    pub kdh_private_pkcs8_der: &'a [u8],
    /// The KRD (recipient) certificate, DER, holding an RSA public key.
    pub krd_certificate_der: &'a [u8],
    /// The content cipher.
    pub content_cipher: ContentCipher,
    /// The KRD's random nonce (two-pass, 8 to 16 bytes) or the signing time (one-pass).
    pub freshness: Freshness,
}

const MAX_HEADER_LEN: usize = 9999;

fn check_build_params(params: &BuildParams<'_>) -> Result<(), Error> {
    if !matches!(params.key.len(), 16 | 24 | 32) {
        return Err(Error::InvalidKeyLength {
            what: "TR-34 transported key",
            len: params.key.len(),
        });
    }
    let header = params.header.as_bytes();
    if header.len() < 16
        || header.len() > MAX_HEADER_LEN
        || !header.iter().all(|b| (0x20..=0x7E).contains(b))
    {
        return Err(Error::Tr34Parameter(
            "key block header must be 16 to 9999 printable ASCII characters",
        ));
    }
    if let Freshness::RandomNonce(nonce) = &params.freshness
        && !(8..=16).contains(&nonce.len())
    {
        return Err(Error::Tr34Parameter("random nonce must be 8 to 16 bytes"));
    }
    Ok(())
}

/// Builds a TR-34 key block as the KDH: `params.key` with `params.header`, encrypted to
/// the KRD certificate and signed with the KDH key. Returns the DER (AWS puts uppercase
/// hex of it on the wire).
///
/// # Errors
/// [`Error::InvalidKeyLength`] for a key that is not 16, 24 or 32 bytes;
/// [`Error::Tr34Parameter`] for a bad header, a nonce outside 8..=16 bytes or a KDH
/// private key that does not match the KDH certificate; [`Error::InvalidCertificate`] if a
/// certificate does not parse or the KRD's key is not RSA; [`Error::InvalidPrivateKey`] if
/// the KDH key is not an RSA PKCS#8 key.
pub fn build<R: CryptoRng + ?Sized>(
    params: &BuildParams<'_>,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    build_with_inner(params, None, rng)
}

/// [`build`], with the identity and header to put inside the envelope optionally given
/// apart from the signed ones (`None` in [`build`]; the tests make them differ to exercise
/// [`open`]'s check 6).
fn build_with_inner<R: CryptoRng + ?Sized>(
    params: &BuildParams<'_>,
    inner: Option<(&IssuerSerial, &[u8])>,
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    check_build_params(params)?;
    let kdh = cert::facts(params.kdh_certificate_der, "KDH certificate does not parse")?;
    let kdh_id = IssuerSerial {
        issuer_der: kdh.issuer_der,
        serial: kdh.serial,
    };
    let krd = cert::facts(params.krd_certificate_der, "KRD certificate does not parse")?;
    let krd_id = IssuerSerial {
        issuer_der: krd.issuer_der,
        serial: krd.serial,
    };
    let (inner_kdh, inner_header) = inner.unwrap_or((&kdh_id, params.header.as_bytes()));
    let signer = crate::rsa_keys::key_pair(params.kdh_private_pkcs8_der).ok_or(
        Error::InvalidPrivateKey("KDH key is not an RSA PKCS#8 private key"),
    )?;

    let cipher = params.content_cipher;
    let content_key = keygen::generate_symmetric(cipher.key_algorithm(), rng);
    let mut iv = vec![0u8; cipher.block_len()];
    rng.fill_bytes(&mut iv);

    // The padded plaintext, encrypted in place: from here on it holds the ciphertext.
    let mut content = write::plaintext(inner_kdh, params.key, inner_header, cipher.block_len());
    Cipher::new(cipher.kind(), content_key.expose())?.cbc_encrypt(&iv, &mut content);
    let encrypted_key = cryptogram::wrap_key(&krd.spki_der, OaepHash::Sha256, content_key.expose())
        .map_err(|_| Error::InvalidCertificate("KRD certificate does not hold a usable RSA key"))?;

    let env = write::envelope(&write::Envelope {
        krd: &krd_id,
        encrypted_key: &encrypted_key,
        cipher,
        iv: &iv,
        ciphertext: &content,
    });
    let attrs = write::signed_attributes(
        params.header.as_bytes(),
        &params.freshness,
        &Sha256::digest(&env),
    );
    let to_sign = asn1::tlv(asn1::tag::SET, &[&attrs]);
    let mut sig = vec![0u8; signer.public_modulus_len()];
    signer
        .sign(
            &signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            &to_sign,
            &mut sig,
        )
        .map_err(|_| Error::InvalidPrivateKey("RSA signing failed"))?;
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &kdh.spki_der)
        .verify(&to_sign, &sig)
        .map_err(|_| Error::Tr34Parameter("KDH private key does not match the KDH certificate"))?;
    Ok(write::signed_data(&env, &kdh_id, &attrs, &sig))
}

fn inspection(parsed: &parse::Parsed<'_>) -> Inspection {
    Inspection {
        layout: parsed.layout,
        kdh: parsed.kdh.clone(),
        krd: parsed.krd.clone(),
        header: parsed.header.clone(),
        freshness: parsed.freshness.clone(),
        content_cipher: parsed.cipher,
        key_transport: parsed.key_transport,
    }
}

/// Reads a block's public facts without any key and without verifying anything.
///
/// # Errors
/// [`Error::Tr34Malformed`] (naming the field) if the bytes are not a block in one of the
/// [`Layout`]s; [`Error::Tr34Unsupported`] for another cipher, key transport or signature
/// algorithm.
pub fn inspect(block_der: &[u8]) -> Result<Inspection, Error> {
    parse::parse(block_der).map(|p| inspection(&p))
}

fn check(ok: bool, which: Tr34Check) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::Tr34CheckFailed(which))
    }
}

/// Checks 2, 1 and 3 (in that order) against the KDH certificate.
fn verify_parsed(parsed: &parse::Parsed<'_>, kdh_certificate_der: &[u8]) -> Result<(), Error> {
    let kdh = cert::facts(kdh_certificate_der, "KDH certificate does not parse")?;
    check(
        parsed.kdh.issuer_der == kdh.issuer_der && parsed.kdh.serial == kdh.serial,
        Tr34Check::SignerIdentity,
    )?;
    // The signature covers the attributes as received, re-tagged as a SET (RFC 5652 5.4).
    let mut signed = parsed.signed_attrs.to_vec();
    if let Some(first) = signed.first_mut() {
        *first = asn1::tag::SET;
    }
    let verified = UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &kdh.spki_der)
        .verify(&signed, parsed.signature)
        .is_ok();
    check(verified, Tr34Check::Signature)?;
    let digest = Sha256::digest(parsed.env);
    check(
        bool::from(digest.as_slice().ct_eq(parsed.message_digest)),
        Tr34Check::MessageDigest,
    )
}

/// Verifies who signed a block, without any private key: the signer is the KDH
/// certificate (check 2), the signature verifies with its key (check 1) and the
/// messageDigest matches the enveloped part (check 3).
///
/// # Errors
/// As [`inspect`]; [`Error::InvalidCertificate`] if the certificate does not parse;
/// [`Error::Tr34CheckFailed`] naming the first check that fails.
pub fn verify(block_der: &[u8], kdh_certificate_der: &[u8]) -> Result<Inspection, Error> {
    let parsed = parse::parse(block_der)?;
    verify_parsed(&parsed, kdh_certificate_der)?;
    Ok(inspection(&parsed))
}

/// Opens a block as the KRD, performing the receiving party's checks 1 to 6 (the 7th,
/// comparing the key check value with the one the sender announced, is the caller's).
/// The block may be in any of the [`Layout`]s, read from the block itself; the checks are
/// the same for all:
///
/// 2. the SignerInfo names the KDH certificate ([`Tr34Check::SignerIdentity`]);
/// 1. the signature over the signed attributes verifies with it ([`Tr34Check::Signature`]);
/// 3. the messageDigest is the SHA-256 of the enveloped part ([`Tr34Check::MessageDigest`]);
/// 4. the nonce is `expected_nonce` ([`Tr34Check::Nonce`]): `Some` requires a two-pass
///    block with exactly that nonce, `None` a one-pass block (with a signing time);
/// 5. the RecipientInfo names the KRD certificate ([`Tr34Check::RecipientIdentity`]);
/// 6. after RSA-OAEP unwrap and CBC decryption, the KDH identity and header inside equal
///    the signed ones ([`Tr34Check::InnerIdentity`], [`Tr34Check::InnerHeader`]).
///
/// The header's version and length characters are not interpreted. Padding is removed
/// leniently: PKCS#7 padding if present, none if the content fills whole blocks.
///
/// # Errors
/// As [`inspect`]; [`Error::InvalidCertificate`] for a certificate that does not parse;
/// [`Error::InvalidPrivateKey`] for a KRD key that is not RSA PKCS#8;
/// [`Error::DecryptionFailed`] if the content key does not decrypt under the KRD key;
/// [`Error::Tr34CheckFailed`] naming the first failed check.
pub fn open(
    block_der: &[u8],
    krd_certificate_der: &[u8],
    krd_private_pkcs8_der: &[u8],
    kdh_certificate_der: &[u8],
    expected_nonce: Option<&[u8]>,
) -> Result<Opened, Error> {
    let parsed = parse::parse(block_der)?;
    verify_parsed(&parsed, kdh_certificate_der)?;

    let nonce_ok = match (expected_nonce, &parsed.freshness) {
        (Some(expected), Freshness::RandomNonce(got)) => bool::from(expected.ct_eq(got)),
        (None, Freshness::SigningTime(_)) => true,
        _ => false,
    };
    check(nonce_ok, Tr34Check::Nonce)?;

    let krd = cert::facts(krd_certificate_der, "KRD certificate does not parse")?;
    check(
        parsed.krd.issuer_der == krd.issuer_der && parsed.krd.serial == krd.serial,
        Tr34Check::RecipientIdentity,
    )?;

    let content_key = cryptogram::unwrap_key(
        krd_private_pkcs8_der,
        OaepHash::Sha256,
        parsed.encrypted_key,
    )?;
    let cipher = parsed.cipher;
    let key_len_ok = match cipher {
        ContentCipher::Tdes => matches!(content_key.len(), 16 | 24),
        ContentCipher::Aes128 => content_key.len() == 16,
    };
    if !key_len_ok {
        return Err(Error::Tr34Malformed("content key length"));
    }
    let mut plaintext = zeroize::Zeroizing::new(parsed.ciphertext.to_vec());
    Cipher::new(cipher.kind(), content_key.expose())?.cbc_decrypt(parsed.iv, &mut plaintext);
    let inner = parse::inner(&plaintext, cipher.block_len())?;

    check(inner.kdh == parsed.kdh, Tr34Check::InnerIdentity)?;
    check(
        inner.header == parsed.header.as_bytes(),
        Tr34Check::InnerHeader,
    )?;
    Ok(Opened {
        header: parsed.header,
        key: SecretBytes::new(inner.key.to_vec()),
        freshness: parsed.freshness,
        content_cipher: cipher,
        layout: parsed.layout,
    })
}

#[cfg(test)]
mod tests;
