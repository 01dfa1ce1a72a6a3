//! The `paycrypt` command: `paycrypt serve` runs the AWS Payment Cryptography control and data
//! planes on the embedded SQLite store; `paycrypt admin` holds operator commands on that store
//! (multi-party approvals); `paycrypt keyblock` holds offline key block tools and `paycrypt crypto`
//! the data plane's primitives, offline.

mod admin;
mod config;
mod crypto_cli;
mod data_dir;
mod keyblock_cli;
mod master_key;
mod serve;
mod store_options;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "paycrypt",
    version,
    about = "A self-hosted AWS Payment Cryptography control and data plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API over HTTP.
    Serve(serve::ServeArgs),
    /// Operator commands on the data store: multi-party approval sessions.
    Admin(admin::AdminArgs),
    /// Offline key block tools: TR-31 wrap / unwrap, inspect, key check values.
    Keyblock(keyblock_cli::KeyblockArgs),
    /// Offline data-plane primitives: encrypt, decrypt, MAC (keys from a file or stdin).
    Crypto(crypto_cli::CryptoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Keyblock(args) => keyblock_cli::run(args),
        Command::Crypto(args) => crypto_cli::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paycrypt: {e:#}");
            ExitCode::FAILURE
        }
    }
}
