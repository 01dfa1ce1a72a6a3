//! The [`data_ops`] target: data-plane requests decoded as the server decodes them and then run
//! by the service against real keys, so the cryptography behind every operation (PIN blocks,
//! DUKPT, EMV session keys, card validation data, MACs, encryption modes, dynamic keys) meets
//! whatever values the model's constraints let through. A panic anywhere is a finding: the server
//! would drop the connection instead of answering.
//!
//! The service runs on a SQLite store in a fresh temporary directory, set up once per process with
//! one key of each kind in `data_ops_keys.json` (the key attributes the Python data-plane tests
//! use), each under the alias `alias/fuzz-N` (its position in that list): symmetric keys with
//! fixed material, so that a finding replays; key pairs generated; public keys (which come only
//! from certificates) left out, so their aliases name no key. The seeds in `seeds/data_ops/`
//! (`make_data_ops_seeds.py`) are the requests of those tests with their keys renamed so, and
//! their dynamic keys and PIN blocks remade under these keys.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use paycrypt_api::data::{Operation, decode_input};
use paycrypt_api::{AnyOperation, Timestamp};
use paycrypt_service::{Caller, Context, Limits, Plane, Sealer, Service, TokenPolicy};
use paycrypt_store::SqliteStore;

/// The key kinds made at start-up: a JSON list of CreateKey `KeyAttributes`.
const KEY_KINDS: &str = include_str!("../data_ops_keys.json");
const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    service: Service,
}

/// Where a process keeps its store: `paycrypt-fuzz-data-ops-PID` in the system's temporary
/// directory. A static is never dropped, so each process removes the directories of processes
/// that have ended instead.
fn store_dir() -> PathBuf {
    const PREFIX: &str = "paycrypt-fuzz-data-ops-";
    let temp = std::env::temp_dir();
    for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix(PREFIX));
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    temp.join(format!("{PREFIX}{}", std::process::id()))
}

fn context(operation: AnyOperation) -> Context {
    Context {
        account: ACCOUNT.to_string(),
        caller: Caller {
            plane: Plane::Data,
            ..Caller::admin()
        },
        region: REGION.to_string(),
        operation,
        request_id: "fuzz".to_string(),
        // Fixed, so an input replays the same (1 December 2026).
        now: Timestamp::from_millis(1_796_083_200_000),
    }
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = store_dir();
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let service = runtime.block_on(async {
        let store = SqliteStore::open(&dir).await.expect("a store");
        let service = Service::new(
            Arc::new(store),
            Sealer::new(&[7; 32]),
            Limits::default(),
            TokenPolicy::default(),
        )
        .await
        .expect("a service");
        let kinds: Vec<serde_json::Value> = serde_json::from_str(KEY_KINDS).expect("key kinds");
        for (index, attributes) in kinds.into_iter().enumerate() {
            create_key(&service, index, attributes).await;
        }
        service
    });
    Fixture { runtime, service }
});

