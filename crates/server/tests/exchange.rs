//! Key exchange through the AWS SDK for Rust, the way a payment engineer runs it against AWS:
//! the TR-34 export seed flow (import a CA, GetParametersForExport, ExportKey, open the block as
//! the receiving party), a key moved between two accounts purely through the API, TR-31 and key
//! cryptogram round trips, and the refusals that keep keys safe.

mod common;

use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::types::{
    As2805KeyVariant, ExportAs2805KeyCryptogram, ExportKeyCryptogram, ExportKeyMaterial,
    ExportTr31KeyBlock, ExportTr34KeyBlock, ImportAs2805KeyCryptogram, ImportKeyCryptogram,
    ImportKeyMaterial, ImportTr31KeyBlock, ImportTr34KeyBlock, KeyAlgorithm, KeyAttributes,
    KeyClass, KeyMaterialType, KeyModesOfUse, KeyUsage, RootCertificatePublicKey,
    Tr34KeyBlockFormat,
};
use common::{code, code_and_message, start};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm, KeyPair};
use paycrypt_pki::{Certificate, LeafUsage, SubjectFields, ValidityPeriod};

/// A party outside paycrypt (an HSM, another service): its own CA and a certificate for one of
/// its RSA keys, issued by that CA.
struct Party {
    ca_der: Vec<u8>,
    key: KeyPair,
    cert_der: Vec<u8>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn party(key_algorithm: AsymmetricAlgorithm) -> Party {
    let ca_key = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa4096).unwrap();
    let validity = ValidityPeriod {
        not_before: now_secs() - 3600,
        not_after: now_secs() + 30 * 86_400,
    };
    let ca_der = paycrypt_pki::create_ca(
        &ca_key,
        &SubjectFields::new("HSM test CA"),
        validity,
        [7; 16],
    )
    .unwrap();
    let key = keygen::generate_key_pair(key_algorithm).unwrap();
    let cert_der = paycrypt_pki::issue_leaf(
        &ca_der,
        ca_key.private_pkcs8_der.expose(),
        &key.public_spki_der,
        &SubjectFields::new("HSM key"),
        validity,
        [9; 16],
        LeafUsage::General,
    )
    .unwrap();
    Party {
        ca_der,
        key,
        cert_der,
    }
}

fn modes(encrypt: bool, decrypt: bool, wrap: bool, unwrap: bool) -> KeyModesOfUse {
    KeyModesOfUse::builder()
        .encrypt(encrypt)
        .decrypt(decrypt)
        .wrap(wrap)
        .unwrap(unwrap)
        .build()
}

fn symmetric(usage: KeyUsage, algorithm: KeyAlgorithm) -> KeyAttributes {
    KeyAttributes::builder()
        .key_usage(usage)
        .key_class(KeyClass::SymmetricKey)
        .key_algorithm(algorithm)
        .key_modes_of_use(modes(true, true, true, true))
        .build()
        .unwrap()
}

async fn create(client: &Client, algorithm: KeyAlgorithm, exportable: bool) -> (String, String) {
    let key = client
        .create_key()
        .key_attributes(symmetric(KeyUsage::Tr31K0KeyEncryptionKey, algorithm))
        .exportable(exportable)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    (key.key_arn, key.key_check_value)
}

/// ImportKey of a CA certificate as a trusted root; returns its key ARN.
async fn import_root(client: &Client, ca_der: &[u8], algorithm: KeyAlgorithm) -> String {
    let attributes = KeyAttributes::builder()
        .key_usage(KeyUsage::Tr31S0AsymmetricKeyForDigitalSignature)
        .key_class(KeyClass::PublicKey)
        .key_algorithm(algorithm)
        .key_modes_of_use(KeyModesOfUse::builder().verify(true).build())
        .build()
        .unwrap();
    let material = ImportKeyMaterial::RootCertificatePublicKey(
        RootCertificatePublicKey::builder()
            .key_attributes(attributes)
            .public_key_certificate(paycrypt_pki::to_wire(ca_der))
            .build()
            .unwrap(),
    );
    let key = client
        .import_key()
        .key_material(material)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(key.key_origin.as_str(), "EXTERNAL");
    assert_eq!(key.key_attributes.unwrap().key_class, KeyClass::PublicKey);
    key.key_arn
}

fn tdes_kcv(key: &[u8]) -> String {
    use des::cipher::{BlockCipherEncrypt, KeyInit};
    let full = [key, &key[..8]].concat();
    let cipher = des::TdesEde3::new_from_slice(if key.len() == 16 { &full } else { key }).unwrap();
    let mut block = [0u8; 8].into();
    cipher.encrypt_block(&mut block);
    hex::encode_upper(&block[..3])
}

