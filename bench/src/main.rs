//! `paycrypt-bench`: a load generator for AWS Payment Cryptography, the control plane and the
//! data plane. It signs its own requests with SigV4, so it drives paycrypt, moto's server (the
//! control plane only: moto has no data plane) or the real service alike.
//!
//! - `run`: set up keys (and whatever the operation mix needs), then run the mix with N
//!   closed-loop workers for a duration; prints throughput, p50 and p99 latency per operation
//!   and errors per error code, and writes them as JSON with `--json`.
//! - `crypto`: the raw rates of RSA-2048 key generation and RSA-2048 sign + RSA-OAEP encrypt in
//!   this process, with aws-lc-rs as paycrypt uses it.
//! - `startup`: spawn a server command and time it to its first answered signed request, with
//!   its resident memory then.
//! - `rss`: the resident memory of a running process.
//!
//! `bench/compare` runs all of them against paycrypt and moto side by side, and the data-plane
//! operations against paycrypt alone.

mod client;
mod crypto;
mod startup;
mod stats;
mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::client::Client;
use crate::workload::{Fixture, Load, Mix};

#[derive(Parser)]
#[command(
    name = "paycrypt-bench",
    about = "Load generator for AWS Payment Cryptography endpoints"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an operation mix against an endpoint.
    Run(RunArgs),
    /// Measure raw RSA-2048 rates in this process.
    Crypto(CryptoArgs),
    /// Time a server command from spawn to its first answered request.
    Startup(StartupArgs),
    /// Print the resident memory (KiB) of a running process.
    Rss {
        /// The process id.
        pid: u32,
    },
}

#[derive(Args)]
struct Endpoint {
    /// The service endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9120")]
    endpoint: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "test", env = "AWS_ACCESS_KEY_ID")]
    access_key: String,
    #[arg(long, default_value = "test", env = "AWS_SECRET_ACCESS_KEY")]
    secret_key: String,
    #[arg(long, env = "AWS_SESSION_TOKEN")]
    session_token: Option<String>,
}

impl Endpoint {
    fn client(&self, connections: usize) -> anyhow::Result<Client> {
        Client::new(
            &self.endpoint,
            &self.region,
            &self.access_key,
            &self.secret_key,
            self.session_token.clone(),
            connections,
        )
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// The operation mix, e.g. `GetKey=3,ListKeys=1`. Control plane: CreateKey, GetKey,
    /// ListKeys, CreateAlias, GetAlias, TagResource, GetParametersForExport, ExportKeyTr34,
    /// ExportKeyTr31, ImportKeyTr31. Data plane: GenerateMac (HMAC_SHA256 over 256 bytes),
    /// VerifyMac (AES-128 CMAC over 256 bytes), EncryptData and DecryptData (AES-128 CBC, 1 KiB),
    /// VerifyCardValidationData (a CVV2), TranslatePinData (ISO 0 under a TDES PEK to ISO 4 under
    /// an AES PEK), VerifyPinData (a Visa PVV), VerifyAuthRequestCryptogram (an ARQC with an
    /// ARPC), each with its own keys. ListKeys asks for pages of 50, each worker walking the
    /// whole list by NextToken and starting over after the last page.
    #[arg(long)]
    op: Mix,
    /// Requests in flight (closed-loop workers).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds to run the mix.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Total requests per second to pace the workers to; 0 runs as fast as answers come.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Keys to create before measuring (at least 1 when the mix needs keys).
    #[arg(long, default_value_t = 100)]
    keys: usize,
    /// Requests in flight while creating the keys.
    #[arg(long, default_value_t = 16)]
    setup_concurrency: usize,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// A label for this run in the JSON output (e.g. `paycrypt` or `moto`).
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Args)]
struct CryptoArgs {
    /// Threads working at once.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds per measured rate.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct StartupArgs {
    #[command(flatten)]
    endpoint: Endpoint,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    #[arg(long)]
    json: Option<PathBuf>,
    /// The server command, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

fn write_json(path: Option<&PathBuf>, value: &serde_json::Value) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_vec_pretty(value)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One worker thread: the load generator shares the machine with the server it measures.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Run(args) => runtime.block_on(run(args)),
        Command::Crypto(args) => {
            let rates = crypto::measure(args.threads, Duration::from_secs_f64(args.duration))?;
            println!("{}", serde_json::to_string_pretty(&rates)?);
            write_json(args.json.as_ref(), &serde_json::to_value(&rates)?)
        }
        Command::Startup(args) => runtime.block_on(async {
            let client = args.endpoint.client(1)?;
            let result = startup::measure(
                &client,
                &args.command,
                Duration::from_secs_f64(args.timeout),
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            write_json(args.json.as_ref(), &serde_json::to_value(&result)?)
        }),
        Command::Rss { pid } => {
            let kib =
                startup::vm_rss_kib(pid).with_context(|| format!("no VmRSS for process {pid}"))?;
            println!("{kib}");
            Ok(())
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = args
        .endpoint
        .client(args.concurrency.max(args.setup_concurrency))?;
    let setup_started = Instant::now();
    let fixture = Fixture::set_up(&client, &args.op, args.keys, args.setup_concurrency).await?;
    let setup_secs = setup_started.elapsed().as_secs_f64();
    eprintln!(
        "set up {} keys in {setup_secs:.1} s; running {:?} for {} s at concurrency {}",
        args.keys,
        args.op.ops().map(|o| o.name()).collect::<Vec<_>>(),
        args.duration,
        args.concurrency
    );
    let load = Load {
        concurrency: args.concurrency,
        duration: Duration::from_secs_f64(args.duration),
        rate: args.rate,
    };
    let (recorded, elapsed) = workload::run(&client, Arc::new(fixture), &args.op, &load).await;
    println!(
        "{:<24} {:>10} {:>10} {:>10} {:>10}  errors",
        "operation", "ok", "per s", "p50 ms", "p99 ms"
    );
    let mut ops = BTreeMap::new();
    for (op, recorder) in recorded {
        let s = recorder.summary(elapsed);
        println!(
            "{:<24} {:>10} {:>10.1} {:>10.2} {:>10.2}  {:?}",
            op.name(),
            s.ok,
            s.throughput_per_s,
            s.p50_ms,
            s.p99_ms,
            s.errors
        );
        ops.insert(op.name(), serde_json::to_value(&s)?);
    }
    write_json(
        args.json.as_ref(),
        &json!({
            "label": args.label,
            "endpoint": args.endpoint.endpoint,
            "concurrency": args.concurrency,
            "duration_s": elapsed.as_secs_f64(),
            "rate": args.rate,
            "setup_keys": args.keys,
            "setup_s": setup_secs,
            "ops": ops,
        }),
    )
}
