//! `paycrypt serve`: resolves flags, environment and config file, opens the store and the master
//! key, and serves until SIGTERM or Ctrl-C, finishing requests in flight.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use paycrypt_server::{AppState, Credentials, RateLimiter};
use paycrypt_service::{Sealer, Service, SystemClock, TokenPolicy};
use paycrypt_store::{PostgresStore, SqliteStore, Store};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{
    DEFAULT_DATA_DIR, DEFAULT_KEY_POOL_SIZE, DEFAULT_LISTEN, FileConfig, parse_duration,
};
use crate::master_key;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:9120]
    #[arg(long, env = "PAYCRYPT_LISTEN")]
    listen: Option<String>,
    /// Directory of the database and, by default, the master key [default: ./paycrypt-data]
    #[arg(long, env = "PAYCRYPT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, env = "PAYCRYPT_CONFIG")]
    config: Option<PathBuf>,
    /// File holding the master key as 64 hex characters [default: <data-dir>/master.key]
    #[arg(long, env = "PAYCRYPT_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// PostgreSQL database for several nodes (postgres://...) instead of the embedded SQLite store
    #[arg(long, env = "PAYCRYPT_DATABASE_URL")]
    database_url: Option<String>,
    /// Validity of export/import tokens and their certificates, e.g. 7d, 30d, 3s [default: 7d]
    #[arg(long, env = "PAYCRYPT_TOKEN_VALIDITY")]
    token_validity: Option<String>,
    /// Least validity a token needs left for ReuseLastGeneratedToken to return it [default: 1d]
    #[arg(long, env = "PAYCRYPT_TOKEN_REUSE_MIN_REMAINING")]
    token_reuse_min_remaining: Option<String>,
    /// RSA-2048 key pairs kept pregenerated for export/import tokens; 0 disables [default: 8]
    #[arg(long, env = "PAYCRYPT_KEY_POOL_SIZE")]
    key_pool_size: Option<usize>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYCRYPT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let listen = args
        .listen
        .or(file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let data_dir = args
        .data_dir
        .or(file.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let master_key_file = args.master_key_file.or(file.master_key_file.clone());
    let credentials = Credentials::new(file.access_keys()?);
    let mut token_policy = TokenPolicy::default();
    if let Some(validity) = args.token_validity.or(file.token_validity.clone()) {
        token_policy.validity_millis = parse_duration(&validity).context("--token-validity")?;
    }
    if let Some(remaining) = args
        .token_reuse_min_remaining
        .or(file.token_reuse_min_remaining.clone())
    {
        token_policy.reuse_min_remaining_millis =
            parse_duration(&remaining).context("--token-reuse-min-remaining")?;
    }

    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let master_key = master_key::load_or_create(master_key_file.as_deref(), &data_dir)?;
    let store: Arc<dyn Store> = match args.database_url.or(file.database_url.clone()) {
        Some(url) => Arc::new(
            PostgresStore::connect(&url)
                .await
                .context("cannot open the PostgreSQL store")?,
        ),
        None => Arc::new(
            SqliteStore::open(&data_dir)
                .await
                .with_context(|| format!("cannot open the store in {}", data_dir.display()))?,
        ),
    };
    let key_pool_size = args
        .key_pool_size
        .or(file.key_pool_size)
        .unwrap_or(DEFAULT_KEY_POOL_SIZE);
    let service = Service::new(store, Sealer::new(&master_key), file.limits(), token_policy)
        .await?
        .with_rsa_key_pool(key_pool_size);
    drop(master_key);

    // Listen for SIGTERM before announcing readiness, so a stop right after the listening line
    // is still a clean one.
    let terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!(data_dir = %data_dir.display(), "store opened");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "paycrypt listening on http://{address}")?;
    stdout.flush()?;

    let state = AppState {
        service: Arc::new(service),
        credentials: Arc::new(credentials),
        clock: Arc::new(SystemClock),
        rate_limiter: Arc::new(RateLimiter::new(
            file.limits.requests_per_second.unwrap_or(0),
        )),
    };
    paycrypt_server::serve(listener, state, shutdown_signal(terminate, interrupt)).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal(mut terminate: Signal, mut interrupt: Signal) {
    tokio::select! {
        _ = terminate.recv() => {},
        _ = interrupt.recv() => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
