//! The operations the load generator drives, the operation mix (`GetKey=3,ListKeys=1`), the
//! fixture each needs set up first (keys, aliases, a trusted KRD CA and its certificate, an
//! export token, a KEK and TR-31 blocks wrapped under it; for the data plane a MAC key of each
//! kind, a data encryption key, a valid CMAC and a ciphertext), and the closed-loop workers.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm};
use paycrypt_pki::{LeafUsage, SubjectFields, ValidityPeriod};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::client::{Body, Client, path_segment};
use crate::stats::Recorder;

/// An operation of the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    CreateKey,
    GetKey,
    ListKeys,
    CreateAlias,
    GetAlias,
    TagResource,
    GetParametersForExport,
    /// ExportKey of a TDES key as a TR-34 block, with an export token.
    ExportKeyTr34,
    /// ExportKey of a TDES key as a TR-31 block under a KEK.
    ExportKeyTr31,
    /// ImportKey of a TR-31 block under a KEK paycrypt holds.
    ImportKeyTr31,
    /// Data plane: HMAC_SHA256 over 256 bytes.
    GenerateMac,
    /// Data plane: a valid AES-128 CMAC over 256 bytes checked.
    VerifyMac,
    /// Data plane: 1 KiB encrypted with AES-128 CBC.
    EncryptData,
    /// Data plane: 1 KiB decrypted with AES-128 CBC.
    DecryptData,
    /// Data plane: a valid CVV2 checked under a TDES card verification key.
    VerifyCardValidationData,
    /// Data plane: an ISO 0 PIN block under a TDES PEK to ISO 4 under an AES PEK.
    TranslatePinData,
    /// Data plane: a Visa PVV checked for an ISO 0 PIN block under a TDES PEK.
    VerifyPinData,
    /// Data plane: an ARQC (EMV common session key) checked, with an ARPC by method 1.
    VerifyAuthRequestCryptogram,
}

impl Op {
    pub const ALL: [Op; 18] = [
        Op::CreateKey,
        Op::GetKey,
        Op::ListKeys,
        Op::CreateAlias,
        Op::GetAlias,
        Op::TagResource,
        Op::GetParametersForExport,
        Op::ExportKeyTr34,
        Op::ExportKeyTr31,
        Op::ImportKeyTr31,
        Op::GenerateMac,
        Op::VerifyMac,
        Op::EncryptData,
        Op::DecryptData,
        Op::VerifyCardValidationData,
        Op::TranslatePinData,
        Op::VerifyPinData,
        Op::VerifyAuthRequestCryptogram,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::CreateKey => "CreateKey",
            Op::GetKey => "GetKey",
            Op::ListKeys => "ListKeys",
            Op::CreateAlias => "CreateAlias",
            Op::GetAlias => "GetAlias",
            Op::TagResource => "TagResource",
            Op::GetParametersForExport => "GetParametersForExport",
            Op::ExportKeyTr34 => "ExportKeyTr34",
            Op::ExportKeyTr31 => "ExportKeyTr31",
            Op::ImportKeyTr31 => "ImportKeyTr31",
            Op::GenerateMac => "GenerateMac",
            Op::VerifyMac => "VerifyMac",
            Op::EncryptData => "EncryptData",
            Op::DecryptData => "DecryptData",
            Op::VerifyCardValidationData => "VerifyCardValidationData",
            Op::TranslatePinData => "TranslatePinData",
            Op::VerifyPinData => "VerifyPinData",
            Op::VerifyAuthRequestCryptogram => "VerifyAuthRequestCryptogram",
        }
    }

    /// The API operation it calls.
    fn api_name(self) -> &'static str {
        match self {
            Op::ExportKeyTr34 | Op::ExportKeyTr31 => "ExportKey",
            Op::ImportKeyTr31 => "ImportKey",
            other => other.name(),
        }
    }
}

impl FromStr for Op {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        Op::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Op::ALL.iter().map(|o| o.name()).collect();
                anyhow!("unknown operation {s:?}; known: {}", names.join(", "))
            })
    }
}

