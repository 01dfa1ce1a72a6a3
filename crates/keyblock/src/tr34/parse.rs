//! Reading a TR-34 key block into its parts, without any key: every field is located and
//! its type checked, and nothing is verified or decrypted here. The enveloped part may be
//! in any of the three [`Layout`]s; everything around it is the same in all of them.
//!
//! Leniencies, all harmless because the signature covers what they touch: hash and
//! signature AlgorithmIdentifiers may carry NULL parameters or none; the signature
//! algorithm may be `rsaEncryption` or `sha256WithRSAEncryption`; signed attributes may come
//! in any order and unknown ones are ignored. CMS `certificates`, `crls` (the annex B
//! samples carry their CA's CRL) and `unsignedAttrs` are skipped if present: they are not
//! signed and nothing here uses them (revocation is the caller's business). Everything
//! else must be exactly one of the layouts.

use der::Decode;
use der::asn1::UtcTime;

use super::asn1::{self, Items, Tlv, oid, tag};
use super::{ContentCipher, Freshness, IssuerSerial, KeyTransport, Layout, SigningTime};
use crate::error::Error;

/// A parsed block: borrowed slices into the input plus the decoded small fields.
pub(super) struct Parsed<'a> {
    pub layout: Layout,
    /// The signedAttrs exactly as received, `[0]` tag included.
    pub signed_attrs: &'a [u8],
    pub kdh: IssuerSerial,
    pub signature: &'a [u8],
    /// The enveloped part: the content of the encapsulated OCTET STRING (what the
    /// messageDigest covers in every layout).
    pub env: &'a [u8],
    pub header: String,
    pub freshness: Freshness,
    pub message_digest: &'a [u8],
    pub krd: IssuerSerial,
    pub key_transport: KeyTransport,
    pub encrypted_key: &'a [u8],
    pub cipher: ContentCipher,
    pub iv: &'a [u8],
    pub ciphertext: &'a [u8],
}

fn malformed(what: &'static str) -> Error {
    Error::Tr34Malformed(what)
}

/// Parses a whole block.
pub(super) fn parse(block: &[u8]) -> Result<Parsed<'_>, Error> {
    let content_info = asn1::single(block, tag::SEQUENCE, "ContentInfo")?;
    let mut ci = Items::new(content_info.value, "ContentInfo")?;
    ci.expect_oid(&oid::SIGNED_DATA, "ContentInfo content type (signedData)")?;
    let explicit = ci.next(tag::CONTEXT_0, "ContentInfo [0]")?;
    ci.finish("ContentInfo trailing data")?;
    let signed_data = asn1::single(explicit, tag::SEQUENCE, "SignedData")?;

    let mut sd = Items::new(signed_data.value, "SignedData")?;
    sd.expect_small_int(1, "SignedData version")?;
    let digest_algs = sd.next(tag::SET, "SignedData digestAlgorithms")?;
    let alg = asn1::single(digest_algs, tag::SEQUENCE, "SignedData digestAlgorithms")?;
    asn1::expect_alg_id(
        alg.value,
        &oid::SHA256,
        "SignedData digest algorithm (sha256)",
    )?;
    let env = encapsulated(sd.next(tag::SEQUENCE, "encapContentInfo")?)?;
    // certificates [0] and crls [1]: AWS writes none; skip them if a sender did.
    sd.next_if(tag::CONTEXT_0, "SignedData certificates")?;
    sd.next_if(tag::CONTEXT_1, "SignedData crls")?;
    let signer_infos = sd.next(tag::SET, "SignedData signerInfos")?;
    sd.finish("SignedData trailing data")?;
    let signer_info = asn1::single(signer_infos, tag::SEQUENCE, "SignerInfo (exactly one)")?;

    let mut si = Items::new(signer_info.value, "SignerInfo")?;
    si.expect_small_int(1, "SignerInfo version")?;
    let kdh = issuer_serial(si.next(tag::SEQUENCE, "SignerInfo issuerAndSerialNumber")?)?;
    let digest_alg = si.next(tag::SEQUENCE, "SignerInfo digestAlgorithm")?;
    asn1::expect_alg_id(
        digest_alg,
        &oid::SHA256,
        "SignerInfo digest algorithm (sha256)",
    )?;
    let signed_attrs = si.next_tlv(tag::CONTEXT_0, "SignerInfo signedAttrs")?;
    signature_alg(si.next(tag::SEQUENCE, "SignerInfo signatureAlgorithm")?)?;
    let signature = si.next(tag::OCTET_STRING, "SignerInfo signature")?;
    si.next_if(tag::CONTEXT_1, "SignerInfo unsignedAttrs")?;
    si.finish("SignerInfo trailing data")?;

    let attrs = attributes(signed_attrs.value)?;
    let enveloped = enveloped(env)?;
    Ok(Parsed {
        layout: enveloped.layout,
        signed_attrs: signed_attrs.raw,
        kdh,
        signature,
        env,
        header: attrs.header,
        freshness: attrs.freshness,
        message_digest: attrs.message_digest,
        krd: enveloped.krd,
        key_transport: KeyTransport::RsaOaepSha256,
        encrypted_key: enveloped.encrypted_key,
        cipher: enveloped.cipher,
        iv: enveloped.iv,
        ciphertext: enveloped.ciphertext,
    })
}

