//! Property tests: no input makes the parsers, the wire reader or the validators panic,
//! whether it is random bytes, random text, or a real certificate with bytes altered.

mod common;

use std::sync::OnceLock;

use common::{NOW, ca, leaf};
use paycrypt_keyblock::keygen::AsymmetricAlgorithm as Alg;
use paycrypt_pki::*;
use proptest::prelude::*;

/// A real (CA, leaf) pair to mutate.
fn pair() -> &'static (Vec<u8>, Vec<u8>) {
    static PAIR: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let ca_der = ca(Alg::EccNistP256, "Fuzz CA");
        let leaf_der = leaf(
            &ca_der,
            Alg::EccNistP256,
            Alg::EccNistP256,
            LeafUsage::Signing,
        );
        (ca_der, leaf_der)
    })
}

/// Everything a caller might do with a parsed certificate.
fn exercise(cert: &Certificate, issuer: &Certificate) {
    let _ = (
        cert.subject(),
        cert.issuer(),
        cert.serial_hex(),
        cert.key_usage(),
    );
    let _ = cert.issuer_and_serial_der();
    let _ = cert.is_self_signed();
    let _ = verify_signature(cert, issuer);
    let _ = validate_root(cert, NOW);
    let _ = validate_chain(cert, std::slice::from_ref(issuer), issuer, NOW);
    let _ = validate_chain(cert, &[], issuer, NOW);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(cert) = Certificate::parse(&bytes) {
            exercise(&cert, &cert);
        }
    }

    #[test]
    fn parse_arbitrary_sequences(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        // A plausible outer SEQUENCE header makes the parser look further inside.
        let mut bytes = vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8];
        bytes.extend(body);
        let _ = Certificate::parse(&bytes);
    }

    #[test]
    fn wire_arbitrary_text(text in ".{0,400}") {
        let _ = from_wire(&text);
        let _ = from_wire_chain(&text);
    }

    #[test]
    fn wire_arbitrary_pem_bodies(body in "[A-Za-z0-9+/=\\s:-]{0,300}") {
        let text = format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        let _ = from_wire(&text);
    }

    #[test]
    fn mutated_certificates(
        which in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let (ca_der, leaf_der) = pair();
        let mut bytes = if which { ca_der.clone() } else { leaf_der.clone() };
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let ca = Certificate::parse(ca_der).unwrap();
        if let Ok(cert) = Certificate::parse(&bytes) {
            exercise(&cert, &ca);
            exercise(&ca, &cert);
        }
        let _ = from_wire(&to_wire(&bytes));
    }
}
