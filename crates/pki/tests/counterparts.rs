//! Independent counterparts, in both directions.
//!
//! - Our certificates and requests read by python's `cryptography` (`py/describe.py`:
//!   fields, extensions and criticality, key identifiers, `verify_directly_issued_by`,
//!   `is_signature_valid`) and by the `openssl` CLI (`openssl verify -x509_strict`,
//!   `openssl req -verify`).
//! - Certificates made by python's `cryptography` (`py/make_chains.py`) validated by us:
//!   the recorded set in `fixtures/python-chains/` always, a freshly generated set when
//!   python3 with `cryptography` is installed.
//!
//! A counterpart that is not installed is skipped with a message on stderr.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{CA_VALIDITY, LEAF_VALIDITY, NOW, ca, key, leaf};
use paycrypt_keyblock::keygen::AsymmetricAlgorithm as Alg;
use paycrypt_pki::*;
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn python_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: python3 with the `cryptography` package is not available");
    }
    ok
}

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: the openssl CLI is not available");
    }
    ok
}

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// Runs `py/describe.py` over `items` and returns its JSON array.
fn describe(items: &[String]) -> Vec<Value> {
    let out = Command::new("python3")
        .arg(tests_dir().join("py/describe.py"))
        .args(items)
        .output()
        .expect("run describe.py");
    assert!(
        out.status.success(),
        "describe.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).expect("describe.py JSON") {
        Value::Array(values) => values,
        other => panic!("describe.py printed {other}"),
    }
}

fn write_pem(dir: &Path, file: &str, text: &str) -> String {
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// The (CA key, leaf key, usage) combinations checked against the counterparts.
const MATRIX: [(Alg, Alg, LeafUsage); 6] = [
    (Alg::Rsa4096, Alg::Rsa2048, LeafUsage::Signing), // what AWS issues
    (Alg::Rsa2048, Alg::Rsa2048, LeafUsage::Wrapping),
    (Alg::Rsa3072, Alg::EccNistP256, LeafUsage::Wrapping),
    (Alg::EccNistP256, Alg::EccNistP256, LeafUsage::Signing),
    (Alg::EccNistP384, Alg::EccNistP256, LeafUsage::General),
    (Alg::EccNistP521, Alg::Rsa2048, LeafUsage::General),
];

fn expected_signature_oid(ca_alg: Alg) -> &'static str {
    match ca_alg {
        Alg::Rsa2048 | Alg::Rsa3072 | Alg::Rsa4096 => "1.2.840.113549.1.1.11",
        Alg::EccNistP256 => "1.2.840.10045.4.3.2",
        Alg::EccNistP384 => "1.2.840.10045.4.3.3",
        Alg::EccNistP521 => "1.2.840.10045.4.3.4",
    }
}

fn expected_leaf_bits(leaf_alg: Alg, usage: LeafUsage) -> Value {
    let rsa = !matches!(
        leaf_alg,
        Alg::EccNistP256 | Alg::EccNistP384 | Alg::EccNistP521
    );
    match (rsa, usage) {
        (true, _) => json!(["digital_signature", "key_encipherment"]),
        (false, LeafUsage::Signing) => json!(["digital_signature"]),
        (false, LeafUsage::Wrapping) => json!(["key_agreement"]),
        (false, LeafUsage::General) => json!(["digital_signature", "key_agreement"]),
    }
}