/// `SEQUENCE { OID envelopedData, [0] EXPLICIT OCTET STRING }` -> the octets (ENV).
fn encapsulated(value: &[u8]) -> Result<&[u8], Error> {
    let mut items = Items::new(value, "encapContentInfo")?;
    items.expect_oid(
        &oid::ENVELOPED_DATA,
        "encapContentInfo type (envelopedData)",
    )?;
    let explicit = items.next(tag::CONTEXT_0, "encapContentInfo [0]")?;
    items.finish("encapContentInfo trailing data")?;
    Ok(asn1::single(explicit, tag::OCTET_STRING, "encapContentInfo OCTET STRING")?.value)
}

/// `IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }`, content.
pub(super) fn issuer_serial(value: &[u8]) -> Result<IssuerSerial, Error> {
    let mut items = Items::new(value, "IssuerAndSerialNumber")?;
    let issuer = items.next_tlv(tag::SEQUENCE, "IssuerAndSerialNumber issuer")?;
    let serial = items.next(tag::INTEGER, "IssuerAndSerialNumber serialNumber")?;
    items.finish("IssuerAndSerialNumber trailing data")?;
    if serial.is_empty() {
        return Err(malformed("IssuerAndSerialNumber serialNumber"));
    }
    Ok(IssuerSerial {
        issuer_der: issuer.raw.to_vec(),
        serial: serial.to_vec(),
    })
}

fn signature_alg(value: &[u8]) -> Result<(), Error> {
    const WHAT: &str = "SignerInfo signatureAlgorithm";
    let mut items = Items::new(value, WHAT)?;
    let alg = items.next(tag::OID, WHAT)?;
    if alg == oid::RSA_ENCRYPTION.as_bytes() || alg == oid::SHA256_WITH_RSA.as_bytes() {
        asn1::absent_or_null(&mut items, WHAT)
    } else {
        Err(Error::Tr34Unsupported(
            "signature algorithm other than RSA PKCS#1 v1.5",
        ))
    }
}

struct Attributes<'a> {
    header: String,
    freshness: Freshness,
    message_digest: &'a [u8],
}

/// The one value of an attribute `SET`, which must carry `tag`.
fn only_value<'a>(values: &'a [u8], tag: u8, what: &'static str) -> Result<Tlv<'a>, Error> {
    asn1::single(values, tag, what)
}

/// Stores `value` in `slot` unless the attribute was already seen.
fn once<T>(slot: &mut Option<T>, value: T, what: &'static str) -> Result<(), Error> {
    if slot.replace(value).is_some() {
        Err(malformed(what))
    } else {
        Ok(())
    }
}

/// The key block header: printable ASCII, at least the 16 characters of the fixed part.
fn header_text(octets: &[u8], what: &'static str) -> Result<String, Error> {
    if octets.len() >= 16 && octets.iter().all(|b| (0x20..=0x7E).contains(b)) {
        String::from_utf8(octets.to_vec()).map_err(|_| malformed(what))
    } else {
        Err(malformed(what))
    }
}

