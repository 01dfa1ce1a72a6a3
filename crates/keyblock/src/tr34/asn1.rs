//! DER plumbing for TR-34: the object identifiers the layout uses, a reader that walks one
//! level of TLVs (headers and lengths decoded by the `der` crate, which rejects
//! non-canonical and indefinite lengths), and a writer that emits TLVs.
//!
//! Tags are compared as single octets: every tag in the layout has a number below 31, so
//! its identifier octet is the whole tag, and a multi-octet tag can never match one.

use der::asn1::ObjectIdentifier;
use der::{Header, Reader, SliceReader};

use crate::error::Error;

/// Universal and context-specific tag octets used by the layout.
pub(super) mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTC_TIME: u8 = 0x17;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[0]` constructed: EXPLICIT wrappers and the IMPLICIT signedAttrs SET.
    pub const CONTEXT_0: u8 = 0xA0;
    /// `[1]` constructed: CMS `crls` and `unsignedAttrs` (skipped when present).
    pub const CONTEXT_1: u8 = 0xA1;
    /// `[0]` primitive: the encrypted content, IMPLICIT OCTET STRING.
    pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;
}

/// Object identifiers (RFC 5652, RFC 8017, RFC 5911, NIST CSOR, PKCS #9).
pub(super) mod oid {
    use super::ObjectIdentifier;

    pub const DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
    pub const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
    pub const ENVELOPED_DATA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
    pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const RSA_ENCRYPTION: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    pub const SHA256_WITH_RSA: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
    pub const RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
    pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
    pub const P_SPECIFIED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.9");
    pub const CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
    pub const MESSAGE_DIGEST: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
    pub const SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
    pub const RANDOM_NONCE: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.25.3");
    pub const DES_EDE3_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.7");
    pub const AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
}

/// One decoded TLV: its tag octet, its full encoding and its content octets.
#[derive(Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub value: &'a [u8],
}

/// Walks the TLVs of one constructed value (or of a whole input) in order.
pub(super) struct Items<'a> {
    reader: SliceReader<'a>,
}

fn malformed(what: &'static str) -> Error {
    Error::Tr34Malformed(what)
}

impl<'a> Items<'a> {
    /// Starts reading `bytes`; `what` names the enclosing value in errors.
    pub fn new(bytes: &'a [u8], what: &'static str) -> Result<Self, Error> {
        SliceReader::new(bytes)
            .map(|reader| Self { reader })
            .map_err(|_| malformed(what))
    }

    /// True when every TLV was read.
    pub fn is_empty(&self) -> bool {
        self.reader.is_finished()
    }

    /// The next TLV, whatever its tag.
    pub fn next_any(&mut self, what: &'static str) -> Result<Tlv<'a>, Error> {
        let header = Header::peek(&self.reader).map_err(|_| malformed(what))?;
        let len = usize::try_from(header.length()).map_err(|_| malformed(what))?;
        let raw = self.reader.tlv_bytes().map_err(|_| malformed(what))?;
        let tag = *raw.first().ok_or_else(|| malformed(what))?;
        let value = raw
            .get(raw.len().saturating_sub(len)..)
            .ok_or_else(|| malformed(what))?;
        Ok(Tlv { tag, raw, value })
    }

    /// The next TLV, which must carry `tag`.
    pub fn next_tlv(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Error> {
        let tlv = self.next_any(what)?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(malformed(what))
        }
    }

    /// The content octets of the next TLV, which must carry `tag`.
    pub fn next(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], Error> {
        self.next_tlv(tag, what).map(|t| t.value)
    }

    /// The next TLV if it carries `tag`; nothing (and nothing consumed) otherwise.
    pub fn next_if(&mut self, tag: u8, what: &'static str) -> Result<Option<Tlv<'a>>, Error> {
        match self.reader.peek_byte() {
            Some(t) if t == tag => self.next_tlv(tag, what).map(Some),
            _ => Ok(None),
        }
    }

    /// The next TLV must be an OBJECT IDENTIFIER equal to `expected`.
    pub fn expect_oid(
        &mut self,
        expected: &ObjectIdentifier,
        what: &'static str,
    ) -> Result<(), Error> {
        if self.next(tag::OID, what)? == expected.as_bytes() {
            Ok(())
        } else {
            Err(malformed(what))
        }
    }

    /// The next TLV must be the INTEGER `expected` (a small non-negative value).
    pub fn expect_small_int(&mut self, expected: u8, what: &'static str) -> Result<(), Error> {
        if self.next(tag::INTEGER, what)? == [expected] {
            Ok(())
        } else {
            Err(malformed(what))
        }
    }

    /// Fails unless every TLV was read.
    pub fn finish(&self, what: &'static str) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(malformed(what))
        }
    }
}

/// The single TLV that makes up all of `bytes`, which must carry `tag`.
pub(super) fn single<'a>(bytes: &'a [u8], tag: u8, what: &'static str) -> Result<Tlv<'a>, Error> {
    let mut items = Items::new(bytes, what)?;
    let tlv = items.next_tlv(tag, what)?;
    items.finish(what)?;
    Ok(tlv)
}

/// Checks an AlgorithmIdentifier's parameters: absent or NULL.
pub(super) fn absent_or_null(items: &mut Items<'_>, what: &'static str) -> Result<(), Error> {
    if let Some(null) = items.next_if(tag::NULL, what)?
        && !null.value.is_empty()
    {
        return Err(malformed(what));
    }
    items.finish(what)
}

/// Reads `SEQUENCE { OID expected, NULL or nothing }` as the content of `alg_id`.
pub(super) fn expect_alg_id(
    alg_id: &[u8],
    expected: &ObjectIdentifier,
    what: &'static str,
) -> Result<(), Error> {
    let mut items = Items::new(alg_id, what)?;
    items.expect_oid(expected, what)?;
    absent_or_null(&mut items, what)
}

/// Appends the DER length octets for `len` (short form below 128, else long form).
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Number of octets a TLV with `content_len` content octets takes.
pub(super) fn tlv_len(content_len: usize) -> usize {
    let len_octets = if content_len < 0x80 {
        1
    } else {
        1 + (usize::BITS as usize / 8 - content_len.leading_zeros() as usize / 8)
    };
    1 + len_octets + content_len
}

/// Appends `tag | length | concatenation of parts` to `out`.
pub(super) fn push_tlv(out: &mut Vec<u8>, tag: u8, parts: &[&[u8]]) {
    out.push(tag);
    push_len(out, parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// `tag | length | concatenation of parts` as a new vector.
pub(super) fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let content: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(tlv_len(content));
    push_tlv(&mut out, tag, parts);
    out
}

/// An OBJECT IDENTIFIER TLV.
pub(super) fn oid_tlv(oid: &ObjectIdentifier) -> Vec<u8> {
    tlv(tag::OID, &[oid.as_bytes()])
}

/// `SEQUENCE { OID, NULL }` when `null` is set, else `SEQUENCE { OID }`.
pub(super) fn alg_id(oid: &ObjectIdentifier, null: bool) -> Vec<u8> {
    let params: &[u8] = if null { &[tag::NULL, 0] } else { &[] };
    tlv(tag::SEQUENCE, &[&oid_tlv(oid), params])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_through_the_der_reader() {
        for len in [0usize, 1, 127, 128, 255, 256, 65535, 65536, 70000] {
            let content = vec![0xAB; len];
            let encoded = tlv(tag::OCTET_STRING, &[&content]);
            assert_eq!(encoded.len(), tlv_len(len), "{len}");
            let parsed = single(&encoded, tag::OCTET_STRING, "test").unwrap();
            assert_eq!(parsed.value.len(), len);
            assert_eq!(parsed.raw, encoded.as_slice());
        }
    }

    #[test]
    fn reader_rejects_bad_der() {
        // Non-minimal length, indefinite length, truncation, trailing bytes, wrong tag.
        for bad in [
            &[0x04, 0x81, 0x01, 0x00][..],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x04, 0x05, 0x00],
            &[0x04, 0x00, 0x00],
            &[0x02, 0x01, 0x00],
            &[],
        ] {
            assert_eq!(
                single(bad, tag::OCTET_STRING, "test").map(|_| ()),
                Err(Error::Tr34Malformed("test")),
                "{bad:02X?}"
            );
        }
    }

    #[test]
    fn oids_encode_as_published() {
        // sha256 as in the AWS blocks: 06 09 60 86 48 01 65 03 04 02 01.
        assert_eq!(
            oid_tlv(&oid::SHA256),
            [
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
            ]
        );
        assert_eq!(alg_id(&oid::RSA_ENCRYPTION, true).len(), 15);
    }
}
