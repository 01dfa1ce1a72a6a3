//! Aliases and tags through the AWS SDK for Rust: uniqueness, detaching, identifiers that go
//! through aliases, tag limits and pagination.

mod common;

use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::types::{
    KeyAlgorithm, KeyAttributes, KeyClass, KeyModesOfUse, KeyUsage, Tag,
};
use common::{ACCOUNT, REGION, code, start, start_with};
use paycrypt_service::Limits;

async fn create_key(client: &Client, tags: Vec<Tag>) -> String {
    let attributes = KeyAttributes::builder()
        .key_usage(KeyUsage::Tr31K1KeyBlockProtectionKey)
        .key_class(KeyClass::SymmetricKey)
        .key_algorithm(KeyAlgorithm::Aes128)
        .key_modes_of_use(
            KeyModesOfUse::builder()
                .encrypt(true)
                .decrypt(true)
                .wrap(true)
                .unwrap(true)
                .build(),
        )
        .build()
        .unwrap();
    client
        .create_key()
        .key_attributes(attributes)
        .exportable(true)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .key
        .unwrap()
        .key_arn
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test]
async fn alias_lifecycle_and_identifiers() {
    let server = start().await;
    let client = server.client();
    let key = create_key(&client, vec![]).await;
    let other = create_key(&client, vec![]).await;

    let alias = client
        .create_alias()
        .alias_name("alias/payments/kek-1")
        .key_arn(&key)
        .send()
        .await
        .unwrap()
        .alias
        .unwrap();
    assert_eq!(alias.alias_name, "alias/payments/kek-1");
    assert_eq!(alias.key_arn.as_deref(), Some(key.as_str()));
    assert_eq!(
        code(
            client
                .create_alias()
                .alias_name("alias/payments/kek-1")
                .send()
                .await
        ),
        "ConflictException"
    );

    let alias_arn = format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:alias/payments/kek-1");
    for identifier in [key.as_str(), "alias/payments/kek-1", alias_arn.as_str()] {
        let got = client
            .get_key()
            .key_identifier(identifier)
            .send()
            .await
            .unwrap()
            .key
            .unwrap();
        assert_eq!(got.key_arn, key, "{identifier}");
    }

    let moved = client
        .update_alias()
        .alias_name("alias/payments/kek-1")
        .key_arn(&other)
        .send()
        .await
        .unwrap()
        .alias
        .unwrap();
    assert_eq!(moved.key_arn.as_deref(), Some(other.as_str()));
    assert_eq!(
        client
            .get_key()
            .key_identifier("alias/payments/kek-1")
            .send()
            .await
            .unwrap()
            .key
            .unwrap()
            .key_arn,
        other
    );

    let detached = client
        .update_alias()
        .alias_name("alias/payments/kek-1")
        .send()
        .await
        .unwrap()
        .alias
        .unwrap();
    assert!(detached.key_arn.is_none());
    assert_eq!(
        code(
            client
                .get_key()
                .key_identifier("alias/payments/kek-1")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );

    let unknown = format!("arn:aws:payment-cryptography:{REGION}:{ACCOUNT}:key/aaaaaaaaaaaaaaaa");
    assert_eq!(
        code(
            client
                .create_alias()
                .alias_name("alias/x")
                .key_arn(&unknown)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(client.create_alias().alias_name("no-prefix").send().await),
        "ValidationException"
    );
    assert_eq!(
        code(client.update_alias().alias_name("alias/none").send().await),
        "ResourceNotFoundException"
    );

    client
        .delete_alias()
        .alias_name("alias/payments/kek-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            client
                .get_alias()
                .alias_name("alias/payments/kek-1")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            client
                .delete_alias()
                .alias_name("alias/payments/kek-1")
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn list_aliases_pages_and_filters_by_key() {
    let server = start().await;
    let client = server.client();
    let key = create_key(&client, vec![]).await;
    for i in 0..7 {
        let builder = client.create_alias().alias_name(format!("alias/a{i}"));
        let builder = if i % 2 == 0 {
            builder.key_arn(&key)
        } else {
            builder
        };
        builder.send().await.unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .list_aliases()
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(page.aliases.iter().map(|a| a.alias_name.clone()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        (0..7).map(|i| format!("alias/a{i}")).collect::<Vec<_>>()
    );
    let for_key = client.list_aliases().key_arn(&key).send().await.unwrap();
    let names: Vec<_> = for_key
        .aliases
        .iter()
        .map(|a| a.alias_name.as_str())
        .collect();
    assert_eq!(names, ["alias/a0", "alias/a2", "alias/a4", "alias/a6"]);
}

#[tokio::test]
async fn alias_quota_is_enforced() {
    let server = start_with(Limits {
        max_aliases: 2,
        ..Limits::default()
    })
    .await;
    let client = server.client();
    client
        .create_alias()
        .alias_name("alias/one")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .alias_name("alias/two")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(client.create_alias().alias_name("alias/three").send().await),
        "ServiceQuotaExceededException"
    );
}

#[tokio::test]
async fn tags_round_trip_page_and_respect_limits() {
    let server = start_with(Limits {
        max_tags: 5,
        ..Limits::default()
    })
    .await;
    let client = server.client();
    let key = create_key(&client, vec![tag("team", "payments"), tag("env", "test")]).await;
    client
        .tag_resource()
        .resource_arn(&key)
        .tags(tag("env", "prod"))
        .tags(tag("cost", "42"))
        .send()
        .await
        .unwrap();

    let mut tags = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client
            .list_tags_for_resource()
            .resource_arn(&key)
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        tags.extend(
            page.tags
                .into_iter()
                .map(|t| (t.key, t.value.unwrap_or_default())),
        );
        pages += 1;
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected = [("cost", "42"), ("env", "prod"), ("team", "payments")]
        .map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(tags, expected);

    let over = client
        .tag_resource()
        .resource_arn(&key)
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .tags(tag("c", "3"))
        .send()
        .await;
    assert_eq!(code(over), "ServiceQuotaExceededException");
    assert_eq!(
        client
            .list_tags_for_resource()
            .resource_arn(&key)
            .send()
            .await
            .unwrap()
            .tags
            .len(),
        3,
        "a refused TagResource changed nothing"
    );
    let duplicate = client
        .tag_resource()
        .resource_arn(&key)
        .tags(tag("a", "1"))
        .tags(tag("a", "2"))
        .send()
        .await;
    assert_eq!(code(duplicate), "ValidationException");

    client
        .untag_resource()
        .resource_arn(&key)
        .tag_keys("env")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    let left = client
        .list_tags_for_resource()
        .resource_arn(&key)
        .send()
        .await
        .unwrap()
        .tags;
    assert_eq!(
        left.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
        ["cost", "team"]
    );

    assert_eq!(
        code(
            client
                .tag_resource()
                .resource_arn("alias/x")
                .tags(tag("a", "b"))
                .send()
                .await
        ),
        "ValidationException"
    );
    client
        .delete_key()
        .key_identifier(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            client
                .tag_resource()
                .resource_arn(&key)
                .tags(tag("a", "b"))
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            client
                .untag_resource()
                .resource_arn(&key)
                .tag_keys("cost")
                .send()
                .await
        ),
        "ValidationException"
    );
}