/// The signedAttrs content: a sequence of `Attribute ::= SEQUENCE { OID, SET OF value }`.
fn attributes(value: &[u8]) -> Result<Attributes<'_>, Error> {
    let mut content_type = None;
    let mut nonce = None;
    let mut time = None;
    let mut header = None;
    let mut digest = None;
    let mut items = Items::new(value, "signedAttrs")?;
    while !items.is_empty() {
        let attribute = items.next(tag::SEQUENCE, "signed attribute")?;
        let mut parts = Items::new(attribute, "signed attribute")?;
        let id = parts.next(tag::OID, "signed attribute type")?;
        let values = parts.next(tag::SET, "signed attribute values")?;
        parts.finish("signed attribute trailing data")?;
        if id == oid::CONTENT_TYPE.as_bytes() {
            let v = only_value(values, tag::OID, "contentType attribute")?;
            if v.value != oid::ENVELOPED_DATA.as_bytes() {
                return Err(malformed("contentType attribute (envelopedData)"));
            }
            once(&mut content_type, (), "contentType attribute repeated")?;
        } else if id == oid::RANDOM_NONCE.as_bytes() {
            let v = only_value(values, tag::OCTET_STRING, "randomNonce attribute")?;
            once(
                &mut nonce,
                v.value.to_vec(),
                "randomNonce attribute repeated",
            )?;
        } else if id == oid::SIGNING_TIME.as_bytes() {
            let v = only_value(values, tag::UTC_TIME, "signingTime attribute")?;
            let t = UtcTime::from_der(v.raw).map_err(|_| malformed("signingTime attribute"))?;
            once(&mut time, SigningTime(t), "signingTime attribute repeated")?;
        } else if id == oid::DATA.as_bytes() {
            let v = only_value(values, tag::OCTET_STRING, "key block header attribute")?;
            let text = header_text(v.value, "key block header attribute")?;
            once(&mut header, text, "key block header attribute repeated")?;
        } else if id == oid::MESSAGE_DIGEST.as_bytes() {
            let v = only_value(values, tag::OCTET_STRING, "messageDigest attribute")?;
            once(&mut digest, v.value, "messageDigest attribute repeated")?;
        }
    }
    content_type.ok_or_else(|| malformed("contentType attribute missing"))?;
    let freshness = match (nonce, time) {
        (Some(n), None) => Freshness::RandomNonce(n),
        (None, Some(t)) => Freshness::SigningTime(t),
        (Some(_), Some(_)) => return Err(malformed("both randomNonce and signingTime")),
        (None, None) => return Err(malformed("neither randomNonce nor signingTime")),
    };
    Ok(Attributes {
        header: header.ok_or_else(|| malformed("key block header attribute missing"))?,
        freshness,
        message_digest: digest.ok_or_else(|| malformed("messageDigest attribute missing"))?,
    })
}

struct Enveloped<'a> {
    layout: Layout,
    krd: IssuerSerial,
    encrypted_key: &'a [u8],
    cipher: ContentCipher,
    iv: &'a [u8],
    ciphertext: &'a [u8],
}

