//! The key lifecycle through the AWS SDK for Rust: CreateKey for every algorithm, the attribute
//! table, key check values against an independent computation on the stored material, deletion
//! windows on a test clock, usage, pagination, quotas and account/region isolation.

mod common;

use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::types::{
    KeyAlgorithm, KeyAttributes, KeyCheckValueAlgorithm, KeyClass, KeyModesOfUse, KeyOrigin,
    KeyState, KeyUsage,
};
use common::{ACCOUNT, MASTER_KEY, REGION, code, code_and_message, start, start_with};
use paycrypt_service::{Limits, Sealer};

fn modes(names: &[&str]) -> KeyModesOfUse {
    let on = |n: &str| names.contains(&n);
    KeyModesOfUse::builder()
        .encrypt(on("Encrypt"))
        .decrypt(on("Decrypt"))
        .wrap(on("Wrap"))
        .unwrap(on("Unwrap"))
        .generate(on("Generate"))
        .sign(on("Sign"))
        .verify(on("Verify"))
        .derive_key(on("DeriveKey"))
        .no_restrictions(on("NoRestrictions"))
        .build()
}

fn attributes(usage: &str, class: &str, algorithm: &str, mode_names: &[&str]) -> KeyAttributes {
    KeyAttributes::builder()
        .key_usage(KeyUsage::from(usage))
        .key_class(KeyClass::from(class))
        .key_algorithm(KeyAlgorithm::from(algorithm))
        .key_modes_of_use(modes(mode_names))
        .build()
        .unwrap()
}

const WRAP_MODES: &[&str] = &["Encrypt", "Decrypt", "Wrap", "Unwrap"];

async fn create(
    client: &Client,
    usage: &str,
    class: &str,
    algorithm: &str,
    m: &[&str],
) -> aws_sdk_paymentcryptography::types::Key {
    client
        .create_key()
        .key_attributes(attributes(usage, class, algorithm, m))
        .exportable(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateKey {usage} {algorithm} {m:?}: {e:?}"))
        .key
        .unwrap()
}

async fn create_kek(client: &Client) -> aws_sdk_paymentcryptography::types::Key {
    create(
        client,
        "TR31_K0_KEY_ENCRYPTION_KEY",
        "SYMMETRIC_KEY",
        "TDES_2KEY",
        WRAP_MODES,
    )
    .await
}

/// Key check values computed here with RustCrypto primitives, independently of paycrypt's
/// keyblock crate.
mod independent_kcv {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    use cmac::Mac;

    pub fn tdes_ecb_zero(key: &[u8]) -> String {
        let full: Vec<u8> = if key.len() == 16 {
            [key, &key[..8]].concat()
        } else {
            key.to_vec()
        };
        let cipher = des::TdesEde3::new_from_slice(&full).unwrap();
        let mut block = [0u8; 8].into();
        cipher.encrypt_block(&mut block);
        hex::encode_upper(&block[..3])
    }

    pub fn aes_cmac_zero(key: &[u8]) -> String {
        let tag = match key.len() {
            16 => cmac::Cmac::<aes::Aes128>::new_from_slice(key)
                .unwrap()
                .chain_update([0u8; 16])
                .finalize()
                .into_bytes()
                .to_vec(),
            24 => cmac::Cmac::<aes::Aes192>::new_from_slice(key)
                .unwrap()
                .chain_update([0u8; 16])
                .finalize()
                .into_bytes()
                .to_vec(),
            _ => cmac::Cmac::<aes::Aes256>::new_from_slice(key)
                .unwrap()
                .chain_update([0u8; 16])
                .finalize()
                .into_bytes()
                .to_vec(),
        };
        hex::encode_upper(&tag[..3])
    }

    fn hmac_tag<M: hmac::digest::KeyInit + hmac::digest::Update + hmac::digest::FixedOutput>(
        key: &[u8],
    ) -> Vec<u8> {
        M::new_from_slice(key).unwrap().finalize_fixed().to_vec()
    }

    pub fn hmac_empty(algorithm: &str, key: &[u8]) -> String {
        let tag = match algorithm {
            "HMAC_SHA224" => hmac_tag::<hmac::Hmac<sha2::Sha224>>(key),
            "HMAC_SHA256" => hmac_tag::<hmac::Hmac<sha2::Sha256>>(key),
            "HMAC_SHA384" => hmac_tag::<hmac::Hmac<sha2::Sha384>>(key),
            _ => hmac_tag::<hmac::Hmac<sha2::Sha512>>(key),
        };
        hex::encode_upper(&tag[..3])
    }

    pub fn sha1_prefix(public_key_der: &[u8]) -> String {
        use sha1::Digest;
        hex::encode_upper(&sha1::Sha1::digest(public_key_der)[..4])
    }
}

/// The clear material of a key, opened from the store with the test's master key.
async fn clear_material(server: &common::TestServer, arn: &str) -> Vec<u8> {
    let sealed = server
        .stored_key(arn)
        .await
        .sealed_material
        .expect("material present");
    Sealer::new(&MASTER_KEY)
        .open(arn.as_bytes(), &sealed)
        .unwrap()
        .expose()
        .to_vec()
}

/// Usage, class, algorithm, modes, expected default KCV algorithm, clear key length.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    usize,
);