#[tokio::test]
async fn tr34_export_seed_flow_opens_at_the_receiving_party() {
    let server = start().await;
    let client = server.client();
    let krd = party(AsymmetricAlgorithm::Rsa2048);
    let ca_arn = import_root(&client, &krd.ca_der, KeyAlgorithm::Rsa4096).await;

    let params = client
        .get_parameters_for_export()
        .key_material_type(KeyMaterialType::Tr34KeyBlock)
        .signing_key_algorithm(KeyAlgorithm::Rsa2048)
        .send()
        .await
        .unwrap();
    assert!(params.export_token.starts_with("export-token-"));
    assert_eq!(params.export_token.len(), "export-token-".len() + 16);
    assert!(params.signing_key_certificate.starts_with("LS0tLS1CRUdJTi"));
    let validity = params.parameters_valid_until_timestamp.secs() - server.clock_secs();
    assert!(
        (7 * 86_400 - 5..=7 * 86_400).contains(&validity),
        "{validity}"
    );
    let kdh_der = paycrypt_pki::from_wire(&params.signing_key_certificate).unwrap();
    let kdh = Certificate::parse(&kdh_der).unwrap();
    let chain = Certificate::parse(
        &paycrypt_pki::from_wire(&params.signing_key_certificate_chain).unwrap(),
    )
    .unwrap();
    paycrypt_pki::validate_chain(&kdh, &[], &chain, server.clock_secs()).unwrap();
    // The certificate covers the token's lifetime; one made ready by the key pool ahead of the
    // request outlives the token by at most an hour.
    let until = params.parameters_valid_until_timestamp.secs();
    assert!(
        (until..=until + 3600).contains(&kdh.not_after()),
        "{} {until}",
        kdh.not_after()
    );

    for (algorithm, nonce) in [
        (KeyAlgorithm::Tdes2Key, Some("0102030405060708")),
        (KeyAlgorithm::Tdes3Key, None),
    ] {
        let (arn, kcv) = create(&client, algorithm.clone(), true).await;
        let mut tr34 = ExportTr34KeyBlock::builder()
            .certificate_authority_public_key_identifier(&ca_arn)
            .wrapping_key_certificate(paycrypt_pki::to_wire(&krd.cert_der))
            .export_token(&params.export_token)
            .key_block_format(Tr34KeyBlockFormat::X9Tr342012);
        if let Some(nonce) = nonce {
            tr34 = tr34.random_nonce(nonce);
        }
        let wrapped = client
            .export_key()
            .export_key_identifier(&arn)
            .key_material(ExportKeyMaterial::Tr34KeyBlock(tr34.build().unwrap()))
            .send()
            .await
            .unwrap()
            .wrapped_key
            .unwrap();
        assert_eq!(
            wrapped.wrapped_key_material_format.as_str(),
            "TR34_KEY_BLOCK"
        );
        assert_eq!(wrapped.key_check_value.as_deref(), Some(kcv.as_str()));
        let block = hex::decode(&wrapped.key_material).unwrap();
        let expected_nonce = nonce.map(|n| hex::decode(n).unwrap());
        let opened = paycrypt_keyblock::tr34::open(
            &block,
            &krd.cert_der,
            krd.key.private_pkcs8_der.expose(),
            &kdh_der,
            expected_nonce.as_deref(),
        )
        .unwrap();
        assert!(opened.header.starts_with("D0112K0T"), "{}", opened.header);
        assert_eq!(
            tdes_kcv(opened.key.expose()),
            kcv,
            "check 7: KCV of the clear key"
        );
    }
}

