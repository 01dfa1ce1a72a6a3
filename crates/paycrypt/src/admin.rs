//! `paycrypt admin`: operator commands that work directly on the data store, beside or without a
//! running server (SQLite in WAL mode lets both write the same data directory). They take the
//! same store options as `paycrypt serve`.
//!
//! `paycrypt admin mpa list [--all]` prints the multi-party approval sessions (pending ones by
//! default) as JSON lines; `approve`, `deny` and `cancel SESSION_ARN [--message TEXT]` decide a
//! pending session and print it as it then stands.

use std::io::Write;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use paycrypt_service::{Clock, MpaDecision, SystemClock, TokenPolicy};

use crate::store_options::StoreArgs;

#[derive(Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Multi-party approval sessions: list them, approve, deny or cancel one.
    Mpa(MpaArgs),
}

#[derive(Args)]
struct MpaArgs {
    #[command(subcommand)]
    command: MpaCommand,
}

#[derive(Subcommand)]
enum MpaCommand {
    /// Print the sessions (pending ones unless --all) as JSON lines, oldest first.
    List {
        /// Include approved, failed and cancelled sessions
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Approve a pending session: the key is created, or the association change takes effect.
    Approve(Decide),
    /// Deny a pending session (Status FAILED): the key stays unusable and can be deleted.
    Deny(Decide),
    /// Cancel a pending session (Status CANCELLED).
    Cancel(Decide),
}

#[derive(Args)]
struct Decide {
    /// The session's ARN (MpaStatus.MpaSessionArn), as `list` prints it
    session_arn: String,
    /// A message for the requester, reported as the session's StatusMessage
    #[arg(long)]
    message: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PAYCRYPT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let AdminCommand::Mpa(mpa) = args.command;
    runtime.block_on(mpa_command(mpa.command))
}

async fn mpa_command(command: MpaCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let (decide, decision) = match command {
        MpaCommand::List { all, store } => {
            let file = store.file_config()?;
            let service = store.open_service(&file, TokenPolicy::default()).await?;
            let sessions = service
                .mpa_sessions(all)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            for session in sessions {
                writeln!(out, "{}", serde_json::to_string(&session)?)?;
            }
            return Ok(());
        }
        MpaCommand::Approve(d) => (d, MpaDecision::Approve),
        MpaCommand::Deny(d) => (d, MpaDecision::Deny),
        MpaCommand::Cancel(d) => (d, MpaDecision::Cancel),
    };
    let file = decide.store.file_config()?;
    let service = decide
        .store
        .open_service(&file, TokenPolicy::default())
        .await?;
    let session = service
        .decide_mpa_session(
            &decide.session_arn,
            decision,
            decide.message,
            SystemClock.now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    writeln!(out, "{}", serde_json::to_string(&session)?)?;
    Ok(())
}