/// The public key (SubjectPublicKeyInfo DER) the store keeps beside a key pair.
async fn stored_public_key(server: &common::TestServer, arn: &str) -> Vec<u8> {
    let stored = server.stored_key(arn).await;
    let doc: serde_json::Value = serde_json::from_str(&stored.metadata).unwrap();
    hex::decode(doc["public_key"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn create_key_for_every_algorithm_with_real_check_values() {
    let server = start().await;
    let client = server.client();
    let cases: &[Case] = &[
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "TDES_2KEY",
            WRAP_MODES,
            "ANSI_X9_24",
            16,
        ),
        (
            "TR31_K1_KEY_BLOCK_PROTECTION_KEY",
            "SYMMETRIC_KEY",
            "TDES_3KEY",
            WRAP_MODES,
            "ANSI_X9_24",
            24,
        ),
        (
            "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            WRAP_MODES,
            "CMAC",
            16,
        ),
        (
            "TR31_P0_PIN_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_192",
            &["Encrypt", "Wrap"],
            "CMAC",
            24,
        ),
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_256",
            &["Decrypt", "Unwrap"],
            "CMAC",
            32,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "SYMMETRIC_KEY",
            "HMAC_SHA224",
            &["Generate"],
            "HMAC",
            28,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "SYMMETRIC_KEY",
            "HMAC_SHA256",
            &["Generate", "Verify"],
            "HMAC",
            32,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "SYMMETRIC_KEY",
            "HMAC_SHA384",
            &["Verify"],
            "HMAC",
            48,
        ),
        (
            "TR31_M7_HMAC_KEY",
            "SYMMETRIC_KEY",
            "HMAC_SHA512",
            &["NoRestrictions"],
            "HMAC",
            64,
        ),
        (
            "TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION",
            "ASYMMETRIC_KEY_PAIR",
            "RSA_2048",
            WRAP_MODES,
            "SHA_1",
            0,
        ),
        (
            "TR31_K2_TR34_ASYMMETRIC_KEY",
            "ASYMMETRIC_KEY_PAIR",
            "RSA_3072",
            &["Encrypt", "Wrap"],
            "SHA_1",
            0,
        ),
        (
            "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
            "ASYMMETRIC_KEY_PAIR",
            "RSA_4096",
            &["Sign"],
            "SHA_1",
            0,
        ),
        (
            "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
            "ASYMMETRIC_KEY_PAIR",
            "ECC_NIST_P256",
            &["Verify"],
            "SHA_1",
            0,
        ),
        (
            "TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT",
            "ASYMMETRIC_KEY_PAIR",
            "ECC_NIST_P384",
            &["DeriveKey"],
            "SHA_1",
            0,
        ),
        (
            "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
            "ASYMMETRIC_KEY_PAIR",
            "ECC_NIST_P521",
            &["Sign"],
            "SHA_1",
            0,
        ),
    ];
    for &(usage, class, algorithm, m, kcv_algorithm, key_len) in cases {
        let key = create(&client, usage, class, algorithm, m).await;
        let id = key.key_arn.rsplit('/').next().unwrap();
        assert_eq!(
            key.key_arn,
            format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:key/{id}")
        );
        assert_eq!(id.len(), 16);
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_eq!(key.key_state, KeyState::CreateComplete);
        assert_eq!(key.key_origin, KeyOrigin::AwsPaymentCryptography);
        assert!(key.enabled && key.exportable);
        assert!(key.usage_start_timestamp.is_some());
        assert_eq!(key.key_check_value_algorithm.as_str(), kcv_algorithm);
        let attrs = key.key_attributes.as_ref().unwrap();
        assert_eq!(attrs.key_class.as_str(), class);
        assert_eq!(attrs.key_modes_of_use.as_ref().unwrap(), &modes(m));

        let material = clear_material(&server, &key.key_arn).await;
        let expected = match kcv_algorithm {
            "ANSI_X9_24" => {
                assert_eq!(material.len(), key_len);
                assert!(
                    material.iter().all(|b| b.count_ones() % 2 == 1),
                    "odd parity"
                );
                independent_kcv::tdes_ecb_zero(&material)
            }
            "CMAC" => {
                assert_eq!(material.len(), key_len);
                independent_kcv::aes_cmac_zero(&material)
            }
            "HMAC" => {
                assert_eq!(material.len(), key_len);
                independent_kcv::hmac_empty(algorithm, &material)
            }
            _ => {
                // Key pairs: the sealed material is the PKCS#8 private key; the KCV is SHA-1 over
                // the public key's SubjectPublicKeyInfo, 4 bytes.
                assert!(material.len() > 100, "private key stored");
                independent_kcv::sha1_prefix(&stored_public_key(&server, &key.key_arn).await)
            }
        };
        assert_eq!(key.key_check_value, expected, "{algorithm}");
        let got = client
            .get_key()
            .key_identifier(&key.key_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(got.key.unwrap(), key);
    }
}

#[tokio::test]
async fn tdes_key_with_cmac_check_value_on_request() {
    let server = start().await;
    let client = server.client();
    let key = client
        .create_key()
        .key_attributes(attributes(
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "TDES_3KEY",
            WRAP_MODES,
        ))
        .key_check_value_algorithm(KeyCheckValueAlgorithm::Cmac)
        .exportable(false)
        .enabled(false)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(key.key_check_value_algorithm, KeyCheckValueAlgorithm::Cmac);
    assert!(!key.enabled && !key.exportable);
    assert!(key.usage_start_timestamp.is_none());
    let material = clear_material(&server, &key.key_arn).await;
    use cmac::Mac;
    use des::cipher::KeyInit;
    let tag = cmac::Cmac::<des::TdesEde3>::new_from_slice(&material)
        .unwrap()
        .chain_update([0u8; 8])
        .finalize()
        .into_bytes();
    assert_eq!(key.key_check_value, hex::encode_upper(&tag[..3]));
}

#[tokio::test]
async fn attribute_table_rejections_create_nothing() {
    let server = start().await;
    let client = server.client();
    let rejected: &[(&str, &str, &str, &[&str])] = &[
        // Algorithm not allowed for the usage.
        (
            "TR31_M1_ISO_9797_1_MAC_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            &["Generate"],
        ),
        (
            "TR31_M7_HMAC_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            &["Generate"],
        ),
        (
            "TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT",
            "ASYMMETRIC_KEY_PAIR",
            "RSA_2048",
            &["DeriveKey"],
        ),
        (
            "TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION",
            "ASYMMETRIC_KEY_PAIR",
            "ECC_NIST_P256",
            WRAP_MODES,
        ),
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "HMAC_SHA256",
            WRAP_MODES,
        ),
        // Class not matching the algorithm.
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "ASYMMETRIC_KEY_PAIR",
            "AES_128",
            WRAP_MODES,
        ),
        (
            "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
            "PUBLIC_KEY",
            "RSA_2048",
            &["Verify"],
        ),
        // Mode sets the usage does not allow.
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            &["Encrypt"],
        ),
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            &["Encrypt", "Wrap", "NoRestrictions"],
        ),
        (
            "TR31_C0_CARD_VERIFICATION_KEY",
            "SYMMETRIC_KEY",
            "TDES_2KEY",
            &["Sign"],
        ),
        (
            "TR31_B0_BASE_DERIVATION_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            &["Generate"],
        ),
        (
            "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
            "ASYMMETRIC_KEY_PAIR",
            "RSA_2048",
            &["Sign", "Verify"],
        ),
        (
            "TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION",
            "ASYMMETRIC_KEY_PAIR",
            "RSA_2048",
            &["NoRestrictions"],
        ),
        (
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            &[],
        ),
    ];
    for &(usage, class, algorithm, m) in rejected {
        let result = client
            .create_key()
            .key_attributes(attributes(usage, class, algorithm, m))
            .exportable(true)
            .send()
            .await;
        let (code, message) = code_and_message(result);
        assert_eq!(
            code, "ValidationException",
            "{usage} {class} {algorithm} {m:?}"
        );
        assert!(!message.is_empty());
    }
    let kcv_mismatch = client
        .create_key()
        .key_attributes(attributes(
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            "AES_128",
            WRAP_MODES,
        ))
        .key_check_value_algorithm(KeyCheckValueAlgorithm::AnsiX924)
        .exportable(true)
        .send()
        .await;
    let (code, message) = code_and_message(kcv_mismatch);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("ANSI_X9_24"), "{message}");
    let listed = client.list_keys().send().await.unwrap();
    assert!(listed.keys.is_empty(), "a rejected CreateKey created a key");
}

