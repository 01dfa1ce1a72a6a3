//! Resource policies through the AWS SDK for Rust, with the harness's two accounts: the owner
//! (111122223333) attaches policies to its keys, and the other account (444455556666) uses those
//! keys exactly as far as the policies allow: GetKey, an ExportKey that really moves the key into
//! the other account, TagResource, an ImportKey under the owner's key encryption key; and is
//! refused without a policy, against an explicit Deny, and for actions not granted.

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_paymentcryptography::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_paymentcryptography::error::ProvideErrorMetadata;
use aws_sdk_paymentcryptography::types::{
    ExportKeyMaterial, ExportTr31KeyBlock, ImportKeyMaterial, ImportTr31KeyBlock, Key,
    KeyAlgorithm, KeyAttributes, KeyClass, KeyModesOfUse, KeyState, KeyUsage, Tag,
};
use common::{ACCOUNT, OTHER_ACCOUNT, REGION, TestServer, code, code_and_message, start};

/// A server and a client of each account (the server lives as long as this does).
struct Accounts {
    server: TestServer,
    owner: Client,
    other: Client,
}

async fn accounts() -> Accounts {
    let server = start().await;
    Accounts {
        owner: server.client(),
        other: server.client_as("other", "other-secret", REGION, 0),
        server,
    }
}

async fn create(client: &Client, algorithm: KeyAlgorithm, exportable: bool) -> (String, String) {
    let key = client
        .create_key()
        .key_attributes(
            KeyAttributes::builder()
                .key_usage(KeyUsage::Tr31K0KeyEncryptionKey)
                .key_class(KeyClass::SymmetricKey)
                .key_algorithm(algorithm)
                .key_modes_of_use(
                    KeyModesOfUse::builder()
                        .encrypt(true)
                        .decrypt(true)
                        .wrap(true)
                        .unwrap(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .exportable(exportable)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    (key.key_arn, key.key_check_value)
}

/// GetKey, which must succeed.
async fn key_of(client: &Client, identifier: &str) -> Key {
    client
        .get_key()
        .key_identifier(identifier)
        .send()
        .await
        .unwrap()
        .key
        .unwrap()
}

/// A policy of one statement: `effect` for the other account, `actions`, on `resource`.
fn statement(sid: &str, effect: &str, principal: &str, actions: &[&str], resource: &str) -> String {
    let actions: Vec<String> = actions
        .iter()
        .map(|a| format!("\"payment-cryptography:{a}\""))
        .collect();
    format!(
        r#"{{"Sid": "{sid}", "Effect": "{effect}", "Principal": {{"AWS": "{principal}"}}, "Action": [{}], "Resource": "{resource}"}}"#,
        actions.join(", ")
    )
}

fn policy(statements: &[String]) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {}\n  ]\n}}",
        statements.join(",\n    ")
    )
}

fn grant(actions: &[&str], resource: &str) -> String {
    policy(&[statement(
        "SharedWithPartner",
        "Allow",
        &format!("arn:aws:iam::{OTHER_ACCOUNT}:root"),
        actions,
        resource,
    )])
}

async fn put(client: &Client, arn: &str, document: &str) {
    let out = client
        .put_resource_policy()
        .resource_arn(arn)
        .policy(document)
        .send()
        .await
        .unwrap();
    assert_eq!(out.resource_arn, arn);
    assert_eq!(out.policy, document);
}

async fn stored_policy(client: &Client, arn: &str) -> Option<String> {
    match client.get_resource_policy().resource_arn(arn).send().await {
        Ok(out) => Some(out.policy),
        Err(e) => {
            assert_eq!(
                e.as_service_error().and_then(|s| s.code()),
                Some("ResourceNotFoundException")
            );
            None
        }
    }
}

fn tr31(wrapping: &str) -> ExportKeyMaterial {
    ExportKeyMaterial::Tr31KeyBlock(
        ExportTr31KeyBlock::builder()
            .wrapping_key_identifier(wrapping)
            .build()
            .unwrap(),
    )
}

fn tr31_import(wrapping: &str, block: &str) -> ImportKeyMaterial {
    ImportKeyMaterial::Tr31KeyBlock(
        ImportTr31KeyBlock::builder()
            .wrapping_key_identifier(wrapping)
            .wrapped_key_block(block)
            .build()
            .unwrap(),
    )
}

/// Keeps the raw body of the response, so a test can see what the wire carried.
#[derive(Debug, Clone, Default)]
struct RawBody(Arc<Mutex<Vec<u8>>>);

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let bytes = context
            .response()
            .body()
            .bytes()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        *self.0.lock().unwrap() = bytes;
        Ok(())
    }
}

