//! Writing the parts of a TR-34 key block in the AWS layout: the plaintext inside the
//! envelope, the enveloped part (ENV), the signed attributes and the outer SignedData.
//! Pure encoding; the cryptography is done by the caller in `mod.rs`.

use zeroize::Zeroizing;

use super::asn1::{self, oid, tag, tlv};
use super::{ContentCipher, Freshness, IssuerSerial};

impl IssuerSerial {
    /// `IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER }`.
    pub(super) fn to_der(&self) -> Vec<u8> {
        tlv(
            tag::SEQUENCE,
            &[&self.issuer_der, &tlv(tag::INTEGER, &[&self.serial])],
        )
    }
}

/// `SEQUENCE { OID id-data, SET { OCTET STRING header } }`.
fn header_attribute_value(header: &[u8]) -> Vec<u8> {
    tlv(
        tag::SEQUENCE,
        &[
            &asn1::oid_tlv(&oid::DATA),
            &tlv(tag::SET, &[&tlv(tag::OCTET_STRING, &[header])]),
        ],
    )
}

/// The content to encrypt, PKCS#7 padded to `block_len`:
/// `SEQUENCE { INTEGER 1, IssuerAndSerialNumber, OCTET STRING key, SEQUENCE { id-data, SET { OCTET STRING header } } }`.
///
/// Built in buffers allocated once at their final size, so the key is never left behind
/// in a reallocated copy; both buffers are wiped on drop.
pub(super) fn plaintext(
    kdh: &IssuerSerial,
    key: &[u8],
    header: &[u8],
    block_len: usize,
) -> Zeroizing<Vec<u8>> {
    let version = [tag::INTEGER, 1, 1];
    let kdh = kdh.to_der();
    let header = header_attribute_value(header);
    let body_len = version.len() + kdh.len() + asn1::tlv_len(key.len()) + header.len();
    let mut body = Zeroizing::new(Vec::with_capacity(body_len));
    body.extend_from_slice(&version);
    body.extend_from_slice(&kdh);
    asn1::push_tlv(&mut body, tag::OCTET_STRING, &[key]);
    body.extend_from_slice(&header);

    let total = asn1::tlv_len(body.len());
    let pad = block_len - total % block_len;
    let mut out = Zeroizing::new(Vec::with_capacity(total + pad));
    asn1::push_tlv(&mut out, tag::SEQUENCE, &[&body]);
    out.resize(total + pad, pad as u8);
    out
}

/// The content encryption AlgorithmIdentifier with the ciphertext inside it (AWS quirk 3):
/// `SEQUENCE { OID cipher, OCTET STRING iv, [0] IMPLICIT ciphertext }`.
fn content_encryption(cipher: ContentCipher, iv: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    tlv(
        tag::SEQUENCE,
        &[
            &asn1::oid_tlv(cipher.oid_const()),
            &tlv(tag::OCTET_STRING, &[iv]),
            &tlv(tag::CONTEXT_0_PRIMITIVE, &[ciphertext]),
        ],
    )
}

/// RSAES-OAEP with SHA-256, MGF1-SHA-256 and an empty label, the parameters untagged and
/// the MGF1 hash without NULL (AWS quirk 2).
fn oaep_algorithm() -> Vec<u8> {
    let params = tlv(
        tag::SEQUENCE,
        &[
            &asn1::alg_id(&oid::SHA256, true),
            &tlv(
                tag::SEQUENCE,
                &[
                    &asn1::oid_tlv(&oid::MGF1),
                    &asn1::alg_id(&oid::SHA256, false),
                ],
            ),
            &tlv(
                tag::SEQUENCE,
                &[
                    &asn1::oid_tlv(&oid::P_SPECIFIED),
                    &tlv(tag::OCTET_STRING, &[]),
                ],
            ),
        ],
    );
    tlv(tag::SEQUENCE, &[&asn1::oid_tlv(&oid::RSAES_OAEP), &params])
}