#[tokio::test]
async fn deletion_window_follows_the_clock() {
    let server = start().await;
    let client = server.client();
    let key = create_kek(&client).await;
    client
        .create_alias()
        .alias_name("alias/doomed")
        .key_arn(&key.key_arn)
        .send()
        .await
        .unwrap();

    let deleted = client
        .delete_key()
        .key_identifier("alias/doomed")
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(deleted.key_state, KeyState::DeletePending);
    assert!(!deleted.enabled);
    let stop = deleted.usage_stop_timestamp.unwrap().secs();
    let pending = deleted.delete_pending_timestamp.unwrap().secs();
    assert_eq!(pending - stop, 7 * 86_400);

    let (error, message) = code_and_message(
        client
            .delete_key()
            .key_identifier(&key.key_arn)
            .send()
            .await,
    );
    assert_eq!(error, "ValidationException");
    assert!(
        message.contains("not in CREATE_COMPLETE state."),
        "{message}"
    );
    assert_eq!(
        code_and_message(
            client
                .start_key_usage()
                .key_identifier(&key.key_arn)
                .send()
                .await
        )
        .0,
        "ValidationException"
    );

    let restored = client
        .restore_key()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(restored.key_state, KeyState::CreateComplete);
    assert!(!restored.enabled, "RestoreKey leaves the key disabled");
    assert!(restored.delete_pending_timestamp.is_none());
    assert_eq!(
        code(
            client
                .restore_key()
                .key_identifier(&key.key_arn)
                .send()
                .await
        ),
        "ValidationException"
    );

    let again = client
        .delete_key()
        .key_identifier(&key.key_arn)
        .delete_key_in_days(3)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(
        again.delete_pending_timestamp.unwrap().secs() - again.usage_stop_timestamp.unwrap().secs(),
        3 * 86_400
    );
    server.advance_days(2);
    let still = client
        .get_key()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(still.key_state, KeyState::DeletePending);
    client
        .get_alias()
        .alias_name("alias/doomed")
        .send()
        .await
        .expect("alias kept while pending");

    server.advance_days(1);
    let gone = client
        .get_key()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(gone.key_state, KeyState::DeleteComplete);
    assert_eq!(gone.delete_timestamp, again.delete_pending_timestamp);
    assert_eq!(
        code(client.get_alias().alias_name("alias/doomed").send().await),
        "ResourceNotFoundException"
    );
    let stored = server.stored_key(&key.key_arn).await;
    assert!(stored.sealed_material.is_none(), "material destroyed");
    assert_eq!(
        code(
            client
                .restore_key()
                .key_identifier(&key.key_arn)
                .send()
                .await
        ),
        "ValidationException"
    );

    for days in [2, 181] {
        let fresh = create_kek(&client).await;
        let result = client
            .delete_key()
            .key_identifier(&fresh.key_arn)
            .delete_key_in_days(days)
            .send()
            .await;
        assert_eq!(code(result), "ValidationException", "{days} days");
    }
}