impl RawBody {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn put_get_delete_round_trip_and_the_policy_stays_out_of_key_output() {
    let Accounts {
        server: _server,
        owner: a,
        ..
    } = accounts().await;
    let (key, _) = create(&a, KeyAlgorithm::Aes128, true).await;

    let (error, message) =
        code_and_message(a.get_resource_policy().resource_arn(&key).send().await);
    assert_eq!(error, "ResourceNotFoundException");
    assert!(
        message.contains("has no resource-based policy"),
        "{message}"
    );

    let document = grant(&["GetKey"], &key);
    put(&a, &key, &document).await;
    assert_eq!(
        stored_policy(&a, &key).await.as_deref(),
        Some(document.as_str())
    );
    // Put replaces.
    let replacement = grant(&["GetKey", "TagResource"], &key);
    put(&a, &key, &replacement).await;
    assert_eq!(stored_policy(&a, &key).await, Some(replacement));

    // Neither GetKey nor ListKeys carries the document on the wire.
    for raw_of in ["GetKey", "ListKeys"] {
        let raw = RawBody::default();
        if raw_of == "GetKey" {
            a.get_key()
                .key_identifier(&key)
                .customize()
                .interceptor(raw.clone())
                .send()
                .await
                .unwrap();
        } else {
            a.list_keys()
                .customize()
                .interceptor(raw.clone())
                .send()
                .await
                .unwrap();
        }
        let body = raw.text();
        assert!(body.contains(&key), "{raw_of}: {body}");
        assert!(
            !body.contains("SharedWithPartner") && !body.contains("Statement"),
            "{raw_of}: {body}"
        );
    }

