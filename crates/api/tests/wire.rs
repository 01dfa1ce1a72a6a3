//! The wire forms that are not request validation: timestamps, output shapes, the operation
//! table and enums against the service model, the schema against the model, every model
//! pattern under the `regex` crate, and error codes with their statuses and JSON bodies.

use std::collections::BTreeSet;

use paycrypt_api::schema::{Shape, ShapeKind};
use paycrypt_api::{
    ApiError, CreateKeyOutput, ErrorCode, Key, KeyAlgorithm, KeyAttributes, KeyCheckValueAlgorithm,
    KeyClass, KeyModesOfUse, KeyOrigin, KeyState, KeyUsage, ListKeysOutput, Operation, SHAPES,
    TARGET_PREFIX, Timestamp, WrappedKeyMaterialFormat,
};
use serde_json::{Value, json};

/// The service model, read independently of the generator.
fn model() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../model/service-2.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn timestamps_are_epoch_seconds_with_a_fraction() {
    let ts = Timestamp::from_millis(1_698_245_002_065);
    assert_eq!(ts.as_millis(), 1_698_245_002_065);
    assert_eq!(serde_json::to_string(&ts).unwrap(), "1698245002.065");
    let whole = Timestamp::from_millis(1_698_245_002_000);
    assert_eq!(serde_json::to_string(&whole).unwrap(), "1698245002.0");
    let parse = |text: &str| serde_json::from_str::<Timestamp>(text).map(Timestamp::as_millis);
    assert_eq!(parse("1698245002.065").unwrap(), 1_698_245_002_065);
    assert_eq!(parse("1698245002").unwrap(), 1_698_245_002_000);
    assert_eq!(parse("1.5").unwrap(), 1_500);
    assert_eq!(parse("-1.25").unwrap(), -1_250);
    assert!(parse("\"2023-10-25T14:43:22Z\"").is_err());
    assert!(parse("1e300").is_err());
    for millis in [
        0,
        1,
        999,
        1_000,
        1_698_245_002_065,
        4_102_444_800_001,
        -86_400_001,
    ] {
        let ts = Timestamp::from_millis(millis);
        let text = serde_json::to_string(&ts).unwrap();
        assert_eq!(
            serde_json::from_str::<Timestamp>(&text).unwrap(),
            ts,
            "{text}"
        );
    }
    assert!(Timestamp::from_millis(1) < Timestamp::from_millis(2));
}

fn sample_key() -> Key {
    Key {
        key_arn: "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h".into(),
        key_attributes: KeyAttributes {
            key_usage: KeyUsage::Tr31K0KeyEncryptionKey,
            key_class: KeyClass::SymmetricKey,
            key_algorithm: KeyAlgorithm::Tdes3Key,
            key_modes_of_use: KeyModesOfUse {
                encrypt: true,
                decrypt: true,
                wrap: true,
                unwrap: true,
                ..Default::default()
            },
        },
        key_check_value: "B72F".into(),
        key_check_value_algorithm: KeyCheckValueAlgorithm::AnsiX924,
        enabled: true,
        exportable: true,
        key_state: KeyState::CreateComplete,
        key_origin: KeyOrigin::AwsPaymentCryptography,
        create_timestamp: Timestamp::from_millis(1_698_245_002_065),
        usage_start_timestamp: Some(Timestamp::from_millis(1_698_245_002_000)),
        usage_stop_timestamp: None,
        delete_pending_timestamp: None,
        delete_timestamp: None,
        derive_key_usage: None,
        multi_region_key_type: None,
        primary_region: None,
        replication_status: None,
        using_default_replication_regions: None,
        mpa_status: None,
    }
}