#[tokio::test]
async fn a_key_moves_between_accounts_through_the_api() {
    let server = start().await;
    let a = server.client();
    let b = server.client_as("other", "other-secret", common::REGION, 0);

    // B's import parameters and A's export parameters; each imports the other's CA as a root.
    let import = b
        .get_parameters_for_import()
        .key_material_type(KeyMaterialType::Tr34KeyBlock)
        .wrapping_key_algorithm(KeyAlgorithm::Rsa2048)
        .send()
        .await
        .unwrap();
    let export = a
        .get_parameters_for_export()
        .key_material_type(KeyMaterialType::Tr34KeyBlock)
        .signing_key_algorithm(KeyAlgorithm::Rsa2048)
        .send()
        .await
        .unwrap();
    let b_ca = paycrypt_pki::from_wire(&import.wrapping_key_certificate_chain).unwrap();
    let a_ca = paycrypt_pki::from_wire(&export.signing_key_certificate_chain).unwrap();
    let b_ca_in_a = import_root(&a, &b_ca, KeyAlgorithm::Rsa4096).await;
    let a_ca_in_b = import_root(&b, &a_ca, KeyAlgorithm::Rsa4096).await;

    let (arn, kcv) = create(&a, KeyAlgorithm::Tdes3Key, true).await;
    let nonce = "A1B2C3D4E5F60718";
    let wrapped = a
        .export_key()
        .export_key_identifier(&arn)
        .key_material(ExportKeyMaterial::Tr34KeyBlock(
            ExportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&b_ca_in_a)
                .wrapping_key_certificate(&import.wrapping_key_certificate)
                .export_token(&export.export_token)
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .random_nonce(nonce)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    let imported = b
        .import_key()
        .key_material(ImportKeyMaterial::Tr34KeyBlock(
            ImportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&a_ca_in_b)
                .signing_key_certificate(&export.signing_key_certificate)
                .import_token(&import.import_token)
                .wrapped_key_block(&wrapped.key_material)
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .random_nonce(nonce)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(imported.key_check_value, kcv);
    assert_eq!(imported.key_origin.as_str(), "EXTERNAL");
    assert!(imported.key_arn.contains(":444455556666:key/"));
    let attrs = imported.key_attributes.unwrap();
    assert_eq!(attrs.key_algorithm, KeyAlgorithm::Tdes3Key);
    assert_eq!(attrs.key_usage, KeyUsage::Tr31K0KeyEncryptionKey);

    // The token belongs to A: B cannot export with it.
    let (b_key, _) = create(&b, KeyAlgorithm::Tdes2Key, true).await;
    let stolen = b
        .export_key()
        .export_key_identifier(&b_key)
        .key_material(ExportKeyMaterial::Tr34KeyBlock(
            ExportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&a_ca_in_b)
                .wrapping_key_certificate(&export.signing_key_certificate)
                .export_token(&export.export_token)
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .build()
                .unwrap(),
        ))
        .send()
        .await;
    assert_eq!(code(stolen), "ValidationException");

    // A tampered block is refused and imports nothing.
    let before = b.list_keys().send().await.unwrap().keys.len();
    let mut tampered = hex::decode(&wrapped.key_material).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let refused = b
        .import_key()
        .key_material(ImportKeyMaterial::Tr34KeyBlock(
            ImportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&a_ca_in_b)
                .signing_key_certificate(&export.signing_key_certificate)
                .import_token(&import.import_token)
                .wrapped_key_block(hex::encode_upper(tampered))
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .random_nonce(nonce)
                .build()
                .unwrap(),
        ))
        .send()
        .await;
    assert_eq!(code(refused), "ValidationException");
    assert_eq!(b.list_keys().send().await.unwrap().keys.len(), before);
}