#[tokio::test]
async fn start_and_stop_usage() {
    let server = start().await;
    let client = server.client();
    let key = create_kek(&client).await;
    server.clock.advance_millis(5_000);
    let stopped = client
        .stop_key_usage()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert!(!stopped.enabled);
    assert_eq!(
        stopped.usage_stop_timestamp.unwrap().secs() - key.create_timestamp.secs(),
        5
    );
    let started = client
        .start_key_usage()
        .key_identifier(&key.key_arn)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert!(started.enabled);
    assert!(started.usage_start_timestamp.unwrap() > key.usage_start_timestamp.unwrap());
}

#[tokio::test]
async fn list_keys_paginates_stably_and_filters() {
    let server = start().await;
    let client = server.client();
    let mut arns = Vec::new();
    for _ in 0..7 {
        arns.push(create_kek(&client).await.key_arn);
    }
    client
        .delete_key()
        .key_identifier(&arns[1])
        .send()
        .await
        .unwrap();

    let first = client.list_keys().max_results(3).send().await.unwrap();
    assert_eq!(first.keys.len(), 3);
    // Each summary says what GetKey says of the same key (one of them is pending deletion).
    for summary in &first.keys {
        let key = client
            .get_key()
            .key_identifier(&summary.key_arn)
            .send()
            .await
            .unwrap()
            .key
            .unwrap();
        assert_eq!(summary.key_state, key.key_state);
        assert_eq!(summary.key_attributes, key.key_attributes);
        assert_eq!(summary.key_check_value, key.key_check_value);
        assert_eq!(summary.exportable, key.exportable);
        assert_eq!(summary.enabled, key.enabled);
        assert_eq!(summary.multi_region_key_type, key.multi_region_key_type);
        assert_eq!(summary.primary_region, key.primary_region);
    }
    // Keys created between pages show up at the end, not as duplicates.
    arns.push(create_kek(&client).await.key_arn);
    let mut seen: Vec<String> = first.keys.iter().map(|k| k.key_arn.clone()).collect();
    let mut token = first.next_token;
    let mut pages = 1;
    while let Some(t) = token {
        let page = client
            .list_keys()
            .max_results(3)
            .next_token(t)
            .send()
            .await
            .unwrap();
        seen.extend(page.keys.iter().map(|k| k.key_arn.clone()));
        token = page.next_token;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, arns);

    let pending = client
        .list_keys()
        .key_state(KeyState::DeletePending)
        .send()
        .await
        .unwrap();
    assert_eq!(pending.keys.len(), 1);
    assert_eq!(pending.keys[0].key_arn, arns[1]);
    assert!(pending.next_token.is_none());
    assert_eq!(
        code(client.list_keys().next_token("garbage").send().await),
        "ValidationException"
    );
    assert_eq!(
        code(client.list_keys().max_results(101).send().await),
        "ValidationException"
    );
}