/// The weighted operation mix, e.g. `GetKey=3,ListKeys=1` (a missing weight is 1).
#[derive(Debug, Clone)]
pub struct Mix {
    weighted: Vec<(Op, u32)>,
    total: u32,
}

impl FromStr for Mix {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let mut weighted = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let op: Op = name.trim().parse()?;
            let weight: u32 = weight
                .trim()
                .parse()
                .with_context(|| format!("weight of {name} must be a whole number"))?;
            if weight == 0 {
                bail!("weight of {name} must be at least 1");
            }
            if weighted.iter().any(|(o, _)| *o == op) {
                bail!("{name} is named twice in the mix");
            }
            weighted.push((op, weight));
        }
        if weighted.is_empty() {
            bail!("the operation mix is empty");
        }
        let total = weighted.iter().map(|(_, w)| w).sum();
        Ok(Mix { weighted, total })
    }
}

impl Mix {
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.weighted.iter().map(|(op, _)| *op)
    }

    fn contains(&self, op: Op) -> bool {
        self.ops().any(|o| o == op)
    }

    /// The operation for a roll in `0..total`.
    fn pick(&self, mut roll: u32) -> Op {
        for (op, weight) in &self.weighted {
            if roll < *weight {
                return *op;
            }
            roll -= weight;
        }
        self.weighted[self.weighted.len() - 1].0
    }
}

/// The CreateKey input of an exportable symmetric key.
fn key_input(algorithm: &str, usage: &str, modes: Value) -> Value {
    json!({
        "Exportable": true,
        "KeyAttributes": {
            "KeyAlgorithm": algorithm,
            "KeyUsage": usage,
            "KeyClass": "SYMMETRIC_KEY",
            "KeyModesOfUse": modes
        }
    })
}

fn symmetric_key_input() -> Value {
    key_input(
        "TDES_3KEY",
        "TR31_K0_KEY_ENCRYPTION_KEY",
        json!({"Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true}),
    )
}

fn key_arn(output: &Value) -> anyhow::Result<String> {
    output["Key"]["KeyArn"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no Key.KeyArn: {output}"))
}

/// The string member `name` of a data-plane answer.
fn member(output: &Value, name: &str) -> anyhow::Result<String> {
    output[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no {name}: {output}"))
}

/// `bytes` random bytes as upper-case hex, the data plane's form of binary data.
fn random_hex(rng: &mut StdRng, bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02X}", rng.random::<u8>()))
        .collect()
}

/// The bytes of each MessageData (GenerateMac, VerifyMac).
const MESSAGE_BYTES: usize = 256;
/// The bytes of each PlainText (EncryptData, DecryptData): 1 KiB, a whole number of AES blocks.
const PLAINTEXT_BYTES: usize = 1024;

/// Creates `count` TDES keys with `concurrency` calls in flight; returns their ARNs.
pub async fn create_keys(
    client: &Client,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let client = client.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut arns = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count as u64 {
                let output = client.expect("CreateKey", &symmetric_key_input()).await?;
                arns.push(key_arn(&output)?);
            }
            anyhow::Ok(arns)
        }));
    }
    let mut arns = Vec::with_capacity(count);
    for task in tasks {
        arns.extend(task.await??);
    }
    Ok(arns)
}

/// What the operations of a run work on, set up before measuring.
pub struct Fixture {
    /// Exportable TDES_3KEY keys (GetKey, TagResource, CreateAlias, the exports).
    keys: Vec<String>,
    aliases: Vec<String>,
    /// A prefix unique to this run, for alias names.
    run_id: String,
    tr34: Option<Tr34Fixture>,
    kek: Option<String>,
    tr31_blocks: Vec<String>,
    data: DataCalls,
}

/// A data-plane call, made the same every time: its path (the key identifier in it
/// percent-encoded) and its JSON body.
struct DataCall {
    path: String,
    body: Body,
}

impl DataCall {
    fn new(path: String, input: &Value) -> anyhow::Result<Self> {
        Ok(Self {
            path,
            body: Body::new(input)?,
        })
    }
}