#[test]
fn create_key_output_uses_pascal_case_and_omits_absent_members() {
    let output = CreateKeyOutput { key: sample_key() };
    let json = serde_json::to_value(&output).unwrap();
    assert_eq!(
        json,
        json!({"Key": {
            "KeyArn": "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h",
            "KeyAttributes": {
                "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
                "KeyClass": "SYMMETRIC_KEY",
                "KeyAlgorithm": "TDES_3KEY",
                "KeyModesOfUse": {
                    "Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true,
                    "Generate": false, "Sign": false, "Verify": false, "DeriveKey": false,
                    "NoRestrictions": false
                }
            },
            "KeyCheckValue": "B72F",
            "KeyCheckValueAlgorithm": "ANSI_X9_24",
            "Enabled": true,
            "Exportable": true,
            "KeyState": "CREATE_COMPLETE",
            "KeyOrigin": "AWS_PAYMENT_CRYPTOGRAPHY",
            "CreateTimestamp": 1698245002.065,
            "UsageStartTimestamp": 1698245002.0
        }})
    );
    // And a response in that form (as an SDK would receive it) reads back.
    let back: CreateKeyOutput = serde_json::from_value(json).unwrap();
    assert_eq!(back, output);
}

#[test]
fn list_keys_output_reads_a_service_response() {
    let response = r#"{"Keys":[{"KeyArn":"arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h",
        "KeyAttributes":{"KeyAlgorithm":"TDES_2KEY","KeyClass":"SYMMETRIC_KEY",
        "KeyModesOfUse":{"Decrypt":false,"DeriveKey":false,"Encrypt":false,"Generate":true,
        "NoRestrictions":false,"Sign":false,"Unwrap":false,"Verify":true,"Wrap":false},
        "KeyUsage":"TR31_C0_CARD_VERIFICATION_KEY"},"KeyCheckValue":"7CC4F2",
        "Enabled":true,"Exportable":true,"KeyState":"CREATE_COMPLETE"}]}"#;
    let output: ListKeysOutput = serde_json::from_str(response).unwrap();
    let key = &output.keys[0];
    assert_eq!(
        key.key_attributes.key_usage,
        KeyUsage::Tr31C0CardVerificationKey
    );
    assert!(key.key_attributes.key_modes_of_use.generate);
    assert_eq!(output.next_token, None);
    let json = serde_json::to_value(&output).unwrap();
    assert!(json.get("NextToken").is_none());
    assert_eq!(json["Keys"][0]["KeyCheckValue"], "7CC4F2");
}

#[test]
fn operations_match_the_model() {
    let model = model();
    let operations = model["operations"].as_object().unwrap();
    assert_eq!(Operation::ALL.len(), 32);
    assert_eq!(operations.len(), 32);
    for &op in Operation::ALL {
        assert_eq!(Operation::from_name(op.name()), Some(op));
        let entry = &operations[op.name()];
        assert_eq!(op.input_shape().name, entry["input"]["shape"]);
        assert_eq!(op.output_shape().name, entry["output"]["shape"]);
    }
    let names: BTreeSet<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    let modelled: BTreeSet<&str> = operations.keys().map(String::as_str).collect();
    assert_eq!(names, modelled);
    assert_eq!(
        Operation::from_name("CreateKey"),
        Some(Operation::CreateKey)
    );
    assert_eq!(Operation::from_name("createKey"), None);
    assert_eq!(Operation::from_name("EncryptData"), None);
    assert_eq!(Operation::from_name(""), None);
    assert_eq!(TARGET_PREFIX, model["metadata"]["targetPrefix"]);
}

