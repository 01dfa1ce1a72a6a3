//! Valid requests decode: for every operation, a minimal body (required members only) and full
//! bodies (every member, each union variant in turn) built by walking the operation's input
//! shape, with values chosen per model shape to satisfy its constraints. Full bodies must also
//! serialize back to exactly the JSON they were decoded from. Hand-written bodies as the SDKs
//! send them check the decoded fields.

use paycrypt_api::schema::{Shape, ShapeKind};
use paycrypt_api::{
    ExportKeyMaterial, ImportKeyMaterial, Input, KeyAlgorithm, KeyClass, KeyUsage, Operation,
    decode_input,
};
use serde_json::{Map, Value, json};

/// A valid value of a string shape without enum values.
fn sample_string(shape: &Shape) -> &'static str {
    match shape.name {
        "AliasName" => "alias/payments-kek",
        "KeyArnOrKeyAliasType" => "alias/payments-kek",
        "KeyArn" | "ResourceArn" => {
            "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h"
        }
        "CertificateType" => "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
        "CertificateSubjectTypeCommonNameString" => "paycrypt test",
        "CertificateSubjectTypeOrganizationUnitString" => "Payments",
        "CertificateSubjectTypeOrganizationString" => "Example Corp",
        "CertificateSubjectTypeCityString" => "Seattle",
        "CertificateSubjectTypeCountryString" => "US",
        "CertificateSubjectTypeStateOrProvinceString" => "Washington",
        "CertificateSubjectTypeEmailAddressString" => "ops@example.com",
        "EvenHexLengthBetween16And32" => "0123456789ABCDEF",
        "ExportTokenId" => "export-token-tqkbkc2jhbqanqvk",
        "ImportTokenId" => "import-token-qgmafpaa7nr7yuhd",
        "HexLength20Or24" => "FFFF9876543210E00001",
        "KeyVersion" => "00",
        "MpaRequesterComment" => "rotation ticket 42",
        "MpaTeamArn" => "arn:aws:mpa:us-east-1:111122223333:approval-team/payments-team",
        "NextToken" => "eyJvZmZzZXQiOjUwfQ",
        "OptionalBlockId" => "KP",
        "OptionalBlockValue" => "10C8A1",
        "Region" => "us-west-2",
        "ResourcePolicy" => r#"{"Version":"2012-10-17","Statement":[]}"#,
        "SharedInformation" => "0102030405060708",
        "String" => "text",
        "TagKey" => "team",
        "TagValue" => "payments",
        "Tr31WrappedKeyBlock" => {
            "D0112K0TB00E0000B82E3D6A2C6D4B0F2F7C2E0C8A1F1B8E9C2E0D3F4A5B6C7D8E9F0A1B2C3D4E5F"
        }
        "Tr34WrappedKeyBlock" => "308205A106092A864886F70D010702A08205923082058E020101",
        "WrappedKeyCryptogram" => "0123456789ABCDEF0123456789ABCDEF",
        other => panic!("no sample value for string shape {other}: add one"),
    }
}

/// A valid JSON value of `shape`: only required members unless `full`, and in every union
/// the member numbered `variant` (modulo the number of members).
fn build(shape: &'static Shape, full: bool, variant: usize) -> Value {
    match &shape.kind {
        ShapeKind::Structure(members) => {
            let mut object = Map::new();
            for member in members.iter().filter(|m| full || m.required) {
                object.insert(member.name.to_owned(), build(member.shape, full, variant));
            }
            Value::Object(object)
        }
        ShapeKind::Union(members) => {
            let member = &members[variant % members.len()];
            json!({ member.name: build(member.shape, full, variant) })
        }
        ShapeKind::String(rules) if !rules.values.is_empty() => json!(rules.values[0]),
        ShapeKind::String(_) => json!(sample_string(shape)),
        ShapeKind::Integer(range) => json!(range.min.unwrap_or(1)),
        ShapeKind::Boolean => json!(true),
        ShapeKind::Timestamp => json!(1698245002.065),
        ShapeKind::List(rules) => {
            let count = if full {
                1
            } else {
                rules.length.min.unwrap_or(0)
            };
            (0..count)
                .map(|_| build(rules.member, full, variant))
                .collect()
        }
        ShapeKind::Map(rules) => {
            let mut object = Map::new();
            if full {
                let key = build(rules.key, full, variant);
                let key = key.as_str().expect("map keys are strings").to_owned();
                object.insert(key, build(rules.value, full, variant));
            }
            Value::Object(object)
        }
    }
}

/// The largest number of members of a union reachable from `shape`.
fn union_width(shape: &'static Shape) -> usize {
    match &shape.kind {
        ShapeKind::Structure(members) => members
            .iter()
            .map(|m| union_width(m.shape))
            .max()
            .unwrap_or(1),
        ShapeKind::Union(members) => members
            .iter()
            .map(|m| union_width(m.shape))
            .chain([members.len()])
            .max()
            .unwrap_or(1),
        ShapeKind::List(rules) => union_width(rules.member),
        ShapeKind::Map(rules) => union_width(rules.value),
        _ => 1,
    }
}