/// The data-plane calls of the run, each with its own key, set up for the operations of the mix.
#[derive(Default)]
struct DataCalls {
    /// HMAC_SHA256 with a TR31_M7_HMAC_KEY.
    generate_mac: Option<DataCall>,
    /// CMAC with an AES-128 TR31_M6_ISO_9797_5_CMAC_KEY, of a MAC that key made in setup.
    verify_mac: Option<DataCall>,
    /// AES-128 CBC with a TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY.
    encrypt_data: Option<DataCall>,
    /// The same key and IV, of a ciphertext it made in setup.
    decrypt_data: Option<DataCall>,
    /// CVV2 with a TDES_2KEY TR31_C0_CARD_VERIFICATION_KEY, of a value it made in setup.
    verify_card_validation_data: Option<DataCall>,
    /// ISO 0 under a TDES_2KEY P0 key to ISO 4 under an AES_128 P0 key.
    translate_pin_data: Option<DataCall>,
    /// Visa PVV with a TDES_2KEY TR31_V2 key, of a PIN and PVV made in setup.
    verify_pin_data: Option<DataCall>,
    /// An ARQC made in setup under a TDES_2KEY TR31_E0 key, EMV common session key, ARPC method 1.
    verify_auth_request_cryptogram: Option<DataCall>,
}

/// The card the card, PIN and EMV calls are about (a test PAN).
const PAN: &str = "4111111111111111";

