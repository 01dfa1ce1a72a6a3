//! The string to sign, the derived signing key and the signature of SigV4.
//!
//! `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`
//! and the signature is the lower-case hex of `HMAC(kSigning, string_to_sign)`, where the
//! string to sign is the algorithm, the request timestamp, the credential scope and the
//! hex SHA-256 of the canonical request, one per line.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::time::Timestamp;

/// The only algorithm this crate verifies.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every credential scope.
pub(crate) const TERMINATOR: &str = "aws4_request";

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex of a 32-byte digest, written into place (`hex::encode` collects one `char`
/// at a time, and every request makes two of these).
pub(crate) fn digest_hex(digest: [u8; 32]) -> String {
    let mut text = [0u8; 64];
    hex::encode_to_slice(digest, &mut text).expect("64 hex digits for 32 bytes");
    String::from_utf8(text.to_vec()).expect("hex digits are ASCII")
}

/// The credential scope `date/region/service/aws4_request`.
pub(crate) fn scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

/// The string to sign for a canonical request whose SHA-256 (hex) is `canonical_hash`.
pub(crate) fn string_to_sign(timestamp: Timestamp, scope: &str, canonical_hash: &str) -> String {
    format!("{ALGORITHM}\n{timestamp}\n{scope}\n{canonical_hash}")
}

/// The lower-case hex signature of `string_to_sign` under the key derived from `secret`.
pub(crate) fn signature(
    secret: &str,
    date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> String {
    let mut key = Vec::with_capacity(4 + secret.len());
    key.extend_from_slice(b"AWS4");
    key.extend_from_slice(secret.as_bytes());
    let k_date = hmac_sha256(&key, date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, TERMINATOR.as_bytes());
    digest_hex(hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231, test case 2.
    #[test]
    fn hmac_matches_rfc_4231() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    // AWS General Reference, "Examples of how to derive a signing key for Signature
    // Version 4": secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
    #[test]
    fn derived_key_matches_the_documented_example() {
        let key = b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let k_date = hmac_sha256(key, b"20120215");
        let k_region = hmac_sha256(&k_date, b"us-east-1");
        let k_service = hmac_sha256(&k_region, b"iam");
        let k_signing = hmac_sha256(&k_service, b"aws4_request");
        assert_eq!(
            hex::encode(k_signing),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    // aws-c-auth signing test suite, post-unsigned-payload (header-string-to-sign.txt and
    // header-signature.txt, github.com/awslabs/aws-c-auth tests/aws-signing-test-suite/v4).
    #[test]
    fn signature_matches_the_test_suite() {
        let ts = Timestamp::parse_iso_basic("20150830T123600Z").unwrap();
        let sts = string_to_sign(
            ts,
            &scope("20150830", "us-east-1", "service"),
            "9dd145dbd195542d88539477304a02796be6488c02842b4fc1b907203adc8663",
        );
        assert_eq!(
            sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             9dd145dbd195542d88539477304a02796be6488c02842b4fc1b907203adc8663"
        );
        assert_eq!(
            signature(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "20150830",
                "us-east-1",
                "service",
                &sts
            ),
            "9fb60e8938d2178a7d63b49e055d1e65d8f6226f38846e8e0293bf43ce29050c"
        );
    }
}