    a.delete_resource_policy()
        .resource_arn(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stored_policy(&a, &key).await, None);
    assert_eq!(
        code(a.delete_resource_policy().resource_arn(&key).send().await),
        "ResourceNotFoundException"
    );
    let unknown = format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:key/aaaaaaaaaaaaaaaa");
    assert_eq!(
        code(
            a.put_resource_policy()
                .resource_arn(&unknown)
                .policy(grant(&["GetKey"], "*"))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn the_other_account_uses_a_key_as_far_as_the_policy_allows() {
    let Accounts {
        server,
        owner: a,
        other: b,
    } = accounts().await;
    let (key, kcv) = create(&a, KeyAlgorithm::Aes128, true).await;
    let (b_kek, _) = create(&b, KeyAlgorithm::Aes256, false).await;

    // Without a policy: refused, and refused alike for a key that does not exist.
    let (error, message) = code_and_message(b.get_key().key_identifier(&key).send().await);
    assert_eq!(error, "AccessDeniedException");
    assert!(message.contains("payment-cryptography:GetKey"), "{message}");
    let missing = format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:key/aaaaaaaaaaaaaaaa");
    let (missing_error, missing_message) =
        code_and_message(b.get_key().key_identifier(&missing).send().await);
    assert_eq!(missing_error, "AccessDeniedException");
    assert_eq!(missing_message.replace(&missing, &key), message);
    assert_eq!(
        code(
            b.export_key()
                .export_key_identifier(&key)
                .key_material(tr31(&b_kek))
                .send()
                .await
        ),
        "AccessDeniedException"
    );

    put(
        &a,
        &key,
        &grant(
            &["GetKey", "ExportKey", "TagResource", "ListTagsForResource"],
            &key,
        ),
    )
    .await;

    // GetKey: the owner's key, as the owner sees it.
    let seen = key_of(&b, &key).await;
    assert_eq!(seen.key_arn, key);
    assert_eq!(seen.key_check_value, kcv);

    // ExportKey under the other account's own KEK; the block opens there into the same key.
    let wrapped = b
        .export_key()
        .export_key_identifier(&key)
        .key_material(tr31(&b_kek))
        .send()
        .await
        .unwrap()
        .wrapped_key
        .unwrap();
    assert_eq!(wrapped.key_check_value.as_deref(), Some(kcv.as_str()));
    assert_eq!(wrapped.wrapping_key_arn, b_kek);
    let copy = b
        .import_key()
        .key_material(tr31_import(&b_kek, &wrapped.key_material))
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(copy.key_check_value, kcv);
    assert!(copy.key_arn.contains(&format!(":{OTHER_ACCOUNT}:key/")));

    // TagResource lands on the owner's key.
    b.tag_resource()
        .resource_arn(&key)
        .tags(Tag::builder().key("shared").value("yes").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = a
        .list_tags_for_resource()
        .resource_arn(&key)
        .send()
        .await
        .unwrap()
        .tags;
    assert_eq!(tags.len(), 1);
    assert_eq!(
        (tags[0].key.as_str(), tags[0].value.as_deref()),
        ("shared", Some("yes"))
    );
    assert_eq!(
        b.list_tags_for_resource()
            .resource_arn(&key)
            .send()
            .await
            .unwrap()
            .tags,
        tags
    );

    // Actions not granted: refused, and nothing changes.
    assert_eq!(
        code(b.delete_key().key_identifier(&key).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(b.stop_key_usage().key_identifier(&key).send().await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(
            b.untag_resource()
                .resource_arn(&key)
                .tag_keys("shared")
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    let after = key_of(&a, &key).await;
    assert_eq!(after.key_state, KeyState::CreateComplete);
    assert!(after.enabled);

    // Operations that are never cross-account still do not see the key, policy or not.
    assert_eq!(
        code(
            b.create_alias()
                .alias_name("alias/theirs")
                .key_arn(&key)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    // Aliases are never shared, not even by ARN.
    a.create_alias()
        .alias_name("alias/owned")
        .key_arn(&key)
        .send()
        .await
        .unwrap();
    let alias_arn = format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:alias/owned");
    assert_eq!(
        code(b.get_key().key_identifier(&alias_arn).send().await),
        "ResourceNotFoundException"
    );
    // Another region is another place.
    let b_west = server.client_as("other", "other-secret", "eu-west-1", 0);
    assert_eq!(
        code(b_west.get_key().key_identifier(&key).send().await),
        "ResourceNotFoundException"
    );

    // Deleting the policy ends the sharing.
    a.delete_resource_policy()
        .resource_arn(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(b.get_key().key_identifier(&key).send().await),
        "AccessDeniedException"
    );
}

#[tokio::test]
async fn an_explicit_deny_overrides_an_allow() {
    let Accounts {
        server: _server,
        owner: a,
        other: b,
    } = accounts().await;
    let (key, _) = create(&a, KeyAlgorithm::Aes128, true).await;
    let (b_kek, _) = create(&b, KeyAlgorithm::Aes256, false).await;
    let document = policy(&[
        statement("AllowAll", "Allow", OTHER_ACCOUNT, &["*"], &key),
        statement(
            "NoExport",
            "Deny",
            OTHER_ACCOUNT,
            &["Export*"],
            &format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:key/*"),
        ),
    ]);
    put(&a, &key, &document).await;
    b.get_key().key_identifier(&key).send().await.unwrap();
    let (error, message) = code_and_message(
        b.export_key()
            .export_key_identifier(&key)
            .key_material(tr31(&b_kek))
            .send()
            .await,
    );
    assert_eq!(error, "AccessDeniedException");
    assert!(
        message.contains("payment-cryptography:ExportKey"),
        "{message}"
    );
    // What the Allow grants does work: the other account schedules the deletion.
    let deleted = b
        .delete_key()
        .key_identifier(&key)
        .send()
        .await
        .unwrap()
        .key
        .unwrap();
    assert_eq!(deleted.key_state, KeyState::DeletePending);
    let seen = key_of(&a, &key).await;
    assert_eq!(seen.key_state, KeyState::DeletePending);
}

#[tokio::test]
async fn the_owner_is_bound_only_by_explicit_denies_and_never_locked_out() {
    let Accounts {
        server: _server,
        owner: a,
        ..
    } = accounts().await;
    let (key, _) = create(&a, KeyAlgorithm::Aes128, true).await;
    // A policy that allows only the other account does not restrict the owner.
    put(&a, &key, &grant(&["GetKey"], &key)).await;
    a.stop_key_usage()
        .key_identifier(&key)
        .send()
        .await
        .unwrap();
    // A statement denying the owner's own account applies to the owner...
    let deny_self = policy(&[statement(
        "NoStart",
        "Deny",
        ACCOUNT,
        &[
            "StartKeyUsage",
            "PutResourcePolicy",
            "GetResourcePolicy",
            "DeleteResourcePolicy",
        ],
        "*",
    )]);
    put(&a, &key, &deny_self).await;
    assert_eq!(
        code(a.start_key_usage().key_identifier(&key).send().await),
        "AccessDeniedException"
    );
    a.get_key().key_identifier(&key).send().await.unwrap();
    // ...but never to the resource policy operations, so the owner can always undo it.
    assert_eq!(stored_policy(&a, &key).await, Some(deny_self));
    a.delete_resource_policy()
        .resource_arn(&key)
        .send()
        .await
        .unwrap();
    a.start_key_usage()
        .key_identifier(&key)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_other_account_imports_under_a_shared_kek_into_its_own_account() {
    let Accounts {
        server: _server,
        owner: a,
        other: b,
    } = accounts().await;
    let (kek, _) = create(&a, KeyAlgorithm::Aes256, false).await;
    let (key, kcv) = create(&a, KeyAlgorithm::Aes128, true).await;
    let block = a
        .export_key()
        .export_key_identifier(&key)
        .key_material(tr31(&kek))
        .send()
        .await
        .unwrap()
        .wrapped_key
        .unwrap()
        .key_material;
    let import = || {
        b.import_key()
            .key_material(tr31_import(&kek, &block))
            .send()
    };
    assert_eq!(code(import().await), "AccessDeniedException");
    // ExportKey is granted, ImportKey is not: still refused.
    put(&a, &kek, &grant(&["ExportKey"], &kek)).await;
    assert_eq!(code(import().await), "AccessDeniedException");
    put(&a, &kek, &grant(&["importkey"], &kek)).await;
    let imported = import().await.unwrap().key.unwrap();
    assert_eq!(imported.key_check_value, kcv);
    assert!(
        imported.key_arn.starts_with(&format!(
            "arn:aws:payment-cryptography:{REGION}:{OTHER_ACCOUNT}:key/"
        )),
        "{}",
        imported.key_arn
    );
    let a_keys = a.list_keys().send().await.unwrap().keys;
    assert_eq!(
        a_keys.len(),
        2,
        "nothing was created in the owner's account"
    );
}

#[tokio::test]
async fn policy_operations_are_never_cross_account() {
    let Accounts {
        server: _server,
        owner: a,
        other: b,
    } = accounts().await;
    let (key, _) = create(&a, KeyAlgorithm::Aes128, true).await;
    let document = policy(&[statement("All", "Allow", OTHER_ACCOUNT, &["*"], "*")]);
    put(&a, &key, &document).await;
    assert_eq!(
        code(b.get_resource_policy().resource_arn(&key).send().await),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            b.put_resource_policy()
                .resource_arn(&key)
                .policy(grant(&["GetKey"], "*"))
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(b.delete_resource_policy().resource_arn(&key).send().await),
        "ResourceNotFoundException"
    );
    assert_eq!(stored_policy(&a, &key).await, Some(document));
}

#[tokio::test]
async fn public_and_malformed_policies_are_refused_and_nothing_is_stored() {
    let Accounts {
        server: _server,
        owner: a,
        ..
    } = accounts().await;
    let (key, _) = create(&a, KeyAlgorithm::Aes128, true).await;
    let (fresh, _) = create(&a, KeyAlgorithm::Aes128, true).await;
    let kept = grant(&["GetKey"], &key);
    put(&a, &key, &kept).await;

    let public = [
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"payment-cryptography:GetKey","Resource":"*"}}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["444455556666","*"]},"Action":"*","Resource":"*"}]}"#,
    ];
    for document in public {
        for arn in [&key, &fresh] {
            let (error, message) = code_and_message(
                a.put_resource_policy()
                    .resource_arn(arn)
                    .policy(document)
                    .send()
                    .await,
            );
            assert_eq!(error, "PublicPolicyException", "{document}");
            assert!(message.contains("public"), "{message}");
        }
    }

    let malformed = [
        ("{not json", "not valid JSON"),
        (r#"["a"]"#, "must be a JSON object"),
        (r#"{"Statement":[]}"#, "Version is required"),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Permit","Principal":{"AWS":"444455556666"},"Action":"*","Resource":"*"}}"#,
            "Effect must be",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"4444"},"Action":"*","Resource":"*"}}"#,
            "principal 4444 is not supported",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"kms:Decrypt","Resource":"*"}}"#,
            "action kms:Decrypt",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"*"}}"#,
            "Resource is required",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}"#,
            "condition operator Bool is not supported",
        ),
    ];
    for (document, expected) in malformed {
        let (error, message) = code_and_message(
            a.put_resource_policy()
                .resource_arn(&key)
                .policy(document)
                .send()
                .await,
        );
        assert_eq!(error, "ValidationException", "{document}");
        assert!(message.contains(expected), "{document}: {message}");
    }
    assert_eq!(stored_policy(&a, &key).await, Some(kept));
    assert_eq!(stored_policy(&a, &fresh).await, None);
}