/// Checks the fields python reports for one of our certificates against our own reading.
fn assert_same_reading(py: &Value, ours: &Certificate) {
    assert_eq!(py["version"], 3);
    assert_eq!(py["serial_hex"], ours.serial_hex());
    assert_eq!(py["subject_der"], hex(ours.subject_der()));
    assert_eq!(py["issuer_der"], hex(ours.issuer_der()));
    assert_eq!(py["not_before"], ours.not_before());
    assert_eq!(py["not_after"], ours.not_after());
    assert_eq!(py["spki"], hex(ours.public_key_spki_der()));
    let ski = hex(ours.subject_key_identifier().unwrap());
    assert_eq!(py["ski"], ski);
    assert_eq!(py["ski_from_key"], ski, "SKI is RFC 5280 method 1");
    assert_eq!(py["verified_by_issuer"], true, "{py}");
    let key = &py["key"];
    match ours.public_key_algorithm() {
        KeyAlgorithm::Rsa { bits } => assert_eq!(key, &json!({"type": "rsa", "bits": bits})),
        KeyAlgorithm::Ec { curve } => {
            let name = match curve {
                EcCurve::P256 => "secp256r1",
                EcCurve::P384 => "secp384r1",
                EcCurve::P521 => "secp521r1",
            };
            assert_eq!(key, &json!({"type": "ec", "curve": name}));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn python_cryptography_reads_and_verifies_ours() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (n, (ca_alg, leaf_alg, usage)) in MATRIX.into_iter().enumerate() {
        let ca_der = ca(ca_alg, "paycrypt CA");
        let leaf_der = leaf(&ca_der, ca_alg, leaf_alg, usage);
        let ca_path = write_pem(dir.path(), &format!("ca{n}.pem"), &to_pem(&ca_der));
        let leaf_path = write_pem(dir.path(), &format!("leaf{n}.pem"), &to_pem(&leaf_der));
        let report = describe(&[
            format!("cert:{ca_path}:{ca_path}"),
            format!("cert:{leaf_path}:{ca_path}"),
        ]);
        let (ca, leaf) = (
            Certificate::parse(&ca_der).unwrap(),
            Certificate::parse(&leaf_der).unwrap(),
        );
        let what = format!("{ca_alg:?} CA, {leaf_alg:?} {usage:?} leaf");

        let py_ca = &report[0];
        assert_same_reading(py_ca, &ca);
        assert_eq!(py_ca["not_before"], CA_VALIDITY.not_before);
        assert_eq!(py_ca["subject"], "CN=paycrypt CA,O=111122223333");
        assert_eq!(
            py_ca["signature_oid"],
            expected_signature_oid(ca_alg),
            "{what}"
        );
        assert_eq!(
            py_ca["basic_constraints"],
            json!({"critical": true, "ca": true, "path_length": null})
        );
        assert_eq!(
            py_ca["key_usage"],
            json!({"critical": true, "bits": ["digital_signature", "key_cert_sign", "crl_sign"]})
        );
        assert_eq!(py_ca.get("aki"), None);

        let py_leaf = &report[1];
        assert_same_reading(py_leaf, &leaf);
        assert_eq!(py_leaf["not_after"], LEAF_VALIDITY.not_after);
        assert_eq!(py_leaf["issuer_der"], hex(ca.subject_der()));
        assert_eq!(
            py_leaf["signature_oid"],
            expected_signature_oid(ca_alg),
            "{what}"
        );
        assert_eq!(
            py_leaf["basic_constraints"],
            json!({"critical": true, "ca": false, "path_length": null})
        );
        assert_eq!(
            py_leaf["key_usage"],
            json!({"critical": true, "bits": expected_leaf_bits(leaf_alg, usage)}),
            "{what}"
        );
        assert_eq!(py_leaf["aki"], hex(ca.subject_key_identifier().unwrap()));
        assert_eq!(
            py_leaf["extension_oids"],
            json!(["2.5.29.19", "2.5.29.15", "2.5.29.14", "2.5.29.35"])
        );
    }
}

#[test]
fn python_cryptography_verifies_our_csrs() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let subject = SubjectFields {
        common_name: "Payment HSM".into(),
        organization: Some("Example Corp".into()),
        organizational_unit: Some("Payments".into()),
        country: Some("US".into()),
        state_or_province: Some("Washington".into()),
        locality: Some("Seattle".into()),
        email_address: Some("pki@example.com".into()),
    };
    for alg in [
        Alg::Rsa2048,
        Alg::Rsa4096,
        Alg::EccNistP256,
        Alg::EccNistP521,
    ] {
        let k = key(alg);
        let der =
            certificate_signing_request(k.private_pkcs8_der.expose(), &k.public_spki_der, &subject)
                .unwrap();
        let path = write_pem(dir.path(), "req.pem", &pem_of_csr(&der));
        let py = &describe(&[format!("csr:{path}")])[0];
        assert_eq!(py["signature_valid"], true, "{alg:?}");
        assert_eq!(py["spki"], hex(&k.public_spki_der));
        assert_eq!(py["attribute_count"], 0);
        assert_eq!(py["extension_count"], 0);
        assert_eq!(
            py["subject"],
            "1.2.840.113549.1.9.1=pki@example.com,CN=Payment HSM,OU=Payments,O=Example Corp,L=Seattle,ST=Washington,C=US"
        );
    }
}

/// The PEM text inside [`csr_to_wire`]'s base64.
fn pem_of_csr(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD
        .decode(csr_to_wire(der))
        .unwrap();
    String::from_utf8(text).unwrap()
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn openssl_verifies_ours() {
    if !openssl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let at = NOW.to_string();
    for (n, (ca_alg, leaf_alg, usage)) in MATRIX.into_iter().enumerate() {
        let ca_der = ca(ca_alg, "paycrypt CA");
        let leaf_der = leaf(&ca_der, ca_alg, leaf_alg, usage);
        let ca_path = write_pem(dir.path(), &format!("ca{n}.pem"), &to_pem(&ca_der));
        let leaf_path = write_pem(dir.path(), &format!("leaf{n}.pem"), &to_pem(&leaf_der));
        for target in [&ca_path, &leaf_path] {
            let (ok, text) = openssl(&[
                "verify",
                "-x509_strict",
                "-attime",
                &at,
                "-CAfile",
                &ca_path,
                target,
            ]);
            assert!(
                ok && text.contains(": OK"),
                "{ca_alg:?}/{leaf_alg:?}: {text}"
            );
        }
    }
    // The harness can fail: a leaf checked against a different CA of the same name.
    let ca_der = ca(Alg::Rsa2048, "paycrypt CA");
    let other_ca = ca(Alg::Rsa3072, "paycrypt CA");
    let leaf_der = leaf(&ca_der, Alg::Rsa2048, Alg::Rsa2048, LeafUsage::Signing);
    let other_path = write_pem(dir.path(), "other.pem", &to_pem(&other_ca));
    let leaf_path = write_pem(dir.path(), "leaf.pem", &to_pem(&leaf_der));
    let (ok, text) = openssl(&["verify", "-attime", &at, "-CAfile", &other_path, &leaf_path]);
    assert!(!ok, "{text}");

    for alg in [Alg::Rsa2048, Alg::EccNistP384] {
        let k = key(alg);
        let der = certificate_signing_request(
            k.private_pkcs8_der.expose(),
            &k.public_spki_der,
            &SubjectFields::new("openssl check"),
        )
        .unwrap();
        let path = write_pem(dir.path(), "req.pem", &pem_of_csr(&der));
        let (ok, text) = openssl(&["req", "-in", &path, "-noout", "-verify"]);
        assert!(ok && text.contains("verify OK"), "{alg:?}: {text}");
    }
}

fn variant(e: &ChainError) -> &'static str {
    match e {
        ChainError::BadSignature { .. } => "BadSignature",
        ChainError::NotYetValid { .. } => "NotYetValid",
        ChainError::Expired { .. } => "Expired",
        ChainError::IssuerNotCa { .. } => "IssuerNotCa",
        ChainError::IssuerLacksKeyCertSign { .. } => "IssuerLacksKeyCertSign",
        ChainError::IssuerNameMismatch { .. } => "IssuerNameMismatch",
        ChainError::RootNotSelfSigned { .. } => "RootNotSelfSigned",
        ChainError::StrongerThanIssuer { .. } => "StrongerThanIssuer",
        ChainError::PathLengthExceeded { .. } => "PathLengthExceeded",
        ChainError::UnknownCriticalExtension { .. } => "UnknownCriticalExtension",
        ChainError::UnsupportedKey { .. } => "UnsupportedKey",
        _ => "unknown variant",
    }
}

fn role(r: CertRole) -> String {
    match r {
        CertRole::Leaf => "leaf".into(),
        CertRole::Intermediate(i) => format!("intermediate{i}"),
        CertRole::Root => "root".into(),
    }
}

/// Validates every case of a `make_chains.py` output directory against its manifest and
/// returns the parsed certificates by file name.
fn check_python_chains(dir: &Path) -> std::collections::BTreeMap<String, Certificate> {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut certs = std::collections::BTreeMap::new();
    let mut load = |file: &Value| -> Certificate {
        let file = file.as_str().unwrap();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let der = from_wire(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        // Our wire form of their DER reads back the same.
        assert_eq!(from_wire(&to_wire(&der)).unwrap(), der);
        let cert = Certificate::parse(&der).unwrap_or_else(|e| panic!("{file}: {e}"));
        certs.insert(file.to_string(), cert.clone());
        cert
    };
    let cases = manifest.as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let leaf = load(&case["leaf"]);
        let intermediates: Vec<Certificate> = case["intermediates"]
            .as_array()
            .unwrap()
            .iter()
            .map(&mut load)
            .collect();
        let root = load(&case["root"]);
        let now = case["now"].as_i64().unwrap();
        let result = validate_chain(&leaf, &intermediates, &root, now);
        match (case["expect"].as_str().unwrap(), result) {
            ("ok", Ok(())) => {}
            ("ok", Err(e)) => panic!("{name}: {e}"),
            (expected, Ok(())) => panic!("{name}: passed, expected {expected}"),
            (expected, Err(e)) => {
                assert_eq!(variant(&e), expected, "{name}: {e}");
                assert_eq!(
                    role(e.cert().role),
                    case["role"].as_str().unwrap(),
                    "{name}: {e}"
                );
            }
        }
    }
    certs
}

#[test]
fn recorded_python_chains() {
    let certs = check_python_chains(&tests_dir().join("fixtures/python-chains"));
    // A few facts of foreign certificates, read by us.
    let pss = &certs["rsa-pss-leaf.pem"];
    assert_eq!(
        pss.signature_algorithm(),
        Some(SignatureAlgorithm::RsaPss(HashAlgorithm::Sha256))
    );
    let sha512 = &certs["rsa-sha384-sha512-root.pem"];
    assert_eq!(
        sha512.signature_algorithm(),
        Some(SignatureAlgorithm::RsaPkcs1(HashAlgorithm::Sha512))
    );
    assert!(sha512.is_self_signed());
    let ed = &certs["ed25519-leaf-leaf.pem"];
    assert_eq!(
        ed.public_key_algorithm(),
        &KeyAlgorithm::Unsupported {
            oid: "1.3.101.112".into()
        }
    );
    assert_eq!(certs["ed25519-root-root.pem"].signature_algorithm(), None);
    assert_eq!(
        certs["unknown-critical-extension-leaf.pem"].unrecognised_critical_extensions(),
        ["1.3.6.1.4.1.55555.1"]
    );
    assert!(
        certs["unknown-noncritical-extension-leaf.pem"]
            .unrecognised_critical_extensions()
            .is_empty()
    );
    assert_eq!(certs["path-length-root.pem"].path_len_constraint(), Some(0));
    let three = &certs["rsa-three-level-leaf.pem"];
    assert_eq!(three.subject(), "CN=RSA Leaf,O=paycrypt tests,C=US");
    assert_eq!(three.issuer(), "CN=RSA Intermediate,O=paycrypt tests,C=US");
    assert_eq!(three.not_before(), 1_704_067_200); // 2024-01-01
    assert_eq!(three.not_after(), 2_019_686_400); // 2034-01-01
    assert_eq!(
        three.authority_key_identifier(),
        certs["rsa-three-level-int0.pem"].subject_key_identifier()
    );
    // The IssuerAndSerialNumber of a foreign certificate starts with its issuer name.
    let ias = three.issuer_and_serial_der().unwrap();
    assert!(
        ias.windows(three.issuer_der().len())
            .any(|w| w == three.issuer_der())
    );
}

#[test]
fn fresh_python_chains() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("python3")
        .arg(tests_dir().join("py/make_chains.py"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    check_python_chains(dir.path());
}