fn decode(op: Operation, body: &Value) -> Input {
    let bytes = serde_json::to_vec(body).unwrap();
    decode_input(op, &bytes).unwrap_or_else(|e| panic!("{}: {body}: {e}", op.name()))
}

#[test]
fn every_operation_decodes_its_required_members() {
    for &op in Operation::ALL {
        let body = build(op.input_shape(), false, 0);
        let input = decode(op, &body);
        assert_eq!(input.operation(), op);
    }
}

#[test]
fn every_operation_decodes_every_member_and_serializes_back() {
    let mut bodies = 0;
    for &op in Operation::ALL {
        for variant in 0..union_width(op.input_shape()) {
            let body = build(op.input_shape(), true, variant);
            let input = decode(op, &body);
            assert_eq!(input.operation(), op);
            assert_eq!(serde_json::to_value(&input).unwrap(), body, "{}", op.name());
            bodies += 1;
        }
    }
    // ImportKey has seven ways to carry key material, ExportKey five.
    assert_eq!(bodies, Operation::ALL.len() + 6 + 4);
}

#[test]
fn create_key_as_the_sdk_sends_it() {
    let body = br#"{"KeyAttributes":{"KeyAlgorithm":"TDES_3KEY","KeyClass":"SYMMETRIC_KEY",
        "KeyModesOfUse":{"Encrypt":true,"Decrypt":true,"Wrap":true,"Unwrap":true},
        "KeyUsage":"TR31_K0_KEY_ENCRYPTION_KEY"},"Exportable":true,
        "Tags":[{"Key":"team","Value":"payments"}]}"#;
    let Input::CreateKey(input) = decode_input(Operation::CreateKey, body).unwrap() else {
        panic!("wrong variant");
    };
    let attributes = &input.key_attributes;
    assert_eq!(attributes.key_usage, KeyUsage::Tr31K0KeyEncryptionKey);
    assert_eq!(attributes.key_class, KeyClass::SymmetricKey);
    assert_eq!(attributes.key_algorithm, KeyAlgorithm::Tdes3Key);
    let modes = &attributes.key_modes_of_use;
    assert!(modes.encrypt && modes.decrypt && modes.wrap && modes.unwrap);
    assert!(!modes.sign && !modes.verify && !modes.generate && !modes.derive_key);
    assert!(!modes.no_restrictions);
    assert!(input.exportable);
    assert_eq!(input.enabled, None);
    assert_eq!(input.key_check_value_algorithm, None);
    let tags = input.tags.as_deref().unwrap();
    assert_eq!(
        (tags[0].key.as_str(), tags[0].value.as_str()),
        ("team", "payments")
    );
}

#[test]
fn import_key_tr34_union() {
    let body = json!({
        "KeyMaterial": {"Tr34KeyBlock": {
            "CertificateAuthorityPublicKeyIdentifier":
                "arn:aws:payment-cryptography:us-east-2:111122223333:key/zabouwe3574jysdl",
            "SigningKeyCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
            "ImportToken": "import-token-qgmafpaa7nr7yuhd",
            "WrappedKeyBlock": "308205A106092A864886F70D010702A0",
            "KeyBlockFormat": "X9_TR34_2012"
        }},
        "KeyCheckValueAlgorithm": "ANSI_X9_24",
        "Enabled": true
    });
    let Input::ImportKey(input) = decode(Operation::ImportKey, &body) else {
        panic!("wrong variant");
    };
    let ImportKeyMaterial::Tr34KeyBlock(block) = &input.key_material else {
        panic!("wrong union member");
    };
    assert_eq!(
        block.import_token.as_deref(),
        Some("import-token-qgmafpaa7nr7yuhd")
    );
    assert_eq!(block.wrapped_key_block, "308205A106092A864886F70D010702A0");
    assert_eq!(block.random_nonce, None);
    assert_eq!(input.enabled, Some(true));
}

#[test]
fn export_key_tr31_with_headers() {
    let body = json!({
        "ExportKeyIdentifier": "alias/bdk",
        "KeyMaterial": {"Tr31KeyBlock": {
            "WrappingKeyIdentifier": "alias/kek",
            "KeyBlockHeaders": {
                "KeyModesOfUse": {"DeriveKey": true},
                "KeyExportability": "NON_EXPORTABLE",
                "KeyVersion": "01",
                "OptionalBlocks": {"KP": "10C8A1", "TS": "20240101"}
            }
        }},
        "ExportAttributes": {"ExportDukptInitialKey": {"KeySerialNumber": "FFFF9876543210E00001"}}
    });
    let Input::ExportKey(input) = decode(Operation::ExportKey, &body) else {
        panic!("wrong variant");
    };
    let ExportKeyMaterial::Tr31KeyBlock(block) = &input.key_material else {
        panic!("wrong union member");
    };
    let headers = block.key_block_headers.as_ref().unwrap();
    assert!(headers.key_modes_of_use.as_ref().unwrap().derive_key);
    assert_eq!(headers.key_version.as_deref(), Some("01"));
    let blocks = headers.optional_blocks.as_ref().unwrap();
    assert_eq!(blocks.get("TS").map(String::as_str), Some("20240101"));
    let dukpt = input
        .export_attributes
        .unwrap()
        .export_dukpt_initial_key
        .unwrap();
    assert_eq!(dukpt.key_serial_number, "FFFF9876543210E00001");
}

