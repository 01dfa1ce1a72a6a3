//! Values of members the model marks sensitive (wrapped key blocks, cryptograms, key material,
//! optional block contents, requester comments) never appear in error messages or in `Debug`
//! output.

use paycrypt_api::{
    GetCertificateSigningRequestOutput, ImportKeyMaterial, ImportTr31KeyBlock, Input,
    KeyBlockHeaders, Operation, WrappedKey, WrappedKeyMaterialFormat, decode_input,
};
use serde_json::{Value, json};

const SECRET: &str = "SECRETKEYBLOCK0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

fn message(op: Operation, body: Value) -> String {
    let error = decode_input(op, body.to_string().as_bytes()).expect_err("accepted");
    error.message
}

fn import_tr31(block: Value) -> Value {
    json!({"KeyMaterial": {"Tr31KeyBlock": {
        "WrappingKeyIdentifier": "alias/kek",
        "WrappedKeyBlock": block
    }}})
}

#[test]
fn sensitive_values_are_not_echoed_in_validation_messages() {
    // Breaks the pattern ^[0-9a-zA-Z]+$ of Tr31WrappedKeyBlock.
    let bad = format!("{SECRET}-!");
    assert_eq!(
        message(Operation::ImportKey, import_tr31(json!(bad))),
        "1 validation error detected: Value at 'keyMaterial.tr31KeyBlock.wrappedKeyBlock' failed \
         to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z]+$"
    );
    // Too short for its minimum of 56.
    assert_eq!(
        message(Operation::ImportKey, import_tr31(json!(&SECRET[..20]))),
        "1 validation error detected: Value at 'keyMaterial.tr31KeyBlock.wrappedKeyBlock' failed \
         to satisfy constraint: Member must have length greater than or equal to 56"
    );

    let cryptogram = json!({"KeyMaterial": {"KeyCryptogram": {
        "KeyAttributes": {"KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY", "KeyClass": "SYMMETRIC_KEY",
            "KeyAlgorithm": "AES_128", "KeyModesOfUse": {"NoRestrictions": true}},
        "Exportable": true,
        "WrappedKeyCryptogram": "secretcryptogram0123456789abcdef",
        "ImportToken": "import-token-qgmafpaa7nr7yuhd"
    }}});
    let text = message(Operation::ImportKey, cryptogram);
    assert!(!text.contains("secretcryptogram"), "{text}");
    assert!(
        text.contains("Value at 'keyMaterial.keyCryptogram.wrappedKeyCryptogram'"),
        "{text}"
    );

    let comment = format!("approve {}", "x".repeat(200));
    let text = message(
        Operation::AssociateMpaTeam,
        json!({"Action": "IMPORT_ROOT_PUBLIC_KEY_CERTIFICATE",
            "MpaTeamArn": "arn:aws:mpa:us-east-1:111122223333:approval-team/payments",
            "RequesterComment": comment}),
    );
    assert_eq!(
        text,
        "1 validation error detected: Value at 'requesterComment' failed to satisfy constraint: \
         Member must have length less than or equal to 200"
    );

    // Neither the ids nor the contents of optional blocks, nor the map holding them.
    let text = message(
        Operation::ExportKey,
        json!({"ExportKeyIdentifier": "alias/bdk", "KeyMaterial": {"Tr31KeyBlock": {
            "WrappingKeyIdentifier": "alias/kek",
            "KeyBlockHeaders": {"OptionalBlocks": {"secretid": "SECRETVALUE"}}}}}),
    );
    assert!(
        !text.contains("secretid") && !text.contains("SECRETVALUE"),
        "{text}"
    );
}

#[test]
fn sensitive_values_are_not_echoed_in_serialization_messages() {
    let text = message(Operation::ImportKey, import_tr31(json!([SECRET])));
    assert_eq!(
        text,
        "Expected a string at 'keyMaterial.tr31KeyBlock.wrappedKeyBlock', found an array"
    );
    let text = message(
        Operation::ExportKey,
        json!({"ExportKeyIdentifier": "alias/bdk", "KeyMaterial": {"Tr31KeyBlock": {
            "WrappingKeyIdentifier": "alias/kek",
            "KeyBlockHeaders": {"OptionalBlocks": {"SECRETID": 7}}}}}),
    );
    assert!(!text.contains("SECRETID"), "{text}");
}

#[test]
fn debug_output_redacts_sensitive_members() {
    let body = json!({
        "KeyMaterial": {"Tr31KeyBlock": {"WrappingKeyIdentifier": "alias/kek", "WrappedKeyBlock": SECRET}},
        "RequesterComment": "secret comment"
    });
    let input = decode_input(Operation::ImportKey, body.to_string().as_bytes()).unwrap();
    let debug = format!("{input:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains("secret comment"),
        "{debug}"
    );
    assert!(debug.contains("alias/kek"), "{debug}");
    assert!(
        debug.contains("wrapped_key_block: <redacted>")
            && debug.contains("requester_comment: Some(<redacted>)"),
        "{debug}"
    );
    let Input::ImportKey(input) = input else {
        panic!("wrong variant");
    };
    let ImportKeyMaterial::Tr31KeyBlock(block) = &input.key_material else {
        panic!("wrong union member");
    };
    assert_eq!(block.wrapped_key_block, SECRET);
    let block = ImportTr31KeyBlock {
        wrapping_key_identifier: "alias/kek".into(),
        wrapped_key_block: SECRET.into(),
    };
    assert!(!format!("{block:#?}").contains(SECRET));

    let wrapped = WrappedKey {
        wrapping_key_arn:
            "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h".into(),
        wrapped_key_material_format: WrappedKeyMaterialFormat::Tr31KeyBlock,
        key_material: SECRET.into(),
        key_check_value: Some("A1B2C3".into()),
        key_check_value_algorithm: None,
    };
    let debug = format!("{wrapped:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(
        debug.contains("A1B2C3") && debug.contains("key_material: <redacted>"),
        "{debug}"
    );
    // Serialization is the point of these types: the wire form does carry the material.
    assert_eq!(
        serde_json::to_value(&wrapped).unwrap()["KeyMaterial"],
        SECRET
    );

    let csr = GetCertificateSigningRequestOutput {
        certificate_signing_request: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0=".into(),
    };
    assert!(!format!("{csr:?}").contains("LS0tLS1"));

    let headers = KeyBlockHeaders {
        optional_blocks: Some([("KP".to_owned(), "SECRETVALUE".to_owned())].into()),
        key_version: Some("01".into()),
        ..Default::default()
    };
    let debug = format!("{headers:?}");
    assert!(
        !debug.contains("SECRETVALUE") && !debug.contains("KP"),
        "{debug}"
    );
    assert!(debug.contains("\"01\""), "{debug}");
    assert_eq!(
        format!("{:?}", KeyBlockHeaders::default())
            .matches("<redacted>")
            .count(),
        0
    );
}
