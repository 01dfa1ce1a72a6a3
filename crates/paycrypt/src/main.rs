//! The `paycrypt` command: `paycrypt serve` runs the AWS Payment Cryptography control plane on
//! the embedded SQLite store.

mod config;
mod master_key;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "paycrypt",
    version,
    about = "A self-hosted AWS Payment Cryptography control plane"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API over HTTP.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("paycrypt: {e:#}");
            ExitCode::FAILURE
        }
    }
}