impl DataCalls {
    async fn set_up(client: &Client, mix: &Mix) -> anyhow::Result<Self> {
        let mut rng = StdRng::from_os_rng();
        let message = random_hex(&mut rng, MESSAGE_BYTES);
        let mac_modes = json!({"Generate": true, "Verify": true});
        let mut calls = DataCalls::default();
        if mix.contains(Op::GenerateMac) {
            let key = create_key(
                client,
                key_input("HMAC_SHA256", "TR31_M7_HMAC_KEY", mac_modes.clone()),
            )
            .await?;
            calls.generate_mac = Some(DataCall::new(
                "/mac/generate".to_owned(),
                &json!({
                    "KeyIdentifier": key,
                    "MessageData": message,
                    "GenerationAttributes": {"Algorithm": "HMAC_SHA256"}
                }),
            )?);
        }
        if mix.contains(Op::VerifyMac) {
            let key = create_key(
                client,
                key_input("AES_128", "TR31_M6_ISO_9797_5_CMAC_KEY", mac_modes),
            )
            .await?;
            let attributes = json!({"Algorithm": "CMAC"});
            let output = client
                .expect_data(
                    "/mac/generate",
                    &Body::new(&json!({
                        "KeyIdentifier": key,
                        "MessageData": message,
                        "GenerationAttributes": attributes
                    }))?,
                )
                .await
                .context("making the CMAC to verify")?;
            calls.verify_mac = Some(DataCall::new(
                "/mac/verify".to_owned(),
                &json!({
                    "KeyIdentifier": key,
                    "MessageData": message,
                    "Mac": member(&output, "Mac")?,
                    "VerificationAttributes": attributes
                }),
            )?);
        }
        if mix.contains(Op::EncryptData) || mix.contains(Op::DecryptData) {
            let key = create_key(
                client,
                key_input(
                    "AES_128",
                    "TR31_D0_SYMMETRIC_DATA_ENCRYPTION_KEY",
                    json!({"Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true}),
                ),
            )
            .await?;
            let key = path_segment(&key);
            let plaintext = random_hex(&mut rng, PLAINTEXT_BYTES);
            let attributes = json!({"Symmetric": {
                "Mode": "CBC",
                "InitializationVector": random_hex(&mut rng, 16)
            }});
            let encrypt = DataCall::new(
                format!("/keys/{key}/encrypt"),
                &json!({"PlainText": plaintext, "EncryptionAttributes": attributes}),
            )?;
            if mix.contains(Op::DecryptData) {
                let output = client
                    .expect_data(&encrypt.path, &encrypt.body)
                    .await
                    .context("making the ciphertext to decrypt")?;
                let decrypt = DataCall::new(
                    format!("/keys/{key}/decrypt"),
                    &json!({
                        "CipherText": member(&output, "CipherText")?,
                        "DecryptionAttributes": attributes
                    }),
                )?;
                // Checked once here; during the run an answer counts by its status.
                let output = client.expect_data(&decrypt.path, &decrypt.body).await?;
                if !member(&output, "PlainText")?.eq_ignore_ascii_case(&plaintext) {
                    bail!("DecryptData did not give back what EncryptData was given");
                }
                calls.decrypt_data = Some(decrypt);
            }
            if mix.contains(Op::EncryptData) {
                calls.encrypt_data = Some(encrypt);
            }
        }
        if mix.contains(Op::VerifyCardValidationData) {
            let key = create_key(
                client,
                key_input(
                    "TDES_2KEY",
                    "TR31_C0_CARD_VERIFICATION_KEY",
                    json!({"Generate": true, "Verify": true}),
                ),
            )
            .await?;
            let attributes = json!({"CardVerificationValue2": {"CardExpiryDate": "1229"}});
            let output = client
                .expect_data(
                    "/cardvalidationdata/generate",
                    &Body::new(&json!({
                        "KeyIdentifier": key,
                        "PrimaryAccountNumber": PAN,
                        "GenerationAttributes": attributes
                    }))?,
                )
                .await
                .context("making the CVV2 to verify")?;
            calls.verify_card_validation_data = Some(DataCall::new(
                "/cardvalidationdata/verify".to_owned(),
                &json!({
                    "KeyIdentifier": key,
                    "PrimaryAccountNumber": PAN,
                    "VerificationAttributes": attributes,
                    "ValidationData": member(&output, "ValidationData")?
                }),
            )?);
        }
        if mix.contains(Op::TranslatePinData) || mix.contains(Op::VerifyPinData) {
            let pek_modes = json!({"Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true});
            let pek = create_key(
                client,
                key_input("TDES_2KEY", "TR31_P0_PIN_ENCRYPTION_KEY", pek_modes.clone()),
            )
            .await?;
            let pvk = create_key(
                client,
                key_input(
                    "TDES_2KEY",
                    "TR31_V2_VISA_PIN_VERIFICATION_KEY",
                    json!({"Generate": true, "Verify": true}),
                ),
            )
            .await?;
            let generated = client
                .expect_data(
                    "/pindata/generate",
                    &Body::new(&json!({
                        "GenerationKeyIdentifier": pvk,
                        "EncryptionKeyIdentifier": pek,
                        "GenerationAttributes": {"VisaPin": {"PinVerificationKeyIndex": 1}},
                        "PrimaryAccountNumber": PAN,
                        "PinBlockFormat": "ISO_FORMAT_0"
                    }))?,
                )
                .await
                .context("making the PIN block to translate and verify")?;
            let block = member(&generated, "EncryptedPinBlock")?;
            if mix.contains(Op::VerifyPinData) {
                let pvv = generated["PinData"]["VerificationValue"]
                    .as_str()
                    .ok_or_else(|| anyhow!("GeneratePinData answered no PVV"))?;
                calls.verify_pin_data = Some(DataCall::new(
                    "/pindata/verify".to_owned(),
                    &json!({
                        "VerificationKeyIdentifier": pvk,
                        "EncryptionKeyIdentifier": pek,
                        "VerificationAttributes": {"VisaPin": {
                            "PinVerificationKeyIndex": 1,
                            "VerificationValue": pvv
                        }},
                        "EncryptedPinBlock": block,
                        "PrimaryAccountNumber": PAN,
                        "PinBlockFormat": "ISO_FORMAT_0"
                    }),
                )?);
            }
            if mix.contains(Op::TranslatePinData) {
                let aes_pek = create_key(
                    client,
                    key_input("AES_128", "TR31_P0_PIN_ENCRYPTION_KEY", pek_modes),
                )
                .await?;
                calls.translate_pin_data = Some(DataCall::new(
                    "/pindata/translate".to_owned(),
                    &json!({
                        "IncomingKeyIdentifier": pek,
                        "OutgoingKeyIdentifier": aes_pek,
                        "IncomingTranslationAttributes": {"IsoFormat0": {"PrimaryAccountNumber": PAN}},
                        "OutgoingTranslationAttributes": {"IsoFormat4": {"PrimaryAccountNumber": PAN}},
                        "EncryptedPinBlock": block
                    }),
                )?);
            }
        }
        if mix.contains(Op::VerifyAuthRequestCryptogram) {
            let key = create_key(
                client,
                key_input(
                    "TDES_2KEY",
                    "TR31_E0_EMV_MKEY_APP_CRYPTOGRAMS",
                    json!({"DeriveKey": true}),
                ),
            )
            .await?;
            // EMV transaction data, padded by the caller (ISO 9797-1 method 2).
            let transaction_data = format!("{}80{}", random_hex(&mut rng, 39), "00".repeat(8));
            let derivation = json!({"EmvCommon": {
                "PrimaryAccountNumber": PAN,
                "PanSequenceNumber": "00",
                "ApplicationTransactionCounter": "0042"
            }});
            let output = client
                .expect_data(
                    "/cryptogram/generate",
                    &Body::new(&json!({
                        "KeyIdentifier": key,
                        "TransactionData": transaction_data,
                        "MajorKeyDerivationMode": "EMV_OPTION_A",
                        "SessionKeyDerivationAttributes": derivation
                    }))?,
                )
                .await
                .context("making the ARQC to verify")?;
            calls.verify_auth_request_cryptogram = Some(DataCall::new(
                "/cryptogram/verify".to_owned(),
                &json!({
                    "KeyIdentifier": key,
                    "TransactionData": transaction_data,
                    "AuthRequestCryptogram": member(&output, "AuthRequestCryptogram")?,
                    "MajorKeyDerivationMode": "EMV_OPTION_A",
                    "SessionKeyDerivationAttributes": derivation,
                    "AuthResponseAttributes": {"ArpcMethod1": {"AuthResponseCode": "0000"}}
                }),
            )?);
        }
        Ok(calls)
    }

    /// The call of the data-plane operation `op`; `None` for a control-plane one.
    fn of(&self, op: Op) -> Option<&DataCall> {
        let call = match op {
            Op::GenerateMac => &self.generate_mac,
            Op::VerifyMac => &self.verify_mac,
            Op::EncryptData => &self.encrypt_data,
            Op::DecryptData => &self.decrypt_data,
            Op::VerifyCardValidationData => &self.verify_card_validation_data,
            Op::TranslatePinData => &self.translate_pin_data,
            Op::VerifyPinData => &self.verify_pin_data,
            Op::VerifyAuthRequestCryptogram => &self.verify_auth_request_cryptogram,
            _ => return None,
        };
        Some(call.as_ref().expect("set up for the operations of the mix"))
    }
}

/// Creates one key with `input`; returns its ARN.
async fn create_key(client: &Client, input: Value) -> anyhow::Result<String> {
    key_arn(
        &client
            .expect("CreateKey", &input)
            .await
            .with_context(|| format!("creating a {} key", input["KeyAttributes"]["KeyUsage"]))?,
    )
}

/// One call of an operation: to the control plane by name with its input, or a data-plane call.
enum Call<'a> {
    Control(&'static str, Value),
    Data(&'a DataCall),
}

struct Tr34Fixture {
    ca_arn: String,
    krd_certificate: String,
    export_token: String,
}

/// A certificate authority of the receiving device and its certificate (RSA-2048 both), in the
/// base64-of-PEM wire form.
fn receiving_device() -> anyhow::Result<(String, String)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let validity = ValidityPeriod {
        not_before: now - 3600,
        not_after: now + 30 * 86_400,
    };
    let ca_key = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
    let ca = paycrypt_pki::create_ca(
        &ca_key,
        &SubjectFields::new("paycrypt-bench KRD CA"),
        validity,
        [3; 16],
    )?;
    let krd_key = keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048)?;
    let krd = paycrypt_pki::issue_leaf(
        &ca,
        ca_key.private_pkcs8_der.expose(),
        &krd_key.public_spki_der,
        &SubjectFields::new("paycrypt-bench KRD"),
        validity,
        [5; 16],
        LeafUsage::General,
    )?;
    Ok((paycrypt_pki::to_wire(&ca), paycrypt_pki::to_wire(&krd)))
}

impl Fixture {
    /// Sets up what the operations of `mix` need: `keys` new keys, and the rest on demand.
    pub async fn set_up(
        client: &Client,
        mix: &Mix,
        keys: usize,
        concurrency: usize,
    ) -> anyhow::Result<Self> {
        let needs_keys = mix.ops().any(|op| {
            matches!(
                op,
                Op::GetKey
                    | Op::CreateAlias
                    | Op::TagResource
                    | Op::ExportKeyTr34
                    | Op::ExportKeyTr31
                    | Op::ImportKeyTr31
            )
        });
        let keys = create_keys(
            client,
            if needs_keys { keys.max(1) } else { keys },
            concurrency,
        )
        .await
        .context("setting up keys")?;
        let run_id: String = {
            let mut rng = StdRng::from_os_rng();
            (0..8)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect()
        };
        let mut aliases = Vec::new();
        if mix.contains(Op::GetAlias) {
            for (i, arn) in keys.iter().take(100).enumerate() {
                let name = format!("alias/bench-{run_id}-setup-{i}");
                client
                    .expect("CreateAlias", &json!({"AliasName": name, "KeyArn": arn}))
                    .await
                    .context("setting up aliases")?;
                aliases.push(name);
            }
        }
        if mix.contains(Op::GetParametersForExport) {
            // The first token of an account creates its CA (an RSA-4096 key): not what the run
            // measures, so it happens here.
            client
                .expect(
                    "GetParametersForExport",
                    &json!({"KeyMaterialType": "TR34_KEY_BLOCK", "SigningKeyAlgorithm": "RSA_2048"}),
                )
                .await
                .context("creating the account CA")?;
        }
        let tr34 = if mix.contains(Op::ExportKeyTr34) {
            let (ca, krd_certificate) = receiving_device()?;
            let root = client
                .expect(
                    "ImportKey",
                    &json!({"KeyMaterial": {"RootCertificatePublicKey": {
                        "KeyAttributes": {
                            "KeyUsage": "TR31_S0_ASYMMETRIC_KEY_FOR_DIGITAL_SIGNATURE",
                            "KeyClass": "PUBLIC_KEY",
                            "KeyAlgorithm": "RSA_2048",
                            "KeyModesOfUse": {"Verify": true}
                        },
                        "PublicKeyCertificate": ca
                    }}}),
                )
                .await
                .context("importing the KRD CA")?;
            let params = client
                .expect(
                    "GetParametersForExport",
                    &json!({"KeyMaterialType": "TR34_KEY_BLOCK", "SigningKeyAlgorithm": "RSA_2048"}),
                )
                .await?;
            Some(Tr34Fixture {
                ca_arn: key_arn(&root)?,
                krd_certificate,
                export_token: params["ExportToken"]
                    .as_str()
                    .ok_or_else(|| anyhow!("no ExportToken in {params}"))?
                    .to_owned(),
            })
        } else {
            None
        };
        let kek = if mix.contains(Op::ExportKeyTr31) || mix.contains(Op::ImportKeyTr31) {
            Some(create_key(client, symmetric_key_input()).await?)
        } else {
            None
        };
        let mut tr31_blocks = Vec::new();
        if let (true, Some(kek)) = (mix.contains(Op::ImportKeyTr31), &kek) {
            // Blocks wrapped under the KEK by paycrypt itself, imported back during the run.
            for arn in keys.iter().take(16) {
                let output = client
                    .expect("ExportKey", &export_tr31(arn, kek))
                    .await
                    .context("exporting TR-31 blocks to import")?;
                tr31_blocks.push(
                    output["WrappedKey"]["KeyMaterial"]
                        .as_str()
                        .ok_or_else(|| anyhow!("no WrappedKey.KeyMaterial in {output}"))?
                        .to_owned(),
                );
            }
        }
        let data = DataCalls::set_up(client, mix)
            .await
            .context("setting up the data plane")?;
        Ok(Self {
            keys,
            aliases,
            run_id,
            tr34,
            kek,
            tr31_blocks,
            data,
        })
    }

    /// One call of `op`; `n` makes names unique.
    fn call(&self, op: Op, rng: &mut StdRng, n: u64) -> Call<'_> {
        if let Some(call) = self.data.of(op) {
            return Call::Data(call);
        }
        Call::Control(op.api_name(), self.control_input(op, rng, n))
    }

    /// The input of one call of the control-plane operation `op`.
    fn control_input(&self, op: Op, rng: &mut StdRng, n: u64) -> Value {
        let mut key = || self.keys[rng.random_range(0..self.keys.len())].clone();
        match op {
            Op::CreateKey => symmetric_key_input(),
            Op::GetKey => json!({"KeyIdentifier": key()}),
            Op::ListKeys => json!({"MaxResults": 50}),
            Op::CreateAlias => json!({
                "AliasName": format!("alias/bench-{}-{n}", self.run_id),
                "KeyArn": key()
            }),
            Op::GetAlias => {
                json!({"AliasName": self.aliases[n as usize % self.aliases.len()]})
            }
            Op::TagResource => json!({
                "ResourceArn": key(),
                "Tags": [{"Key": format!("bench{}", n % 10), "Value": format!("v{n}")}]
            }),
            Op::GetParametersForExport => {
                json!({"KeyMaterialType": "TR34_KEY_BLOCK", "SigningKeyAlgorithm": "RSA_2048"})
            }
            Op::ExportKeyTr34 => {
                let tr34 = self.tr34.as_ref().expect("set up for ExportKeyTr34");
                json!({
                    "ExportKeyIdentifier": key(),
                    "KeyMaterial": {"Tr34KeyBlock": {
                        "CertificateAuthorityPublicKeyIdentifier": tr34.ca_arn,
                        "WrappingKeyCertificate": tr34.krd_certificate,
                        "ExportToken": tr34.export_token,
                        "KeyBlockFormat": "X9_TR34_2012"
                    }}
                })
            }
            Op::ExportKeyTr31 => export_tr31(&key(), self.kek.as_ref().expect("a KEK")),
            Op::ImportKeyTr31 => json!({
                "KeyMaterial": {"Tr31KeyBlock": {
                    "WrappingKeyIdentifier": self.kek.as_ref().expect("a KEK"),
                    "WrappedKeyBlock": self.tr31_blocks[n as usize % self.tr31_blocks.len()]
                }}
            }),
            Op::GenerateMac
            | Op::VerifyMac
            | Op::EncryptData
            | Op::DecryptData
            | Op::VerifyCardValidationData
            | Op::TranslatePinData
            | Op::VerifyPinData
            | Op::VerifyAuthRequestCryptogram => {
                unreachable!("{} is a data-plane operation", op.name())
            }
        }
    }
}

/// The NextToken of a ListKeys answer (`Some(None)` on the last page), read without building the
/// rest of the page; `None` when the answer is not JSON.
fn next_token(body: &[u8]) -> Option<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(rename = "NextToken")]
        next_token: Option<String>,
    }
    serde_json::from_slice::<Page>(body)
        .ok()
        .map(|page| page.next_token)
}