/// What goes into the enveloped part.
pub(super) struct Envelope<'a> {
    pub krd: &'a IssuerSerial,
    pub encrypted_key: &'a [u8],
    pub cipher: ContentCipher,
    pub iv: &'a [u8],
    pub ciphertext: &'a [u8],
}

/// ENV: the EnvelopedData fields concatenated without an outer SEQUENCE (AWS quirk 1).
pub(super) fn envelope(e: &Envelope<'_>) -> Vec<u8> {
    let recipient = tlv(
        tag::SEQUENCE,
        &[
            &[tag::INTEGER, 1, 0],
            &e.krd.to_der(),
            &oaep_algorithm(),
            &tlv(tag::OCTET_STRING, &[e.encrypted_key]),
        ],
    );
    let encrypted_content_info = tlv(
        tag::SEQUENCE,
        &[
            &asn1::oid_tlv(&oid::DATA),
            &content_encryption(e.cipher, e.iv, e.ciphertext),
        ],
    );
    [
        &[tag::INTEGER, 1, 0][..],
        &tlv(tag::SET, &[&recipient]),
        &encrypted_content_info,
    ]
    .concat()
}

/// `Attribute ::= SEQUENCE { OID, SET { value } }`.
fn attribute(id: &der::asn1::ObjectIdentifier, value: &[u8]) -> Vec<u8> {
    tlv(
        tag::SEQUENCE,
        &[&asn1::oid_tlv(id), &tlv(tag::SET, &[value])],
    )
}

/// The content of signedAttrs, in the AWS order: contentType, randomNonce or signingTime,
/// id-data (the header), messageDigest.
pub(super) fn signed_attributes(header: &[u8], freshness: &Freshness, digest: &[u8]) -> Vec<u8> {
    let fresh = match freshness {
        Freshness::RandomNonce(nonce) => {
            attribute(&oid::RANDOM_NONCE, &tlv(tag::OCTET_STRING, &[nonce]))
        }
        Freshness::SigningTime(time) => attribute(&oid::SIGNING_TIME, &time.to_der()),
    };
    [
        attribute(&oid::CONTENT_TYPE, &asn1::oid_tlv(&oid::ENVELOPED_DATA)),
        fresh,
        attribute(&oid::DATA, &tlv(tag::OCTET_STRING, &[header])),
        attribute(&oid::MESSAGE_DIGEST, &tlv(tag::OCTET_STRING, &[digest])),
    ]
    .concat()
}

/// The whole block: ContentInfo { signedData, [0] SignedData { ... } }.
pub(super) fn signed_data(
    env: &[u8],
    kdh: &IssuerSerial,
    signed_attrs: &[u8],
    signature: &[u8],
) -> Vec<u8> {
    let sha256 = asn1::alg_id(&oid::SHA256, false);
    let encap = tlv(
        tag::SEQUENCE,
        &[
            &asn1::oid_tlv(&oid::ENVELOPED_DATA),
            &tlv(tag::CONTEXT_0, &[&tlv(tag::OCTET_STRING, &[env])]),
        ],
    );
    let signer_info = tlv(
        tag::SEQUENCE,
        &[
            &[tag::INTEGER, 1, 1],
            &kdh.to_der(),
            &sha256,
            &tlv(tag::CONTEXT_0, &[signed_attrs]),
            &asn1::alg_id(&oid::RSA_ENCRYPTION, true),
            &tlv(tag::OCTET_STRING, &[signature]),
        ],
    );
    let signed_data = tlv(
        tag::SEQUENCE,
        &[
            &[tag::INTEGER, 1, 1],
            &tlv(tag::SET, &[&sha256]),
            &encap,
            &tlv(tag::SET, &[&signer_info]),
        ],
    );
    tlv(
        tag::SEQUENCE,
        &[
            &asn1::oid_tlv(&oid::SIGNED_DATA),
            &tlv(tag::CONTEXT_0, &[&signed_data]),
        ],
    )
}