#[tokio::test]
async fn tr31_round_trip_and_the_rules_that_keep_keys_safe() {
    let server = start().await;
    let client = server.client();
    let (kek, _) = create(&client, KeyAlgorithm::Aes256, false).await;
    let (tdes_kek, _) = create(&client, KeyAlgorithm::Tdes2Key, false).await;
    let (key, kcv) = create(&client, KeyAlgorithm::Aes128, true).await;

    let export = |identifier: String, wrapping: String| {
        client
            .export_key()
            .export_key_identifier(identifier)
            .key_material(ExportKeyMaterial::Tr31KeyBlock(
                ExportTr31KeyBlock::builder()
                    .wrapping_key_identifier(wrapping)
                    .build()
                    .unwrap(),
            ))
            .send()
    };
    let wrapped = export(key.clone(), kek.clone())
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    assert!(
        wrapped.key_material.starts_with('D'),
        "version D under an AES KEK"
    );
    assert_eq!(wrapped.key_check_value.as_deref(), Some(kcv.as_str()));
    let imported = client
        .import_key()
        .key_material(ImportKeyMaterial::Tr31KeyBlock(
            ImportTr31KeyBlock::builder()
                .wrapping_key_identifier(&kek)
                .wrapped_key_block(&wrapped.key_material)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(imported.key_check_value, kcv);

    // A TDES KEK cannot wrap an AES-128 key; a non-exportable key cannot leave; a disabled or
    // pending key cannot either.
    assert_eq!(
        code(export(key.clone(), tdes_kek.clone()).await),
        "ValidationException"
    );
    assert_eq!(
        code(export(kek.clone(), tdes_kek.clone()).await),
        "ValidationException"
    );
    client
        .stop_key_usage()
        .key_identifier(&key)
        .send()
        .await
        .unwrap();
    let (error, message) = code_and_message(export(key.clone(), kek.clone()).await);
    assert_eq!(error, "ValidationException");
    assert!(message.contains("disabled"), "{message}");
    client
        .start_key_usage()
        .key_identifier(&key)
        .send()
        .await
        .unwrap();
    client
        .delete_key()
        .key_identifier(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(code(export(key, kek).await), "ValidationException");
}

#[tokio::test]
async fn key_cryptogram_import_and_export() {
    let server = start().await;
    let client = server.client();
    let params = client
        .get_parameters_for_import()
        .key_material_type(KeyMaterialType::KeyCryptogram)
        .wrapping_key_algorithm(KeyAlgorithm::Rsa3072)
        .send()
        .await
        .unwrap();
    assert!(params.import_token.starts_with("import-token-"));
    let wrapping =
        Certificate::parse(&paycrypt_pki::from_wire(&params.wrapping_key_certificate).unwrap())
            .unwrap();
    let clear = hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap();
    let cryptogram = paycrypt_keyblock::cryptogram::wrap_key(
        wrapping.public_key_spki_der(),
        paycrypt_keyblock::cryptogram::OaepHash::Sha256,
        &clear,
    )
    .unwrap();
    let imported = client
        .import_key()
        .key_material(ImportKeyMaterial::KeyCryptogram(
            ImportKeyCryptogram::builder()
                .key_attributes(symmetric(
                    KeyUsage::Tr31K0KeyEncryptionKey,
                    KeyAlgorithm::Tdes2Key,
                ))
                .exportable(true)
                .wrapped_key_cryptogram(hex::encode_upper(cryptogram))
                .import_token(&params.import_token)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    // Published check value of this test key (shared/reference/tr31-kcv.md).
    assert_eq!(imported.key_check_value, "08D7B4");

    // And out again, to a party's certificate under its imported CA.
    let receiver = party(AsymmetricAlgorithm::Rsa2048);
    let ca_arn = import_root(&client, &receiver.ca_der, KeyAlgorithm::Rsa4096).await;
    let wrapped = client
        .export_key()
        .export_key_identifier(&imported.key_arn)
        .key_material(ExportKeyMaterial::KeyCryptogram(
            ExportKeyCryptogram::builder()
                .certificate_authority_public_key_identifier(&ca_arn)
                .wrapping_key_certificate(paycrypt_pki::to_wire(&receiver.cert_der))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    let unwrapped = paycrypt_keyblock::cryptogram::unwrap_key(
        receiver.key.private_pkcs8_der.expose(),
        paycrypt_keyblock::cryptogram::OaepHash::Sha256,
        &hex::decode(&wrapped.key_material).unwrap(),
    )
    .unwrap();
    assert_eq!(unwrapped.expose(), clear.as_slice());

    // A certificate that does not chain to the named CA is refused.
    let stranger = party(AsymmetricAlgorithm::Rsa2048);
    let refused = client
        .export_key()
        .export_key_identifier(&imported.key_arn)
        .key_material(ExportKeyMaterial::KeyCryptogram(
            ExportKeyCryptogram::builder()
                .certificate_authority_public_key_identifier(&ca_arn)
                .wrapping_key_certificate(paycrypt_pki::to_wire(&stranger.cert_der))
                .build()
                .unwrap(),
        ))
        .send()
        .await;
    assert_eq!(code(refused), "ValidationException");
}

#[tokio::test]
async fn export_tokens_expire_and_can_be_reused() {
    let server = start().await;
    let client = server.client();
    let first = client
        .get_parameters_for_export()
        .key_material_type(KeyMaterialType::Tr34KeyBlock)
        .signing_key_algorithm(KeyAlgorithm::Rsa2048)
        .send()
        .await
        .unwrap();
    let reused = client
        .get_parameters_for_export()
        .key_material_type(KeyMaterialType::Tr34KeyBlock)
        .signing_key_algorithm(KeyAlgorithm::Rsa2048)
        .reuse_last_generated_token(true)
        .send()
        .await
        .unwrap();
    assert_eq!(reused.export_token, first.export_token);
    assert_eq!(
        reused.signing_key_certificate,
        first.signing_key_certificate
    );

    let krd = party(AsymmetricAlgorithm::Rsa2048);
    let ca_arn = import_root(&client, &krd.ca_der, KeyAlgorithm::Rsa4096).await;
    let (arn, _) = create(&client, KeyAlgorithm::Tdes2Key, true).await;
    server.advance_days(7);
    let expired = client
        .export_key()
        .export_key_identifier(&arn)
        .key_material(ExportKeyMaterial::Tr34KeyBlock(
            ExportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&ca_arn)
                .wrapping_key_certificate(paycrypt_pki::to_wire(&krd.cert_der))
                .export_token(&first.export_token)
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .build()
                .unwrap(),
        ))
        .send()
        .await;
    let (error, message) = code_and_message(expired);
    assert_eq!(error, "ValidationException");
    assert!(message.contains("expired"), "{message}");
    // Six days later the old token has too little time left to be reused.
    let fresh = client
        .get_parameters_for_export()
        .key_material_type(KeyMaterialType::Tr34KeyBlock)
        .signing_key_algorithm(KeyAlgorithm::Rsa2048)
        .reuse_last_generated_token(true)
        .send()
        .await
        .unwrap();
    assert_ne!(fresh.export_token, first.export_token);

    for (material, algorithm, needle) in [
        (
            KeyMaterialType::Tr34KeyBlock,
            KeyAlgorithm::Rsa3072,
            "RSA_2048 is the only signing key algorithm allowed",
        ),
        (
            KeyMaterialType::Tr31KeyBlock,
            KeyAlgorithm::Rsa2048,
            "needs no export parameters",
        ),
        (
            KeyMaterialType::RootPublicKeyCertificate,
            KeyAlgorithm::Rsa2048,
            "needs no export parameters",
        ),
    ] {
        let (error, message) = code_and_message(
            client
                .get_parameters_for_export()
                .key_material_type(material)
                .signing_key_algorithm(algorithm)
                .send()
                .await,
        );
        assert_eq!(error, "ValidationException");
        assert!(message.contains(needle), "{message}");
    }
}

#[tokio::test]
async fn public_key_certificate_and_signing_request_of_a_key_pair() {
    use aws_sdk_paymentcryptography::types::{CertificateSubjectType, SigningAlgorithmType};
    use sha1::Digest;
    let server = start().await;
    let client = server.client();
    let attributes = KeyAttributes::builder()
        .key_usage(KeyUsage::Tr31S0AsymmetricKeyForDigitalSignature)
        .key_class(KeyClass::AsymmetricKeyPair)
        .key_algorithm(KeyAlgorithm::Rsa2048)
        .key_modes_of_use(KeyModesOfUse::builder().sign(true).build())
        .build()
        .unwrap();
    let key = client
        .create_key()
        .key_attributes(attributes)
        .exportable(false)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    let got = client
        .get_public_key_certificate()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap();
    let cert = Certificate::parse(&paycrypt_pki::from_wire(&got.key_certificate).unwrap()).unwrap();
    let chain =
        Certificate::parse(&paycrypt_pki::from_wire(&got.key_certificate_chain).unwrap()).unwrap();
    paycrypt_pki::validate_chain(&cert, &[], &chain, server.clock_secs()).unwrap();
    let spki = cert.public_key_spki_der();
    assert_eq!(
        hex::encode_upper(&sha1::Sha1::digest(spki)[..4]),
        key.key_check_value
    );

    let csr = client
        .get_certificate_signing_request()
        .key_identifier(&key.key_arn)
        .signing_algorithm(SigningAlgorithmType::Sha256)
        .certificate_subject(
            CertificateSubjectType::builder()
                .common_name("terminal-signing")
                .organization("Example Payments")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .certificate_signing_request;
    let pem = String::from_utf8(base64_decode(&csr)).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64_decode(&body);
    assert!(
        der.windows(spki.len()).any(|w| w == spki),
        "CSR carries the key's public key"
    );
    assert!(der.windows(16).any(|w| w == b"terminal-signing"));

    let wrong_hash = client
        .get_certificate_signing_request()
        .key_identifier(&key.key_arn)
        .signing_algorithm(SigningAlgorithmType::Sha512)
        .certificate_subject(
            CertificateSubjectType::builder()
                .common_name("x")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(wrong_hash), "ValidationException");
    let (kek, _) = create(&client, KeyAlgorithm::Aes128, false).await;
    let symmetric_cert = client
        .get_public_key_certificate()
        .key_identifier(&kek)
        .send()
        .await;
    assert_eq!(code(symmetric_cert), "ValidationException");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use aws_smithy_types::base64;
    base64::decode(text).unwrap()
}

#[tokio::test]
async fn ecdh_moves_a_key_between_accounts_in_a_tr31_block() {
    use aws_sdk_paymentcryptography::types::{
        DeriveKeyUsage, DiffieHellmanDerivationData, ExportDiffieHellmanTr31KeyBlock,
        ImportDiffieHellmanTr31KeyBlock, KeyDerivationFunction, KeyDerivationHashAlgorithm,
        SymmetricKeyAlgorithm,
    };
    let server = start().await;
    let a = server.client();
    let b = server.client_as("other", "other-secret", common::REGION, 0);

    // Each side: a K3 key pair and a certificate for it from its own account CA.
    let mut sides = Vec::new();
    for client in [&a, &b] {
        let attributes = KeyAttributes::builder()
            .key_usage(KeyUsage::Tr31K3AsymmetricKeyForKeyAgreement)
            .key_class(KeyClass::AsymmetricKeyPair)
            .key_algorithm(KeyAlgorithm::EccNistP256)
            .key_modes_of_use(KeyModesOfUse::builder().derive_key(true).build())
            .build()
            .unwrap();
        let key = client
            .create_key()
            .key_attributes(attributes)
            .exportable(false)
            .derive_key_usage(DeriveKeyUsage::Tr31K1KeyBlockProtectionKey)
            .send()
            .await
            .unwrap()
            .key
            .unwrap();
        let cert = client
            .get_public_key_certificate()
            .key_identifier(&key.key_arn)
            .send()
            .await
            .unwrap();
        sides.push((
            key.key_arn,
            cert.key_certificate,
            cert.key_certificate_chain,
        ));
    }
    let (a_k3, a_cert, a_chain) = &sides[0];
    let (b_k3, b_cert, b_chain) = &sides[1];
    let b_ca_in_a = import_root(
        &a,
        &paycrypt_pki::from_wire(b_chain).unwrap(),
        KeyAlgorithm::Rsa4096,
    )
    .await;
    let a_ca_in_b = import_root(
        &b,
        &paycrypt_pki::from_wire(a_chain).unwrap(),
        KeyAlgorithm::Rsa4096,
    )
    .await;

    let (key, kcv) = create(&a, KeyAlgorithm::Tdes3Key, true).await;
    let shared = DiffieHellmanDerivationData::SharedInformation("0A0B0C0D0E0F1011".into());
    let wrapped = a
        .export_key()
        .export_key_identifier(&key)
        .key_material(ExportKeyMaterial::DiffieHellmanTr31KeyBlock(
            ExportDiffieHellmanTr31KeyBlock::builder()
                .private_key_identifier(a_k3)
                .certificate_authority_public_key_identifier(&b_ca_in_a)
                .public_key_certificate(b_cert)
                .derive_key_algorithm(SymmetricKeyAlgorithm::Aes256)
                .key_derivation_function(KeyDerivationFunction::NistSp800)
                .key_derivation_hash_algorithm(KeyDerivationHashAlgorithm::Sha256)
                .derivation_data(shared.clone())
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    assert!(
        wrapped.key_material.starts_with('D'),
        "AES-derived KBPK: version D"
    );

    let import = |kdf: KeyDerivationFunction| {
        b.import_key()
            .key_material(ImportKeyMaterial::DiffieHellmanTr31KeyBlock(
                ImportDiffieHellmanTr31KeyBlock::builder()
                    .private_key_identifier(b_k3)
                    .certificate_authority_public_key_identifier(&a_ca_in_b)
                    .public_key_certificate(a_cert)
                    .derive_key_algorithm(SymmetricKeyAlgorithm::Aes256)
                    .key_derivation_function(kdf)
                    .key_derivation_hash_algorithm(KeyDerivationHashAlgorithm::Sha256)
                    .derivation_data(shared.clone())
                    .wrapped_key_block(&wrapped.key_material)
                    .build()
                    .unwrap(),
            ))
            .send()
    };
    // Another KDF derives another key, which the block's MAC refuses.
    assert_eq!(
        code(import(KeyDerivationFunction::AnsiX963).await),
        "ValidationException"
    );
    let imported = import(KeyDerivationFunction::NistSp800)
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(imported.key_check_value, kcv);
    assert_eq!(
        imported.key_attributes.unwrap().key_algorithm,
        KeyAlgorithm::Tdes3Key
    );
}

/// A generated key pair and the certificate the account CA issues for it.
async fn key_pair_with_certificate(
    client: &Client,
    usage: KeyUsage,
    modes: KeyModesOfUse,
) -> (String, String, String) {
    let attributes = KeyAttributes::builder()
        .key_usage(usage)
        .key_class(KeyClass::AsymmetricKeyPair)
        .key_algorithm(KeyAlgorithm::Rsa2048)
        .key_modes_of_use(modes)
        .build()
        .unwrap();
    let key = client
        .create_key()
        .key_attributes(attributes)
        .exportable(false)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    let cert = client
        .get_public_key_certificate()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap();
    (
        key.key_arn,
        cert.key_certificate,
        cert.key_certificate_chain,
    )
}

#[tokio::test]
async fn tr34_with_account_key_pairs_instead_of_tokens() {
    let server = start().await;
    let a = server.client();
    let b = server.client_as("other", "other-secret", common::REGION, 0);
    let (signer, signer_cert, a_chain) = key_pair_with_certificate(
        &a,
        KeyUsage::Tr31S0AsymmetricKeyForDigitalSignature,
        KeyModesOfUse::builder().sign(true).build(),
    )
    .await;
    let (receiver, receiver_cert, b_chain) = key_pair_with_certificate(
        &b,
        KeyUsage::Tr31K2Tr34AsymmetricKey,
        modes(false, true, false, true),
    )
    .await;
    let b_ca_in_a = import_root(
        &a,
        &paycrypt_pki::from_wire(&b_chain).unwrap(),
        KeyAlgorithm::Rsa4096,
    )
    .await;
    let a_ca_in_b = import_root(
        &b,
        &paycrypt_pki::from_wire(&a_chain).unwrap(),
        KeyAlgorithm::Rsa4096,
    )
    .await;

    let (key, kcv) = create(&a, KeyAlgorithm::Tdes2Key, true).await;
    let export = |certificate: String| {
        a.export_key()
            .export_key_identifier(&key)
            .key_material(ExportKeyMaterial::Tr34KeyBlock(
                ExportTr34KeyBlock::builder()
                    .certificate_authority_public_key_identifier(&b_ca_in_a)
                    .wrapping_key_certificate(&receiver_cert)
                    .signing_key_identifier(&signer)
                    .signing_key_certificate(certificate)
                    .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                    .build()
                    .unwrap(),
            ))
            .send()
    };
    // A certificate for another key than the signing key is refused.
    assert_eq!(
        code(export(receiver_cert.clone()).await),
        "ValidationException"
    );
    let wrapped = export(signer_cert.clone())
        .await
        .unwrap()
        .wrapped_key
        .unwrap();

    let imported = b
        .import_key()
        .key_material(ImportKeyMaterial::Tr34KeyBlock(
            ImportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&a_ca_in_b)
                .signing_key_certificate(&signer_cert)
                .wrapping_key_identifier(&receiver)
                .wrapping_key_certificate(&receiver_cert)
                .wrapped_key_block(&wrapped.key_material)
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(imported.key_check_value, kcv);
}

#[tokio::test]
async fn a_key_moves_between_accounts_as_a_key_cryptogram() {
    let server = start().await;
    let a = server.client();
    let b = server.client_as("other", "other-secret", common::REGION, 0);
    let import = b
        .get_parameters_for_import()
        .key_material_type(KeyMaterialType::KeyCryptogram)
        .wrapping_key_algorithm(KeyAlgorithm::Rsa4096)
        .send()
        .await
        .unwrap();
    let b_ca = paycrypt_pki::from_wire(&import.wrapping_key_certificate_chain).unwrap();
    let b_ca_in_a = import_root(&a, &b_ca, KeyAlgorithm::Rsa4096).await;
    let (key, kcv) = create(&a, KeyAlgorithm::Aes128, true).await;
    let wrapped = a
        .export_key()
        .export_key_identifier(&key)
        .key_material(ExportKeyMaterial::KeyCryptogram(
            ExportKeyCryptogram::builder()
                .certificate_authority_public_key_identifier(&b_ca_in_a)
                .wrapping_key_certificate(&import.wrapping_key_certificate)
                .wrapping_spec(aws_sdk_paymentcryptography::types::WrappingKeySpec::RsaOaepSha512)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    assert_eq!(
        wrapped.wrapped_key_material_format.as_str(),
        "KEY_CRYPTOGRAM"
    );
    let imported = b
        .import_key()
        .key_material(ImportKeyMaterial::KeyCryptogram(
            ImportKeyCryptogram::builder()
                .key_attributes(symmetric(
                    KeyUsage::Tr31K0KeyEncryptionKey,
                    KeyAlgorithm::Aes128,
                ))
                .exportable(true)
                .wrapped_key_cryptogram(&wrapped.key_material)
                .import_token(&import.import_token)
                .wrapping_spec(aws_sdk_paymentcryptography::types::WrappingKeySpec::RsaOaepSha512)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(imported.key_check_value, kcv);
    assert!(imported.key_arn.contains(":444455556666:key/"));
}

#[tokio::test]
async fn as2805_key_cryptogram_round_trip() {
    let server = start().await;
    let client = server.client();
    let (kek, _) = create(&client, KeyAlgorithm::Tdes2Key, false).await;
    let pin = client
        .create_key()
        .key_attributes(symmetric(
            KeyUsage::Tr31P0PinEncryptionKey,
            KeyAlgorithm::Tdes2Key,
        ))
        .exportable(true)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    let export = |variant: As2805KeyVariant| {
        client
            .export_key()
            .export_key_identifier(&pin.key_arn)
            .key_material(ExportKeyMaterial::As2805KeyCryptogram(
                ExportAs2805KeyCryptogram::builder()
                    .wrapping_key_identifier(&kek)
                    .as2805_key_variant(variant)
                    .build()
                    .unwrap(),
            ))
            .send()
    };
    let wrapped = export(As2805KeyVariant::PinEncryptionKeyVariant28)
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    assert_eq!(
        wrapped.wrapped_key_material_format.as_str(),
        "KEY_CRYPTOGRAM"
    );
    assert_eq!(wrapped.key_material.len(), 32);
    assert_eq!(
        wrapped.key_check_value.as_deref(),
        Some(pin.key_check_value.as_str())
    );
    // The variant must name the key's usage.
    let (error, message) =
        code_and_message(export(As2805KeyVariant::DataEncryptionKeyVariant22).await);
    assert_eq!(error, "ValidationException");
    assert!(message.contains("TR31_D0"), "{message}");

    let imported = client
        .import_key()
        .key_material(ImportKeyMaterial::As2805KeyCryptogram(
            ImportAs2805KeyCryptogram::builder()
                .as2805_key_variant(As2805KeyVariant::PinEncryptionKeyVariant28)
                .key_modes_of_use(modes(true, true, true, true))
                .key_algorithm(KeyAlgorithm::Tdes2Key)
                .exportable(false)
                .wrapping_key_identifier(&kek)
                .wrapped_key_cryptogram(&wrapped.key_material)
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(imported.key_check_value, pin.key_check_value);
    let attributes = imported.key_attributes.unwrap();
    assert_eq!(attributes.key_usage, KeyUsage::Tr31P0PinEncryptionKey);
    assert!(!imported.exportable);
}

/// Export tokens from a server with an RSA key pool: every token has its own key pair (no two
/// certificates share a public key, also once the pool has run dry and refilled), its
/// certificate covers its lifetime and chains to the account CA, and every token (those made
/// ready by the pool ahead of their request among them) signs a TR-34 block the receiving party
/// opens. A pool of 0 still answers with distinct key pairs.
#[tokio::test]
async fn export_tokens_never_share_a_key_pair_with_or_without_a_pool() {
    for pool_size in [4, 0] {
        let server = common::start_with_key_pool(pool_size).await;
        let client = server.client();
        let mut public_keys = std::collections::HashSet::new();
        let mut tokens = Vec::new();
        for _ in 0..12 {
            let params = client
                .get_parameters_for_export()
                .key_material_type(KeyMaterialType::Tr34KeyBlock)
                .signing_key_algorithm(KeyAlgorithm::Rsa2048)
                .send()
                .await
                .unwrap();
            let der = paycrypt_pki::from_wire(&params.signing_key_certificate).unwrap();
            let certificate = Certificate::parse(&der).unwrap();
            let chain = paycrypt_pki::from_wire(&params.signing_key_certificate_chain).unwrap();
            let chain = Certificate::parse(&chain).unwrap();
            paycrypt_pki::validate_chain(&certificate, &[], &chain, server.clock_secs()).unwrap();
            let until = params.parameters_valid_until_timestamp.secs();
            assert!((until..=until + 3600).contains(&certificate.not_after()));
            let spki = certificate.public_key_spki_der().to_vec();
            assert!(
                public_keys.insert(spki),
                "pool {pool_size}: two tokens share a key pair"
            );
            tokens.push(params.export_token);
        }
        assert_eq!(public_keys.len(), 12);

        let krd = party(AsymmetricAlgorithm::Rsa2048);
        let ca_arn = import_root(&client, &krd.ca_der, KeyAlgorithm::Rsa4096).await;
        let (arn, kcv) = create(&client, KeyAlgorithm::Tdes3Key, true).await;
        for token in &tokens {
            let tr34 = ExportTr34KeyBlock::builder()
                .certificate_authority_public_key_identifier(&ca_arn)
                .wrapping_key_certificate(paycrypt_pki::to_wire(&krd.cert_der))
                .export_token(token)
                .key_block_format(Tr34KeyBlockFormat::X9Tr342012)
                .build()
                .unwrap();
            let wrapped = client
                .export_key()
                .export_key_identifier(&arn)
                .key_material(ExportKeyMaterial::Tr34KeyBlock(tr34))
                .send()
                .await
                .unwrap()
                .wrapped_key
                .unwrap();
            assert_eq!(wrapped.key_check_value.as_deref(), Some(kcv.as_str()));
        }
    }
}