fn export_tr31(key_arn: &str, kek_arn: &str) -> Value {
    json!({
        "ExportKeyIdentifier": key_arn,
        "KeyMaterial": {"Tr31KeyBlock": {"WrappingKeyIdentifier": kek_arn}}
    })
}

/// How a run is driven.
pub struct Load {
    pub concurrency: usize,
    pub duration: Duration,
    /// Requests per second over all workers; 0 for as fast as answers come.
    pub rate: f64,
}

/// Runs `mix` with `load.concurrency` closed-loop workers for `load.duration`; returns what
/// each operation recorded and the elapsed time.
pub async fn run(
    client: &Client,
    fixture: Arc<Fixture>,
    mix: &Mix,
    load: &Load,
) -> (Vec<(Op, Recorder)>, Duration) {
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + load.duration;
    // Each worker paces itself to its share of the rate.
    let interval =
        (load.rate > 0.0).then(|| Duration::from_secs_f64(load.concurrency as f64 / load.rate));
    let mut tasks = Vec::new();
    for _ in 0..load.concurrency.max(1) {
        let client = client.clone();
        let fixture = fixture.clone();
        let mix = mix.clone();
        let counter = counter.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::from_os_rng();
            let mut recorders: Vec<(Op, Recorder)> =
                mix.ops().map(|op| (op, Recorder::default())).collect();
            let mut next_start = Instant::now();
            // Each worker walks the key list page by page, starting over after the last page.
            let mut list_cursor: Option<String> = None;
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    tokio::time::sleep_until(next_start.into()).await;
                    next_start += interval;
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                let op = mix.pick(rng.random_range(0..mix.total));
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut call = fixture.call(op, &mut rng, n);
                if let (Call::Control("ListKeys", input), Some(token)) = (&mut call, &list_cursor) {
                    input["NextToken"] = json!(token);
                }
                let sent = Instant::now();
                let answer = match &call {
                    Call::Control(operation, input) => client.call(operation, input).await,
                    Call::Data(data) => client.call_data(&data.path, &data.body).await,
                };
                let latency = sent.elapsed();
                // A ListKeys page is read once, for its NextToken and as the check of its JSON.
                let succeeded = match (&answer, op) {
                    (Ok(a), Op::ListKeys) if a.status == 200 => match next_token(&a.body) {
                        Some(token) => {
                            list_cursor = token;
                            true
                        }
                        None => false,
                    },
                    (Ok(a), _) => a.ok(),
                    (Err(_), _) => false,
                };
                let recorder = &mut recorders
                    .iter_mut()
                    .find(|(o, _)| *o == op)
                    .expect("every op of the mix has a recorder")
                    .1;
                match answer {
                    Ok(_) if succeeded => recorder.success(latency),
                    Ok(a) => recorder.failure(a.error_code()),
                    Err(_) => recorder.failure("transport".into()),
                }
            }
            recorders
        }));
    }
    let mut merged: Vec<(Op, Recorder)> = mix.ops().map(|op| (op, Recorder::default())).collect();
    for task in tasks {
        // A worker cannot panic short of a bug; its results are then simply missing.
        if let Ok(recorders) = task.await {
            for (op, recorder) in recorders {
                if let Some((_, m)) = merged.iter_mut().find(|(o, _)| *o == op) {
                    m.merge(recorder);
                }
            }
        }
    }
    (merged, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_weights_and_picks_by_them() {
        let mix: Mix = "GetKey=3, listkeys".parse().unwrap();
        assert_eq!(mix.total, 4);
        let picks: Vec<Op> = (0..4).map(|r| mix.pick(r)).collect();
        assert_eq!(
            picks,
            [Op::GetKey, Op::GetKey, Op::GetKey, Op::ListKeys].to_vec()
        );
    }

    #[test]
    fn mix_names_the_data_plane_operations() {
        let mix: Mix = "GetKey=1,GenerateMac=1,VerifyMac=2,EncryptData=1,decryptdata=1"
            .parse()
            .unwrap();
        assert_eq!(
            mix.ops().collect::<Vec<_>>(),
            [
                Op::GetKey,
                Op::GenerateMac,
                Op::VerifyMac,
                Op::EncryptData,
                Op::DecryptData
            ]
        );
        assert_eq!(mix.total, 6);
        let picks: Vec<Op> = (0..6).map(|r| mix.pick(r)).collect();
        assert_eq!(
            picks,
            [
                Op::GetKey,
                Op::GenerateMac,
                Op::VerifyMac,
                Op::VerifyMac,
                Op::EncryptData,
                Op::DecryptData
            ]
        );
        for op in [
            Op::GenerateMac,
            Op::VerifyMac,
            Op::EncryptData,
            Op::DecryptData,
        ] {
            assert_eq!(op.name().parse::<Op>().unwrap(), op);
        }
    }

    #[test]
    fn random_hex_is_upper_case_hex_of_the_length_asked() {
        let mut rng = StdRng::seed_from_u64(7);
        let hex = random_hex(&mut rng, PLAINTEXT_BYTES);
        assert_eq!(hex.len(), 2 * PLAINTEXT_BYTES);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
        );
    }

    #[test]
    fn mix_refuses_bad_input() {
        for bad in [
            "",
            "Nope=1",
            "GetKey=0",
            "GetKey=x",
            "GetKey,GetKey=2",
            "GenerateMac,generatemac",
            "GenerateHmac",
            "EncryptData=0",
        ] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?}");
        }
    }
}