/// Runs one control-plane request as the fixture's account.
async fn control(
    service: &Service,
    operation: paycrypt_api::Operation,
    body: serde_json::Value,
) -> Result<serde_json::Value, paycrypt_api::ApiError> {
    let input = paycrypt_api::decode_input(operation, body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{} input: {e:?}", operation.name()));
    let output = service
        .handle(&context(AnyOperation::Control(operation)), input)
        .await?;
    Ok(serde_json::from_slice(&output).expect("a JSON output"))
}

/// Makes a key with `attributes` under `alias/fuzz-{index}`: a symmetric key imported with known
/// material (see [`clear_key`]) as a key cryptogram under an RSA-3072 token (strong enough for
/// 128-bit keys), so that an input replays against the same keys in every process; a key pair, or
/// a key too strong for the token, generated (outcomes under it may differ from run to run);
/// nothing when neither is possible (public keys come only from certificates).
async fn create_key(service: &Service, index: usize, attributes: serde_json::Value) {
    use paycrypt_api::Operation as Control;
    let material = attributes["KeyAlgorithm"]
        .as_str()
        .and_then(|a| clear_key(index, a));
    let imported = match material {
        Some(material) => import_key(service, &attributes, &material).await.ok(),
        None => None,
    };
    let made = match imported {
        Some(made) => made,
        None => {
            let created = control(
                service,
                Control::CreateKey,
                serde_json::json!({"KeyAttributes": attributes, "Exportable": true}),
            );
            match created.await {
                Ok(made) => made,
                Err(_) => return,
            }
        }
    };
    control(
        service,
        Control::CreateAlias,
        serde_json::json!({
            "AliasName": format!("alias/fuzz-{index}"),
            "KeyArn": made["Key"]["KeyArn"],
        }),
    )
    .await
    .expect("CreateAlias");
}

/// ImportKey of `material` with `attributes`, as a key cryptogram under an RSA-3072 import token;
/// the answer describes the key.
async fn import_key(
    service: &Service,
    attributes: &serde_json::Value,
    material: &[u8],
) -> Result<serde_json::Value, paycrypt_api::ApiError> {
    use paycrypt_api::Operation as Control;
    let parameters = control(
        service,
        Control::GetParametersForImport,
        serde_json::json!({
            "KeyMaterialType": "KEY_CRYPTOGRAM",
            "WrappingKeyAlgorithm": "RSA_3072",
            "ReuseLastGeneratedToken": true,
        }),
    )
    .await?;
    let certificate = parameters["WrappingKeyCertificate"].as_str().unwrap_or("");
    let der = paycrypt_pki::from_wire(certificate).expect("a wrapping certificate");
    let certificate = paycrypt_pki::Certificate::parse(&der).expect("a certificate");
    let wrapped = paycrypt_keyblock::cryptogram::wrap_key(
        certificate.public_key_spki_der(),
        paycrypt_keyblock::cryptogram::OaepHash::Sha256,
        material,
    )
    .expect("a key cryptogram");
    control(
        service,
        Control::ImportKey,
        serde_json::json!({"KeyMaterial": {"KeyCryptogram": {
            "KeyAttributes": attributes,
            "Exportable": true,
            "WrappedKeyCryptogram": hex::encode_upper(wrapped),
            "ImportToken": parameters["ImportToken"],
            "WrappingSpec": "RSA_OAEP_SHA_256",
        }}}),
    )
    .await
}

/// The material of key kind `index` when its algorithm is symmetric: bytes that depend on the
/// index and their position, each with odd parity (as DES keys want; AES and HMAC ignore it).
fn clear_key(index: usize, algorithm: &str) -> Option<Vec<u8>> {
    let len = match algorithm {
        "TDES_2KEY" | "AES_128" => 16,
        "TDES_3KEY" | "AES_192" => 24,
        "AES_256" | "HMAC_SHA256" => 32,
        "HMAC_SHA224" => 28,
        "HMAC_SHA384" => 48,
        "HMAC_SHA512" => 64,
        _ => return None,
    };
    let key = (0..len)
        .map(|position| {
            let byte = ((index * 73 + position * 29 + 17) % 256) as u8 & 0xFE;
            byte | u8::from(byte.count_ones().is_multiple_of(2))
        })
        .collect();
    Some(key)
}

/// Makes the service and its keys (the account CA's RSA-4096 key among them, seconds on a slow
/// machine): the target calls it before fuzzing starts, outside libFuzzer's per-input timeout.
pub fn data_ops_setup() {
    LazyLock::force(&FIXTURE);
}

/// Input: the first byte picks the operation (index into [`Operation::ALL`]); for an operation
/// with a key in its path, the bytes up to the first newline are that path label; the rest is
/// the body. What decodes is run by the service; its answer, output or error, is dropped.
pub fn data_ops(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let op = Operation::ALL[which as usize % Operation::ALL.len()];
    let (labels, body) = crate::split_label(op, rest);
    let Ok(input) = decode_input(op, body, &labels) else {
        return;
    };
    let fixture = &*FIXTURE;
    let ctx = context(AnyOperation::Data(op));
    let _ = fixture
        .runtime
        .block_on(fixture.service.handle_data(&ctx, input));
}
