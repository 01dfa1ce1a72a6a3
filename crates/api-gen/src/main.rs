//! `paycrypt-api-gen [--check]`: writes the generated modules of `crates/api` from the service
//! models in `model/`, or with `--check` only reports whether the committed files are current.

use std::process::ExitCode;

use paycrypt_api_gen::Plane;

fn main() -> ExitCode {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(_) => {
            eprintln!("usage: paycrypt-api-gen [--check]");
            return ExitCode::from(2);
        }
    };
    let mut status = ExitCode::SUCCESS;
    for plane in Plane::ALL {
        if let Err(message) = regenerate(plane, check) {
            eprintln!("paycrypt-api-gen: {message}");
            status = ExitCode::FAILURE;
        }
    }
    status
}

/// Regenerates (or with `check`, compares) the module of one plane.
fn regenerate(plane: Plane, check: bool) -> Result<(), String> {
    let (model, output) = (plane.model_path(), plane.output_path());
    let json =
        std::fs::read_to_string(&model).map_err(|e| format!("reading {}: {e}", model.display()))?;
    let generated = paycrypt_api_gen::generate(&json, plane).map_err(|e| e.to_string())?;
    let current = std::fs::read_to_string(&output).unwrap_or_default();
    if current == generated {
        println!("{} is up to date", output.display());
        return Ok(());
    }
    if check {
        return Err(format!(
            "{} is stale: run `cargo run -p paycrypt-api-gen`",
            output.display()
        ));
    }
    std::fs::write(&output, generated).map_err(|e| format!("writing {}: {e}", output.display()))?;
    println!("wrote {}", output.display());
    Ok(())
}