#[tokio::test]
async fn key_quota_is_enforced() {
    let server = start_with(Limits {
        max_keys: 2,
        ..Limits::default()
    })
    .await;
    let client = server.client();
    let first = create_kek(&client).await;
    create_kek(&client).await;
    let (code, message) = code_and_message(
        client
            .create_key()
            .key_attributes(attributes(
                "TR31_K0_KEY_ENCRYPTION_KEY",
                "SYMMETRIC_KEY",
                "AES_128",
                WRAP_MODES,
            ))
            .exportable(true)
            .send()
            .await,
    );
    assert_eq!(code, "ServiceQuotaExceededException");
    assert!(message.contains('2'), "{message}");
    // A completed deletion frees the slot.
    client
        .delete_key()
        .key_identifier(&first.key_arn)
        .delete_key_in_days(3)
        .send()
        .await
        .unwrap();
    server.advance_days(4);
    create_kek(&client).await;
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let server = start().await;
    let a = server.client();
    let b = server.client_as("other", "other-secret", REGION, 0);
    let a_west = server.client_as("test", "test", "eu-west-1", 0);
    let key = create_kek(&a).await;
    a.create_alias()
        .alias_name("alias/mine")
        .key_arn(&key.key_arn)
        .send()
        .await
        .unwrap();

    // Another account is refused access to the key (it has no resource policy); another region
    // does not know it.
    for (other, by_arn) in [
        (&b, "AccessDeniedException"),
        (&a_west, "ResourceNotFoundException"),
    ] {
        assert_eq!(
            code(other.get_key().key_identifier(&key.key_arn).send().await),
            by_arn
        );
        assert_eq!(
            code(other.get_key().key_identifier("alias/mine").send().await),
            "ResourceNotFoundException"
        );
        assert_eq!(
            code(other.delete_key().key_identifier(&key.key_arn).send().await),
            by_arn
        );
        assert_eq!(
            code(
                other
                    .list_tags_for_resource()
                    .resource_arn(&key.key_arn)
                    .send()
                    .await
            ),
            by_arn
        );
        assert!(other.list_keys().send().await.unwrap().keys.is_empty());
        assert!(
            other
                .list_aliases()
                .send()
                .await
                .unwrap()
                .aliases
                .is_empty()
        );
        // The same alias name is free elsewhere.
        other
            .create_alias()
            .alias_name("alias/mine")
            .send()
            .await
            .unwrap();
    }
    let west_key = create_kek(&a_west).await;
    assert!(
        west_key
            .key_arn
            .starts_with("arn:aws:payment-cryptography:eu-west-1:111122223333:key/")
    );
    assert_eq!(
        a.get_key()
            .key_identifier(&key.key_arn)
            .send()
            .await
            .unwrap()
            .key
            .unwrap()
            .key_state,
        KeyState::CreateComplete
    );
}

