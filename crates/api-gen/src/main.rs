//! `paycrypt-api-gen [--check]`: writes `crates/api/src/generated.rs` from
//! `model/service-2.json`, or with `--check` only reports whether the committed file is current.

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(_) => {
            eprintln!("usage: paycrypt-api-gen [--check]");
            return ExitCode::from(2);
        }
    };
    let (model, output) = (
        paycrypt_api_gen::model_path(),
        paycrypt_api_gen::output_path(),
    );
    let generated = match std::fs::read_to_string(&model)
        .map_err(|e| format!("reading {}: {e}", model.display()))
        .and_then(|json| paycrypt_api_gen::generate(&json).map_err(|e| e.to_string()))
    {
        Ok(generated) => generated,
        Err(message) => {
            eprintln!("paycrypt-api-gen: {message}");
            return ExitCode::FAILURE;
        }
    };
    let current = std::fs::read_to_string(&output).unwrap_or_default();
    if current == generated {
        println!("{} is up to date", output.display());
        return ExitCode::SUCCESS;
    }
    if check {
        eprintln!(
            "{} is stale: run `cargo run -p paycrypt-api-gen`",
            output.display()
        );
        return ExitCode::FAILURE;
    }
    match std::fs::write(&output, generated) {
        Ok(()) => {
            println!("wrote {}", output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paycrypt-api-gen: writing {}: {e}", output.display());
            ExitCode::FAILURE
        }
    }
}
