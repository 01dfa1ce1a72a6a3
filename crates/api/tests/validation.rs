//! Invalid requests are refused with AWS's codes and messages: one test per kind of rule in the
//! service model (required, enum, length, pattern, range, list size, list entries, map keys
//! and values, unions), then JSON type mismatches and bodies that are not JSON objects.

use paycrypt_api::{ApiError, ErrorCode, Input, Operation, decode_input};
use serde_json::{Value, json};

fn refuse(op: Operation, body: &Value) -> ApiError {
    let bytes = serde_json::to_vec(body).unwrap();
    match decode_input(op, &bytes) {
        Ok(input) => panic!("{} accepted {body}: {input:?}", op.name()),
        Err(error) => error,
    }
}

fn validation(op: Operation, body: Value) -> String {
    let error = refuse(op, &body);
    assert_eq!(
        error.code,
        ErrorCode::ValidationException,
        "{}",
        error.message
    );
    assert_eq!(error.resource_id, None);
    error.message
}

fn serialization(op: Operation, body: &[u8]) -> String {
    let error = decode_input(op, body).expect_err("accepted");
    assert_eq!(
        error.code,
        ErrorCode::SerializationException,
        "{}",
        error.message
    );
    error.message
}

fn key_attributes(usage: &str) -> Value {
    json!({
        "KeyUsage": usage,
        "KeyClass": "SYMMETRIC_KEY",
        "KeyAlgorithm": "TDES_2KEY",
        "KeyModesOfUse": {"Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true}
    })
}

const TR31_BLOCK: &str = "D0112K0TB00E0000B82E3D6A2C6D4B0F2F7C2E0C8A1F1B8E9C2E0D3F4A5B6C7D8E9F0A1B";

#[test]
fn required_members() {
    assert_eq!(
        validation(
            Operation::CreateKey,
            json!({"KeyAttributes": key_attributes("TR31_K0_KEY_ENCRYPTION_KEY")})
        ),
        "1 validation error detected: Value null at 'exportable' failed to satisfy constraint: \
         Member must not be null"
    );
    // Explicit null is absence, and nested structures are checked too.
    assert_eq!(
        validation(
            Operation::CreateKey,
            json!({"KeyAttributes": {"KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
                "KeyClass": null, "KeyAlgorithm": "TDES_2KEY", "KeyModesOfUse": {}},
                "Exportable": null})
        ),
        "2 validation errors detected: Value null at 'keyAttributes.keyClass' failed to satisfy \
         constraint: Member must not be null; Value null at 'exportable' failed to satisfy \
         constraint: Member must not be null"
    );
    // An empty body has none of the required members.
    let error = decode_input(Operation::CreateKey, b"").unwrap_err();
    assert_eq!(
        error.message,
        "2 validation errors detected: Value null at 'keyAttributes' failed to satisfy \
         constraint: Member must not be null; Value null at 'exportable' failed to satisfy \
         constraint: Member must not be null"
    );
}

#[test]
fn enum_values() {
    assert_eq!(
        validation(
            Operation::CreateKey,
            json!({"KeyAttributes": key_attributes("abc"), "Exportable": true})
        ),
        "1 validation error detected: Value 'abc' at 'keyAttributes.keyUsage' failed to satisfy \
         constraint: Member must satisfy enum value set: [TR31_B0_BASE_DERIVATION_KEY, \
         TR31_C0_CARD_VERIFICATION_KEY, TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY, \
         TR31_D1_ASYMMETRIC_KEY_FOR_DATA_ENCRYPTION, TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS, \
         TR31_E1_EMV_MKEY_CONFIDENTIALITY, TR31_E2_EMV_MKEY_INTEGRITY, \
         TR31_E4_EMV_MKEY_DYNAMIC_NUMBERS, TR31_E5_EMV_MKEY_CARD_PERSONALIZATION, \
         TR31_E6_EMV_MKEY_OTHER, TR31_K0_KEY_ENCRYPTION_KEY, TR31_K1_KEY_BLOCK_PROTECTION_KEY, \
         TR31_K3_ASYMMETRIC_KEY_FOR_KEY_AGREEMENT, TR31_M0_ISO_16609_MAC_KEY, \
         TR31_M3_ISO_9797_3_MAC_KEY, TR31_M1_ISO_9797_1_MAC_KEY, TR31_M6_ISO_9797_5_CMAC_KEY, \
         TR31_M7_HMAC_KEY, TR31_P0_PIN_ENCRYPTION_KEY, TR31_P1_PIN_GENERATION_KEY, \
         TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE, TR31_V1_IBM3624_PIN_VERIFICATION_KEY, \
         TR31_V2_VISA_PIN_VERIFICATION_KEY, TR31_K2_TR34_ASYMMETRIC_KEY]"
    );
    // Enum values are case-sensitive.
    assert_eq!(
        validation(Operation::ListKeys, json!({"KeyState": "create_complete"})),
        "1 validation error detected: Value 'create_complete' at 'keyState' failed to satisfy \
         constraint: Member must satisfy enum value set: [CREATE_IN_PROGRESS, CREATE_COMPLETE, \
         DELETE_PENDING, DELETE_COMPLETE]"
    );
}

#[test]
fn string_lengths() {
    let long = format!("alias/{}", "a".repeat(251));
    assert_eq!(
        validation(Operation::CreateAlias, json!({ "AliasName": long })),
        format!(
            "1 validation error detected: Value '{}...' at 'aliasName' failed to satisfy \
             constraint: Member must have length less than or equal to 256",
            &long[..253]
        )
    );
    assert_eq!(
        validation(Operation::ListKeys, json!({"NextToken": ""})),
        "1 validation error detected: Value '' at 'nextToken' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    );
    // Lengths count characters, not bytes: 200 two-byte characters are within MpaRequesterComment's 200.
    let comment = "é".repeat(200);
    let body = json!({"Action": "IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE", "RequesterComment": comment});
    assert!(decode_input(Operation::DisassociateMpaTeam, body.to_string().as_bytes()).is_ok());
}

#[test]
fn patterns() {
    assert_eq!(
        validation(
            Operation::CreateAlias,
            json!({"AliasName": "alias/bad name!"})
        ),
        "1 validation error detected: Value 'alias/bad name!' at 'aliasName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$"
    );
    // Too short and not matching: both are reported.
    assert_eq!(
        validation(Operation::GetAlias, json!({"AliasName": "alias/"})),
        "2 validation errors detected: Value 'alias/' at 'aliasName' failed to satisfy \
         constraint: Member must have length greater than or equal to 7; Value 'alias/' at \
         'aliasName' failed to satisfy constraint: Member must satisfy regular expression \
         pattern: ^alias/[a-zA-Z0-9/_-]+$"
    );
    assert_eq!(
        validation(
            Operation::GetResourcePolicy,
            json!({"ResourceArn": "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"})
        ),
        "1 validation error detected: Value \
         'arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' at \
         'resourceArn' failed to satisfy constraint: Member must satisfy regular expression \
         pattern: ^arn:aws:payment-cryptography:[a-z]{2}-[a-z]{1,16}-[0-9]+:[0-9]{12}:key/[0-9a-zA-Z]{16,64}$"
    );
}

#[test]
fn numeric_ranges() {
    assert_eq!(
        validation(Operation::ListKeys, json!({"MaxResults": 101})),
        "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: \
         Member must have value less than or equal to 100"
    );
    assert_eq!(
        validation(Operation::ListAliases, json!({"MaxResults": 0})),
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: \
         Member must have value greater than or equal to 1"
    );
    assert_eq!(
        validation(Operation::ListKeys, json!({"MaxResults": 1e10})),
        "1 validation error detected: Value '10000000000' at 'maxResults' failed to satisfy \
         constraint: Member must have value less than or equal to 100"
    );
    let delete = |days: i64| json!({"KeyIdentifier": "alias/old", "DeleteKeyInDays": days});
    assert_eq!(
        validation(Operation::DeleteKey, delete(2)),
        "1 validation error detected: Value '2' at 'deleteKeyInDays' failed to satisfy \
         constraint: Member must have value greater than or equal to 3"
    );
    assert_eq!(
        validation(Operation::DeleteKey, delete(181)),
        "1 validation error detected: Value '181' at 'deleteKeyInDays' failed to satisfy \
         constraint: Member must have value less than or equal to 180"
    );
    for days in [3, 7, 180] {
        assert!(decode_input(Operation::DeleteKey, delete(days).to_string().as_bytes()).is_ok());
    }
}

#[test]
fn list_sizes() {
    let arn = "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h";
    let tags: Vec<Value> = (0..201)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let message = validation(
        Operation::TagResource,
        json!({"ResourceArn": arn, "Tags": tags}),
    );
    assert!(
        message.starts_with("1 validation error detected: Value '[{Key=k0, Value=v}, {Key=k1, "),
        "{message}"
    );
    assert!(
        message.ends_with(
            "...' at 'tags' failed to satisfy constraint: Member must have length less than or \
             equal to 200"
        ),
        "{message}"
    );
    let tags = &tags[..200];
    let body = json!({"ResourceArn": arn, "Tags": tags});
    assert!(decode_input(Operation::TagResource, body.to_string().as_bytes()).is_ok());
}

#[test]
fn list_entries() {
    let arn = "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h";
    // Structures in a list: one path per entry, counted from 1.
    assert_eq!(
        validation(
            Operation::TagResource,
            json!({"ResourceArn": arn, "Tags": [{"Key": "", "Value": "v"}, {"Key": "k"}, null]})
        ),
        "3 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy \
         constraint: Member must have length greater than or equal to 1; Value null at \
         'tags.2.member.value' failed to satisfy constraint: Member must not be null; Value null \
         at 'tags.3.member' failed to satisfy constraint: Member must not be null"
    );
    // Strings in a list: one error for the list, naming every rule of the entries.
    assert_eq!(
        validation(
            Operation::UntagResource,
            json!({"ResourceArn": arn, "TagKeys": ["team", ""]})
        ),
        "1 validation error detected: Value '[team, ]' at 'tagKeys' failed to satisfy \
         constraint: Member must satisfy constraint: [Member must have length less than or \
         equal to 128, Member must have length greater than or equal to 1]"
    );
    assert_eq!(
        validation(
            Operation::EnableDefaultKeyReplicationRegions,
            json!({"ReplicationRegions": ["us-east-1", "Mars"]})
        ),
        "1 validation error detected: Value '[us-east-1, Mars]' at 'replicationRegions' failed \
         to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular \
         expression pattern: ^[a-z]{2}-[a-z]{1,16}-[0-9]+$]"
    );
}

#[test]
fn map_keys_and_values() {
    let export = |blocks: Value| {
        json!({
            "ExportKeyIdentifier": "alias/bdk",
            "KeyMaterial": {"Tr31KeyBlock": {
                "WrappingKeyIdentifier": "alias/kek",
                "KeyBlockHeaders": {"OptionalBlocks": blocks}
            }}
        })
    };
    // Optional block ids and values are sensitive: the map is named but not shown.
    assert_eq!(
        validation(
            Operation::ExportKey,
            export(json!({"kp": "10C8A1", "TS": "2024"}))
        ),
        "1 validation error detected: Value at \
         'keyMaterial.tr31KeyBlock.keyBlockHeaders.optionalBlocks' failed to satisfy constraint: \
         Map keys must satisfy constraint: [Member must have length less than or equal to 2, \
         Member must have length greater than or equal to 2, Member must satisfy regular \
         expression pattern: ^[0-9A-Z]{2}+$]"
    );
    assert_eq!(
        validation(
            Operation::ExportKey,
            export(json!({"KP": "10-C8", "TS": ""}))
        ),
        "1 validation error detected: Value at \
         'keyMaterial.tr31KeyBlock.keyBlockHeaders.optionalBlocks' failed to satisfy constraint: \
         Map value must satisfy constraint: [Member must have length less than or equal to 108, \
         Member must have length greater than or equal to 1, Member must satisfy regular \
         expression pattern: ^[0-9a-zA-Z]+$]"
    );
    // `{2}+` is Java's possessive `{2}`: exactly two characters, checked by pattern and length.
    let message = validation(Operation::ExportKey, export(json!({"KPKP": "10C8A1"})));
    assert!(
        message.contains("Map keys must satisfy constraint"),
        "{message}"
    );
}

#[test]
fn unions_need_exactly_one_member() {
    assert_eq!(
        validation(Operation::ImportKey, json!({"KeyMaterial": {}})),
        "1 validation error detected: Value at 'keyMaterial' failed to satisfy constraint: \
         Union must have exactly one member set, found 0"
    );
    let two = json!({"KeyMaterial": {
        "Tr31KeyBlock": {"WrappingKeyIdentifier": "alias/kek", "WrappedKeyBlock": TR31_BLOCK},
        "KeyCryptogram": {
            "KeyAttributes": key_attributes("TR31_K0_KEY_ENCRYPTION_KEY"),
            "Exportable": true,
            "WrappedKeyCryptogram": "0123456789ABCDEF0123456789ABCDEF",
            "ImportToken": "import-token-qgmafpaa7nr7yuhd"
        }
    }});
    assert_eq!(
        validation(Operation::ImportKey, two),
        "1 validation error detected: Value at 'keyMaterial' failed to satisfy constraint: \
         Union must have exactly one member set, found 2"
    );
    // The member that is set is checked like any structure.
    assert_eq!(
        validation(
            Operation::ImportKey,
            json!({"KeyMaterial": {"Tr31KeyBlock": {"WrappedKeyBlock": TR31_BLOCK}}})
        ),
        "1 validation error detected: Value null at \
         'keyMaterial.tr31KeyBlock.wrappingKeyIdentifier' failed to satisfy constraint: Member \
         must not be null"
    );
    assert_eq!(
        validation(
            Operation::ExportKey,
            json!({"ExportKeyIdentifier": "alias/bdk"})
        ),
        "1 validation error detected: Value null at 'keyMaterial' failed to satisfy constraint: \
         Member must not be null"
    );
}

#[test]
fn every_violation_is_reported() {
    let body = json!({
        "KeyAttributes": {"KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY", "KeyClass": "SECRET",
            "KeyAlgorithm": "DES", "KeyModesOfUse": {}},
        "Tags": [{"Key": "k", "Value": ""}],
        "ReplicationRegions": ["moon"]
    });
    assert_eq!(
        validation(Operation::CreateKey, body),
        "5 validation errors detected: Value 'SECRET' at 'keyAttributes.keyClass' failed to \
         satisfy constraint: Member must satisfy enum value set: [SYMMETRIC_KEY, \
         ASYMMETRIC_KEY_PAIR, PRIVATE_KEY, PUBLIC_KEY]; Value 'DES' at \
         'keyAttributes.keyAlgorithm' failed to satisfy constraint: Member must satisfy enum \
         value set: [TDES_2KEY, TDES_3KEY, AES_128, AES_192, AES_256, HMAC_SHA256, HMAC_SHA384, \
         HMAC_SHA512, HMAC_SHA224, RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256, ECC_NIST_P384, \
         ECC_NIST_P521]; Value null at 'exportable' failed to satisfy constraint: Member must not \
         be null; Value '' at 'tags.1.member.value' failed to satisfy constraint: Member must \
         have length greater than or equal to 1; Value '[moon]' at 'replicationRegions' failed \
         to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular \
         expression pattern: ^[a-z]{2}-[a-z]{1,16}-[0-9]+$]"
    );
}

#[test]
fn wrong_json_types_are_serialization_errors() {
    let cases: &[(Operation, &str, &str)] = &[
        (
            Operation::CreateKey,
            r#"{"KeyAttributes": "TR31_K0_KEY_ENCRYPTION_KEY", "Exportable": true}"#,
            "Expected an object at 'keyAttributes', found a string",
        ),
        (
            Operation::CreateKey,
            r#"{"KeyAttributes": {"KeyUsage": 7}, "Exportable": true}"#,
            "Expected a string at 'keyAttributes.keyUsage', found a number",
        ),
        (
            Operation::CreateKey,
            r#"{"KeyAttributes": {"KeyModesOfUse": {"Encrypt": 1}}, "Exportable": true}"#,
            "Expected a boolean at 'keyAttributes.keyModesOfUse.encrypt', found a number",
        ),
        (
            Operation::CreateKey,
            r#"{"Exportable": "true"}"#,
            "Expected a boolean at 'exportable', found a string",
        ),
        (
            Operation::CreateKey,
            r#"{"Exportable": true, "Tags": {"Key": "k", "Value": "v"}}"#,
            "Expected an array at 'tags', found an object",
        ),
        (
            Operation::TagResource,
            r#"{"Tags": [{"Key": ["k"], "Value": "v"}]}"#,
            "Expected a string at 'tags.1.member.key', found an array",
        ),
        (
            Operation::UntagResource,
            r#"{"TagKeys": ["a", false]}"#,
            "Expected a string at 'tagKeys.2.member', found a boolean",
        ),
        (
            Operation::ListKeys,
            r#"{"MaxResults": "10"}"#,
            "Expected an integer at 'maxResults', found a string",
        ),
        (
            Operation::ListKeys,
            r#"{"MaxResults": 10.5}"#,
            "Expected an integer at 'maxResults', found a number",
        ),
        (
            Operation::ImportKey,
            r#"{"KeyMaterial": ["Tr31KeyBlock"]}"#,
            "Expected an object at 'keyMaterial', found an array",
        ),
        (
            Operation::ExportKey,
            r#"{"KeyMaterial": {"Tr31KeyBlock": {"KeyBlockHeaders": {"OptionalBlocks": []}}}}"#,
            "Expected an object at 'keyMaterial.tr31KeyBlock.keyBlockHeaders.optionalBlocks', \
             found an array",
        ),
    ];
    for (op, body, expected) in cases {
        assert_eq!(serialization(*op, body.as_bytes()), *expected, "{body}");
    }
}

#[test]
fn serialization_errors_win_over_validation_errors() {
    // The enum value is wrong too, but a body that does not deserialize is refused as such.
    let body = br#"{"KeyAttributes": {"KeyUsage": "nope"}, "Exportable": "yes"}"#;
    assert_eq!(
        serialization(Operation::CreateKey, body),
        "Expected a boolean at 'exportable', found a string"
    );
}

#[test]
fn bodies_that_are_not_json_objects() {
    let message = serialization(Operation::ListKeys, b"{\"MaxResults\": ");
    assert!(
        message.starts_with("The request body is not valid JSON: "),
        "{message}"
    );
    let message = serialization(Operation::ListKeys, b"MaxResults=5");
    assert!(
        message.starts_with("The request body is not valid JSON: "),
        "{message}"
    );
    let message = serialization(
        Operation::CreateAlias,
        b"{\"AliasName\": \"alias/\xff\xfe\"}",
    );
    assert!(
        message.starts_with("The request body is not valid JSON: "),
        "{message}"
    );
    assert_eq!(
        serialization(Operation::ListKeys, b"[]"),
        "The request body must be a JSON object, found an array"
    );
    assert_eq!(
        serialization(Operation::ListKeys, b"null"),
        "The request body must be a JSON object, found null"
    );
    assert_eq!(
        serialization(Operation::ListKeys, b"\"ListKeys\""),
        "The request body must be a JSON object, found a string"
    );
}

#[test]
fn errors_render_as_aws_json_bodies() {
    let error = refuse(Operation::ListKeys, &json!({"MaxResults": 0}));
    let body: Value = serde_json::from_slice(&error.to_json()).unwrap();
    assert_eq!(body["__type"], "ValidationException");
    assert_eq!(body["message"], error.message.as_str());
    assert!(body.get("ResourceId").is_none());
    assert_eq!(error.code.http_status(), 400);
    let Err(error) = decode_input(Operation::ListKeys, b"[") else {
        panic!("accepted");
    };
    assert_eq!(error.code.as_str(), "SerializationException");
    assert_eq!(error.code.http_status(), 400);
    assert!(matches!(
        decode_input(Operation::ListKeys, b"{}"),
        Ok(Input::ListKeys(_))
    ));
}