/// ENV, in one of the three layouts (see [`Layout`]):
///
/// - AWS: `INTEGER 0 | SET { KeyTransRecipientInfo } | EncryptedContentInfo`, no outer
///   SEQUENCE, the ciphertext inside the content encryption AlgorithmIdentifier;
/// - TR-34-2019 annex B as published: the same fields in an EnvelopedData SEQUENCE;
/// - CMS (RFC 5652, the annex B samples of the 2019 corrigendum): an EnvelopedData
///   SEQUENCE whose EncryptedContentInfo carries the ciphertext after the algorithm.
///
/// The fourth combination (no SEQUENCE, ciphertext after the algorithm) is no known
/// sender's and is refused.
fn enveloped(env: &[u8]) -> Result<Enveloped<'_>, Error> {
    let mut outer = Items::new(env, "EnvelopedData")?;
    let (fields, in_sequence) = match outer.next_if(tag::SEQUENCE, "EnvelopedData")? {
        Some(sequence) => {
            outer.finish("EnvelopedData trailing data")?;
            (sequence.value, true)
        }
        None => (env, false),
    };
    let mut items = Items::new(fields, "EnvelopedData")?;
    items.expect_small_int(0, "EnvelopedData version")?;
    let recipients = items.next(tag::SET, "EnvelopedData recipientInfos")?;
    let eci = items.next(tag::SEQUENCE, "EncryptedContentInfo")?;
    items.finish("EnvelopedData trailing data")?;

    let recipient = asn1::single(recipients, tag::SEQUENCE, "RecipientInfo (exactly one)")?;
    let mut ri = Items::new(recipient.value, "RecipientInfo")?;
    ri.expect_small_int(0, "RecipientInfo version")?;
    let krd = issuer_serial(ri.next(tag::SEQUENCE, "RecipientInfo issuerAndSerialNumber")?)?;
    oaep_alg(ri.next(tag::SEQUENCE, "RecipientInfo keyEncryptionAlgorithm")?)?;
    let encrypted_key = ri.next(tag::OCTET_STRING, "RecipientInfo encryptedKey")?;
    ri.finish("RecipientInfo trailing data")?;

    let mut ec = Items::new(eci, "EncryptedContentInfo")?;
    ec.expect_oid(&oid::DATA, "EncryptedContentInfo content type (data)")?;
    let alg = ec.next(tag::SEQUENCE, "contentEncryptionAlgorithm")?;
    let after = ec.next_if(tag::CONTEXT_0_PRIMITIVE, "encryptedContent")?;
    ec.finish("EncryptedContentInfo trailing data")?;
    let mut ce = Items::new(alg, "contentEncryptionAlgorithm")?;
    let cipher_oid = ce.next(tag::OID, "contentEncryptionAlgorithm OID")?;
    let cipher = if cipher_oid == oid::DES_EDE3_CBC.as_bytes() {
        ContentCipher::Tdes
    } else if cipher_oid == oid::AES128_CBC.as_bytes() {
        ContentCipher::Aes128
    } else {
        return Err(Error::Tr34Unsupported(
            "content cipher other than des-ede3-cbc or aes128-CBC",
        ));
    };
    let iv = ce.next(tag::OCTET_STRING, "content encryption IV")?;
    let inside = ce.next_if(tag::CONTEXT_0_PRIMITIVE, "encryptedContent")?;
    ce.finish("contentEncryptionAlgorithm trailing data")?;
    let (layout, ciphertext) = match (in_sequence, inside, after) {
        (false, Some(ct), None) => (Layout::Aws, ct.value),
        (true, Some(ct), None) => (Layout::AnnexB2019, ct.value),
        (true, None, Some(ct)) => (Layout::Cms, ct.value),
        (_, Some(_), Some(_)) => return Err(malformed("encryptedContent given twice")),
        (_, None, None) => return Err(malformed("encryptedContent missing")),
        (false, None, Some(_)) => {
            return Err(malformed(
                "encryptedContent outside the algorithm without an EnvelopedData SEQUENCE",
            ));
        }
    };
    let block = cipher.block_len();
    if iv.len() != block {
        return Err(malformed("content encryption IV length"));
    }
    if ciphertext.is_empty() || ciphertext.len() % block != 0 {
        return Err(malformed("encryptedContent length"));
    }
    Ok(Enveloped {
        layout,
        krd,
        encrypted_key,
        cipher,
        iv,
        ciphertext,
    })
}

