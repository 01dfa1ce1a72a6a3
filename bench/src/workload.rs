//! The operations the load generator drives, the operation mix (`GetKey=3,ListKeys=1`), the
//! fixture each needs set up first (keys, aliases, a trusted KRD CA and its certificate, an
//! export token, a KEK and TR-31 blocks wrapped under it), and the closed-loop workers.

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

use crate::client::Client;
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
}

impl Op {
    pub const ALL: [Op; 10] = [
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

fn symmetric_key_input() -> Value {
    json!({
        "Exportable": true,
        "KeyAttributes": {
            "KeyAlgorithm": "TDES_3KEY",
            "KeyUsage": "TR31_K0_KEY_ENCRYPTION_KEY",
            "KeyClass": "SYMMETRIC_KEY",
            "KeyModesOfUse": {"Encrypt": true, "Decrypt": true, "Wrap": true, "Unwrap": true}
        }
    })
}

fn key_arn(output: &Value) -> anyhow::Result<String> {
    output["Key"]["KeyArn"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no Key.KeyArn: {output}"))
}

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
            Some(key_arn(
                &client.expect("CreateKey", &symmetric_key_input()).await?,
            )?)
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
        Ok(Self {
            keys,
            aliases,
            run_id,
            tr34,
            kek,
            tr31_blocks,
        })
    }

    /// The input of one call of `op`; `n` makes names unique.
    fn input(&self, op: Op, rng: &mut StdRng, n: u64) -> Value {
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
                let mut input = fixture.input(op, &mut rng, n);
                if let (Op::ListKeys, Some(token)) = (op, &list_cursor) {
                    input["NextToken"] = json!(token);
                }
                let sent = Instant::now();
                let answer = client.call(op.api_name(), &input).await;
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
    fn mix_refuses_bad_input() {
        for bad in ["", "Nope=1", "GetKey=0", "GetKey=x", "GetKey,GetKey=2"] {
            assert!(bad.parse::<Mix>().is_err(), "{bad:?}");
        }
    }
}
