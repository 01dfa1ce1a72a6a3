//! `paycrypt serve`: resolves flags, environment and config file, opens the store, the master
//! key and the audit log, and serves (HTTPS with a certificate, else plain HTTP on loopback unless
//! allowed) until SIGTERM or Ctrl-C, finishing requests in flight. SIGHUP reloads the accounts
//! of the config file. The web console (`/console/`) and the metrics (`/metrics`) are on unless
//! `--no-console` / `--no-metrics` (or `console = false` / `metrics = false`) turn them off.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use paycrypt_server::{AppState, AuditLog, Console, Credentials, RateLimiter};
use paycrypt_service::{SystemClock, TokenPolicy};
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{
    DEFAULT_AUDIT_LOG, DEFAULT_KEY_POOL_SIZE, DEFAULT_LISTEN, FileConfig, parse_duration,
};
use crate::store_options::StoreArgs;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port) [default: 127.0.0.1:9120]
    #[arg(long, env = "PAYCRYPT_LISTEN")]
    listen: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
    /// Validity of export/import tokens and their certificates, e.g. 7d, 30d, 3s [default: 7d]
    #[arg(long, env = "PAYCRYPT_TOKEN_VALIDITY")]
    token_validity: Option<String>,
    /// Least validity a token needs left for ReuseLastGeneratedToken to return it [default: 1d]
    #[arg(long, env = "PAYCRYPT_TOKEN_REUSE_MIN_REMAINING")]
    token_reuse_min_remaining: Option<String>,
    /// PEM certificate chain (leaf first) to serve HTTPS with; needs --tls-key
    #[arg(long, env = "PAYCRYPT_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the --tls-cert certificate
    #[arg(long, env = "PAYCRYPT_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (only behind a protected network)
    #[arg(long, env = "PAYCRYPT_ALLOW_PLAINTEXT")]
    allow_plaintext: bool,
    /// Audit log of mutating requests (JSON lines) [default: <data-dir>/audit.log]
    #[arg(long, env = "PAYCRYPT_AUDIT_LOG")]
    audit_log: Option<PathBuf>,
    /// RSA-2048 key pairs kept pregenerated for export/import tokens; 0 disables [default: 8]
    #[arg(long, env = "PAYCRYPT_KEY_POOL_SIZE")]
    key_pool_size: Option<usize>,
    /// Do not serve the web console at /console/
    #[arg(long, env = "PAYCRYPT_NO_CONSOLE")]
    no_console: bool,
    /// Do not serve Prometheus metrics at /metrics
    #[arg(long, env = "PAYCRYPT_NO_METRICS")]
    no_metrics: bool,
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
    let file = args.store.file_config()?;
    let listen = args
        .listen
        .or(file.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let data_dir = args.store.data_dir(&file);
    let credentials = Arc::new(Credentials::new(file.access_keys()?));
    let tls = match (
        args.tls_cert.or(file.tls_cert.clone()),
        args.tls_key.or(file.tls_key.clone()),
    ) {
        (Some(cert), Some(key)) => Some(paycrypt_server::load_tls_config(&cert, &key)?),
        (None, None) => None,
        (Some(_), None) => {
            bail!("--tls-cert needs --tls-key: give the certificate's private key too")
        }
        (None, Some(_)) => {
            bail!("--tls-key needs --tls-cert: give the certificate of that key too")
        }
    };
    let allow_plaintext = args.allow_plaintext || file.allow_plaintext.unwrap_or(false);
    let audit_log = args
        .audit_log
        .or(file.audit_log.clone())
        .unwrap_or_else(|| data_dir.join(DEFAULT_AUDIT_LOG));
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

    let listener = TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let address = listener.local_addr()?;
    if tls.is_none() && !allow_plaintext {
        refuse_plaintext_beyond_loopback(address)?;
    }

    let key_pool_size = args
        .key_pool_size
        .or(file.key_pool_size)
        .unwrap_or(DEFAULT_KEY_POOL_SIZE);
    let service = args
        .store
        .open_service(&file, token_policy)
        .await?
        .with_rsa_key_pool(key_pool_size);
    let audit = Arc::new(
        AuditLog::open(&audit_log)
            .with_context(|| format!("cannot open the audit log {}", audit_log.display()))?,
    );

    // Listen for SIGTERM before announcing readiness, so a stop right after the listening line
    // is still a clean one.
    let terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    tokio::spawn(reload_on_hangup(
        hangup,
        args.store.config,
        credentials.clone(),
        audit.clone(),
    ));
    tracing::info!(
        data_dir = %data_dir.display(),
        audit_log = %audit_log.display(),
        "store opened"
    );
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut stdout = std::io::stdout();
    writeln!(stdout, "paycrypt listening on {scheme}://{address}")?;
    stdout.flush()?;

    let console = !args.no_console && file.console.unwrap_or(true);
    let metrics = !args.no_metrics && file.metrics.unwrap_or(true);
    let state = AppState {
        service: Arc::new(service),
        credentials,
        clock: Arc::new(SystemClock),
        rate_limiter: Arc::new(RateLimiter::new(
            file.limits.requests_per_second.unwrap_or(0),
        )),
        audit: Some(audit),
        console: console.then(|| Arc::new(Console::new(tls.is_some()))),
        metrics,
    };
    let shutdown = shutdown_signal(terminate, interrupt);
    match tls {
        Some(tls) => paycrypt_server::serve_tls(listener, tls, state, shutdown).await?,
        None => paycrypt_server::serve(listener, state, shutdown).await?,
    }
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

/// Plain HTTP is served on loopback addresses only (127.0.0.0/8, ::1, ::ffff:127.x.y.z): beyond
/// the host, credentials and key blocks would cross the network in the clear.
fn refuse_plaintext_beyond_loopback(address: SocketAddr) -> anyhow::Result<()> {
    if address.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    bail!(
        "refusing to serve plain HTTP on {address}, which is not a loopback address: access key \
         ids, request signatures and key blocks would cross the network in the clear. Serve \
         HTTPS with --tls-cert FILE --tls-key FILE (see \"TLS\" in the README), listen on \
         127.0.0.1, or, if the network itself is protected (a TLS-terminating proxy, a private \
         link), give --allow-plaintext."
    )
}

/// On every SIGHUP, reopens the audit log (for log rotation), reads the config file again and
/// replaces the access keys with its accounts'. Only the accounts are reloaded; other settings
/// take a restart. A file that does not load leaves the previous keys in force.
async fn reload_on_hangup(
    mut hangup: Signal,
    config: Option<PathBuf>,
    credentials: Arc<Credentials>,
    audit: Arc<AuditLog>,
) {
    while hangup.recv().await.is_some() {
        match audit.reopen() {
            Ok(()) => {
                tracing::info!(audit_log = %audit.path().display(), "SIGHUP: audit log reopened")
            }
            Err(e) => tracing::error!(
                audit_log = %audit.path().display(),
                "SIGHUP: cannot reopen the audit log, still writing to the old file: {e}"
            ),
        }
        let Some(path) = &config else {
            tracing::warn!("SIGHUP: no config file (--config) to reload the accounts from");
            continue;
        };
        match reload_accounts(path, &credentials) {
            Ok(count) => tracing::info!(
                config = %path.display(),
                access_keys = count,
                "SIGHUP: accounts reloaded"
            ),
            Err(e) => tracing::error!(
                config = %path.display(),
                "SIGHUP: accounts not reloaded, the previous ones stay in force: {e:#}"
            ),
        }
    }
}

fn reload_accounts(path: &Path, credentials: &Credentials) -> anyhow::Result<usize> {
    let keys = FileConfig::load(path)?.access_keys()?;
    let count = keys.len();
    credentials.replace(keys);
    Ok(count)
}