/// `SEQUENCE { rsaesOaep, SEQUENCE { hash, mgf, pSource } }` with the fields untagged (the
/// AWS form): only SHA-256, MGF1-SHA-256 and an empty label are accepted.
fn oaep_alg(value: &[u8]) -> Result<(), Error> {
    const WHAT: &str = "RSAES-OAEP parameters";
    let unsupported = Error::Tr34Unsupported(
        "key transport other than RSAES-OAEP with SHA-256, MGF1-SHA-256 and an empty label",
    );
    let mut items = Items::new(value, "keyEncryptionAlgorithm")?;
    if items.next(tag::OID, "keyEncryptionAlgorithm OID")? != oid::RSAES_OAEP.as_bytes() {
        return Err(unsupported);
    }
    let params = items.next(tag::SEQUENCE, WHAT)?;
    items.finish("keyEncryptionAlgorithm trailing data")?;

    let mut p = Items::new(params, WHAT)?;
    let hash = p.next(tag::SEQUENCE, "OAEP hash algorithm")?;
    let mgf = p.next(tag::SEQUENCE, "OAEP mask generation function")?;
    let source = p.next(tag::SEQUENCE, "OAEP label source")?;
    p.finish("RSAES-OAEP parameters trailing data")?;

    let mut h = Items::new(hash, "OAEP hash algorithm")?;
    if h.next(tag::OID, "OAEP hash algorithm")? != oid::SHA256.as_bytes() {
        return Err(unsupported);
    }
    asn1::absent_or_null(&mut h, "OAEP hash algorithm parameters")?;

    let mut m = Items::new(mgf, "OAEP mask generation function")?;
    if m.next(tag::OID, "OAEP mask generation function")? != oid::MGF1.as_bytes() {
        return Err(unsupported);
    }
    let mgf_hash = m.next(tag::SEQUENCE, "MGF1 hash algorithm")?;
    m.finish("OAEP mask generation function trailing data")?;
    let mut mh = Items::new(mgf_hash, "MGF1 hash algorithm")?;
    if mh.next(tag::OID, "MGF1 hash algorithm")? != oid::SHA256.as_bytes() {
        return Err(unsupported);
    }
    asn1::absent_or_null(&mut mh, "MGF1 hash algorithm parameters")?;

    let mut s = Items::new(source, "OAEP label source")?;
    if s.next(tag::OID, "OAEP label source")? != oid::P_SPECIFIED.as_bytes() {
        return Err(unsupported);
    }
    if !s.next(tag::OCTET_STRING, "OAEP label")?.is_empty() {
        return Err(unsupported);
    }
    s.finish("OAEP label source trailing data")
}

/// The decrypted content, PKCS#7 padding removed:
/// `SEQUENCE { INTEGER 1, IssuerAndSerialNumber, OCTET STRING key, SEQUENCE { id-data, SET { OCTET STRING header } } }`.
pub(super) struct Inner<'a> {
    pub kdh: IssuerSerial,
    pub key: &'a [u8],
    pub header: &'a [u8],
}

/// Parses the decrypted content. The SEQUENCE's own length says where the content ends;
/// what follows must be valid PKCS#7 padding (at most one block) or nothing, so blocks from
/// senders that pad only partial blocks open as well.
pub(super) fn inner(plaintext: &[u8], block_len: usize) -> Result<Inner<'_>, Error> {
    const WHAT: &str = "decrypted content";
    let sequence = Items::new(plaintext, WHAT)?.next_tlv(tag::SEQUENCE, WHAT)?;
    let content = sequence.value;
    // The TLV was read from the start of `plaintext`, so the padding follows it.
    let padding = plaintext.get(sequence.raw.len()..).unwrap_or_default();
    let pad_ok = padding.is_empty()
        || (padding.len() <= block_len && padding.iter().all(|b| usize::from(*b) == padding.len()));
    if !pad_ok {
        return Err(malformed("decrypted content padding"));
    }

    let mut c = Items::new(content, WHAT)?;
    c.expect_small_int(1, "decrypted content version")?;
    let kdh = issuer_serial(c.next(tag::SEQUENCE, "decrypted content KDH identity")?)?;
    let key = c.next(tag::OCTET_STRING, "decrypted content key")?;
    let header_seq = c.next(tag::SEQUENCE, "decrypted content header")?;
    c.finish("decrypted content trailing data")?;
    if key.is_empty() {
        return Err(malformed("decrypted content key"));
    }
    let mut h = Items::new(header_seq, "decrypted content header")?;
    h.expect_oid(&oid::DATA, "decrypted content header type (data)")?;
    let set = h.next(tag::SET, "decrypted content header")?;
    h.finish("decrypted content header trailing data")?;
    let header = asn1::single(set, tag::OCTET_STRING, "decrypted content header")?.value;
    Ok(Inner { kdh, key, header })
}