#[tokio::test]
async fn the_data_dir_holds_no_clear_key_material() {
    let server = start().await;
    let client = server.client();
    let mut secrets = Vec::new();
    for algorithm in ["TDES_2KEY", "TDES_3KEY", "AES_256"] {
        let key = create(
            &client,
            "TR31_K0_KEY_ENCRYPTION_KEY",
            "SYMMETRIC_KEY",
            algorithm,
            WRAP_MODES,
        )
        .await;
        secrets.push(clear_material(&server, &key.key_arn).await);
    }
    let key = create(
        &client,
        "TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION",
        "ASYMMETRIC_KEY_PAIR",
        "RSA_2048",
        WRAP_MODES,
    )
    .await;
    let private = clear_material(&server, &key.key_arn).await;
    // A window of the PKCS#8 RSAPrivateKey inside the private exponent d, which follows the
    // public modulus (bytes ~30..290 of a 2048-bit key) and the public exponent.
    secrets.push(private[320..352].to_vec());
    let mut scanned = 0;
    for entry in std::fs::read_dir(server.dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += bytes.len();
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_slice()),
                "clear key bytes found on disk"
            );
            let hex_upper = hex::encode_upper(secret);
            let hex_lower = hex::encode(secret);
            assert!(
                !bytes
                    .windows(hex_upper.len())
                    .any(|w| w == hex_upper.as_bytes() || w == hex_lower.as_bytes())
            );
        }
    }
    assert!(scanned > 0);
}