#[test]
fn enums_match_the_model() {
    let model = model();
    let values = |shape: &str| -> Vec<String> {
        serde_json::from_value(model["shapes"][shape]["enum"].clone()).unwrap()
    };
    fn wire<T: serde::Serialize>(all: &[T]) -> Vec<String> {
        all.iter()
            .map(|v| {
                serde_json::to_value(v)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
    assert_eq!(wire(KeyUsage::ALL), values("KeyUsage"));
    assert_eq!(wire(KeyAlgorithm::ALL), values("KeyAlgorithm"));
    assert_eq!(wire(KeyState::ALL), values("KeyState"));
    assert_eq!(
        wire(WrappedKeyMaterialFormat::ALL),
        values("WrappedKeyMaterialFormat")
    );
    for &usage in KeyUsage::ALL {
        assert_eq!(serde_json::to_value(usage).unwrap(), usage.as_str());
        assert_eq!(KeyUsage::parse(usage.as_str()), Some(usage));
        assert_eq!(usage.to_string(), usage.as_str());
        let back: KeyUsage = serde_json::from_value(json!(usage.as_str())).unwrap();
        assert_eq!(back, usage);
    }
    assert_eq!(
        KeyUsage::Tr31K0KeyEncryptionKey.as_str(),
        "TR31_K0_KEY_ENCRYPTION_KEY"
    );
    assert_eq!(KeyAlgorithm::Tdes2Key.as_str(), "TDES_2KEY");
    assert_eq!(KeyAlgorithm::EccNistP521.as_str(), "ECC_NIST_P521");
    assert_eq!(KeyUsage::parse("tr31_k0_key_encryption_key"), None);
}

#[test]
fn schema_matches_the_model() {
    let model = model();
    let shapes = model["shapes"].as_object().unwrap();
    let modelled: BTreeSet<&str> = shapes
        .iter()
        .filter(|(_, shape)| shape.get("exception").is_none())
        .map(|(name, _)| name.as_str())
        .collect();
    let schema: BTreeSet<&str> = SHAPES.iter().map(|shape| shape.name).collect();
    assert_eq!(schema, modelled);
    for shape in SHAPES {
        let def = &shapes[shape.name];
        assert_eq!(
            shape.sensitive,
            def.get("sensitive").is_some(),
            "{}",
            shape.name
        );
        match &shape.kind {
            ShapeKind::Structure(members) | ShapeKind::Union(members) => {
                let names: Vec<&str> = members.iter().map(|m| m.name).collect();
                let def_members = def["members"].as_object().unwrap();
                assert_eq!(names.len(), def_members.len(), "{}", shape.name);
                let required = def.get("required").cloned().unwrap_or(json!([]));
                for member in *members {
                    assert_eq!(member.shape.name, def_members[member.name]["shape"]);
                    let listed = required.as_array().unwrap().contains(&json!(member.name));
                    assert_eq!(member.required, listed, "{}.{}", shape.name, member.name);
                }
                assert_eq!(
                    matches!(shape.kind, ShapeKind::Union(_)),
                    def.get("union").is_some()
                );
            }
            ShapeKind::String(rules) => {
                assert_eq!(rules.length.min.map(Value::from), def.get("min").cloned());
                assert_eq!(rules.length.max.map(Value::from), def.get("max").cloned());
                let values = def.get("enum").cloned().unwrap_or(json!([]));
                assert_eq!(json!(rules.values), values, "{}", shape.name);
                if let Some(pattern) = &rules.pattern {
                    let source = def["pattern"].as_str().unwrap();
                    assert_eq!(pattern.source, format!("^{source}$"), "{}", shape.name);
                }
            }
            ShapeKind::Integer(range) => {
                assert_eq!(range.min.map(Value::from), def.get("min").cloned());
                assert_eq!(range.max.map(Value::from), def.get("max").cloned());
            }
            ShapeKind::List(rules) => {
                assert_eq!(rules.member.name, def["member"]["shape"]);
                assert_eq!(rules.length.max.map(Value::from), def.get("max").cloned());
            }
            ShapeKind::Map(rules) => {
                assert_eq!(rules.key.name, def["key"]["shape"]);
                assert_eq!(rules.value.name, def["value"]["shape"]);
            }
            ShapeKind::Boolean | ShapeKind::Timestamp => {}
        }
    }
    assert!(Shape::find("AliasName").is_some());
    assert!(Shape::find("ValidationException").is_none());
}

#[test]
fn every_model_pattern_compiles_with_the_regex_crate() {
    let mut count = 0;
    for shape in SHAPES {
        if let ShapeKind::String(rules) = &shape.kind
            && let Some(pattern) = &rules.pattern
        {
            let regex = regex::Regex::new(pattern.regex)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", shape.name, pattern.regex));
            assert!(pattern.regex.starts_with('^') && pattern.regex.ends_with('$'));
            if shape.name == "KeyVersion" {
                // Java's possessive `{2}+` means exactly two, not a repetition of pairs.
                assert!(regex.is_match("0A") && !regex.is_match("0A0B"));
            }
            count += 1;
        }
    }
    let model = model();
    let modelled = model["shapes"]
        .as_object()
        .unwrap()
        .values()
        .filter(|shape| shape.get("pattern").is_some())
        .count();
    assert_eq!(count, modelled);
}

#[test]
fn error_codes_and_statuses() {
    let expected = [
        (ErrorCode::ValidationException, 400),
        (ErrorCode::AccessDeniedException, 403),
        (ErrorCode::ResourceNotFoundException, 404),
        (ErrorCode::ConflictException, 409),
        (ErrorCode::ServiceQuotaExceededException, 402),
        (ErrorCode::ThrottlingException, 429),
        (ErrorCode::InternalServerException, 500),
        (ErrorCode::ServiceUnavailableException, 503),
        (ErrorCode::PublicPolicyException, 400),
        (ErrorCode::UnknownOperationException, 400),
        (ErrorCode::SerializationException, 400),
        (ErrorCode::UnrecognizedClientException, 403),
        (ErrorCode::InvalidSignatureException, 403),
        (ErrorCode::IncompleteSignatureException, 403),
        (ErrorCode::MissingAuthenticationTokenException, 403),
        (ErrorCode::RequestEntityTooLargeException, 413),
        (ErrorCode::VerificationFailedException, 400),
    ];
    assert_eq!(ErrorCode::ALL.len(), expected.len() + 1);
    for (code, status) in expected {
        assert_eq!(code.http_status(), status, "{code}");
        assert_eq!(code.as_str(), format!("{code:?}"));
        assert!(ErrorCode::ALL.contains(&code));
    }
    // A data-plane path that names no operation: the same code, with rest-json's 404.
    assert_eq!(
        ErrorCode::UnknownOperationPath.as_str(),
        "UnknownOperationException"
    );
    assert_eq!(ErrorCode::UnknownOperationPath.http_status(), 404);
    // Every error shape of both models has a code.
    let data_model: serde_json::Value =
        serde_json::from_str(include_str!("../../../model/data/service-2.json")).unwrap();
    for model in [model(), data_model] {
        for (name, shape) in model["shapes"].as_object().unwrap() {
            if shape.get("exception").is_some() {
                assert!(
                    ErrorCode::ALL.iter().any(|code| code.as_str() == name),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn api_errors_serialize_as_aws_error_bodies() {
    let error = ApiError::not_found(
        "Key arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h is not found",
        "arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h",
    );
    assert_eq!(error.code, ErrorCode::ResourceNotFoundException);
    assert_eq!(
        String::from_utf8(error.to_json()).unwrap(),
        "{\"__type\":\"ResourceNotFoundException\",\"message\":\"Key \
         arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h is not \
         found\",\"ResourceId\":\"arn:aws:payment-cryptography:us-east-2:111122223333:key/kwapwa6qaifllw2h\"}"
    );
    let error = ApiError::conflict("Alias \"alias/x\" already exists");
    assert_eq!(
        String::from_utf8(error.to_json()).unwrap(),
        r#"{"__type":"ConflictException","message":"Alias \"alias/x\" already exists"}"#
    );
    assert_eq!(
        error.to_string(),
        "ConflictException: Alias \"alias/x\" already exists"
    );
    let constructors = [
        (ApiError::validation("v"), ErrorCode::ValidationException),
        (
            ApiError::quota("q"),
            ErrorCode::ServiceQuotaExceededException,
        ),
        (
            ApiError::access_denied("a"),
            ErrorCode::AccessDeniedException,
        ),
        (ApiError::internal("i"), ErrorCode::InternalServerException),
        (
            ApiError::new(ErrorCode::ThrottlingException, "t"),
            ErrorCode::ThrottlingException,
        ),
    ];
    for (error, code) in constructors {
        assert_eq!(error.code, code);
        assert_eq!(error.resource_id, None);
    }
    let boxed: Box<dyn std::error::Error> = Box::new(ApiError::validation("bad"));
    assert_eq!(boxed.to_string(), "ValidationException: bad");
}