#[test]
fn empty_and_whitespace_bodies_are_empty_objects() {
    for body in [&b""[..], b"  \r\n"] {
        let Input::ListKeys(input) = decode_input(Operation::ListKeys, body).unwrap() else {
            panic!("wrong variant");
        };
        assert_eq!(input, Default::default());
    }
    assert!(decode_input(Operation::GetDefaultKeyReplicationRegions, b"").is_ok());
}

#[test]
fn null_is_absent_and_unknown_members_are_ignored() {
    let body = json!({
        "KeyAttributes": {
            "KeyUsage": "TR31_P0_PIN_ENCRYPTION_KEY", "KeyClass": "SYMMETRIC_KEY",
            "KeyAlgorithm": "AES_128", "KeyModesOfUse": {"Encrypt": null, "NoRestrictions": true},
            "FutureAttribute": [1, 2]
        },
        "Exportable": false,
        "Enabled": null,
        "Tags": null,
        "SomethingNew": {"x": 1}
    });
    let Input::CreateKey(input) = decode(Operation::CreateKey, &body) else {
        panic!("wrong variant");
    };
    assert_eq!(input.enabled, None);
    assert_eq!(input.tags, None);
    assert!(!input.key_attributes.key_modes_of_use.encrypt);
    assert!(input.key_attributes.key_modes_of_use.no_restrictions);

    // An unknown member beside the one union member set is ignored too, and so is a null one.
    let body = json!({"KeyMaterial": {
        "Tr31KeyBlock": {"WrappingKeyIdentifier": "alias/kek",
            "WrappedKeyBlock": sample_string(Shape::find("Tr31WrappedKeyBlock").unwrap())},
        "KeyCryptogram": null,
        "QuantumKeyBlock": {}
    }});
    let Input::ImportKey(input) = decode(Operation::ImportKey, &body) else {
        panic!("wrong variant");
    };
    assert!(matches!(
        input.key_material,
        ImportKeyMaterial::Tr31KeyBlock(_)
    ));
}

#[test]
fn integral_numbers_in_any_notation_are_integers() {
    for body in [
        &br#"{"MaxResults": 5}"#[..],
        br#"{"MaxResults": 5.0}"#,
        br#"{"MaxResults": 5e0}"#,
    ] {
        let Input::ListKeys(input) = decode_input(Operation::ListKeys, body).unwrap() else {
            panic!("wrong variant");
        };
        assert_eq!(input.max_results, Some(5));
    }
}

#[test]
fn patterns_hold_their_alternatives_and_anchors() {
    let export = |serial: &str| {
        let body = json!({
            "ExportKeyIdentifier": "alias/bdk",
            "KeyMaterial": {"Tr31KeyBlock": {"WrappingKeyIdentifier": "alias/kek"}},
            "ExportAttributes": {"ExportDukptInitialKey": {"KeySerialNumber": serial}}
        });
        decode_input(Operation::ExportKey, body.to_string().as_bytes())
    };
    // ^[0-9A-F]{20}$|^[0-9A-F]{24}$: 20 or 24 upper-case hex digits, nothing in between.
    assert!(export("FFFF9876543210E00001").is_ok());
    assert!(export("FFFF9876543210E000010000").is_ok());
    assert!(export("FFFF9876543210E0000100").is_err());
    assert!(export("ffff9876543210e00001").is_err());

    let alias = |name: &str| {
        let body = json!({ "AliasName": name });
        decode_input(Operation::CreateAlias, body.to_string().as_bytes())
    };
    assert!(alias("alias/a/b_c-d").is_ok());
    // Anchored at both ends: no prefix, no suffix.
    assert!(alias("xalias/abc").is_err());
    assert!(alias("alias/abc def").is_err());
    assert!(alias("alias/abc\n").is_err());

    let token = |token: &str| {
        let body = json!({"KeyMaterial": {"Tr34KeyBlock": {
            "CertificateAuthorityPublicKeyIdentifier": "alias/ca",
            "SigningKeyCertificate": "LS0t",
            "ImportToken": token,
            "WrappedKeyBlock": "3082",
            "KeyBlockFormat": "X9_TR34_2012"
        }}});
        decode_input(Operation::ImportKey, body.to_string().as_bytes())
    };
    // ^(import-token-[0-9a-zA-Z]{16,64})?$
    assert!(token("import-token-qgmafpaa7nr7yuhd").is_ok());
    assert!(token("").is_ok());
    assert!(token("import-token-short").is_err());
    assert!(token("export-token-qgmafpaa7nr7yuhd").is_err());
}
