//! Generates `crates/api/src/generated.rs` from the AWS Payment Cryptography service model.
//!
//! The input is botocore's `service-2.json` (kept in the repository at `model/`). The output is
//! one Rust file with a serde type for every structure, union and enumerated string of the
//! model, the `Operation` and `Input` enums, and the constraint schema that
//! `paycrypt_api::decode_input` validates requests against. The file is committed; the
//! `up_to_date` test fails when regenerating would change it.
//!
//! Run `cargo run -p paycrypt-api-gen` to regenerate, `-- --check` to only compare.

mod emit;
mod model;
mod naming;
mod pattern;

use std::fmt;
use std::path::{Path, PathBuf};

/// A model this generator cannot read or render.
#[derive(Debug)]
pub struct Error(String);

impl Error {
    fn new(message: String) -> Self {
        Self(message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The text of `generated.rs` for the service model `model_json`.
pub fn generate(model_json: &str) -> Result<String, Error> {
    let model: model::Model = serde_json::from_str(model_json)
        .map_err(|e| Error::new(format!("the model is not a botocore service model: {e}")))?;
    emit::generate(&model)
}

/// The service model in the repository: `model/service-2.json`.
pub fn model_path() -> PathBuf {
    workspace_root().join("model").join("service-2.json")
}

/// The generated file in the repository: `crates/api/src/generated.rs`.
pub fn output_path() -> PathBuf {
    workspace_root()
        .join("crates")
        .join("api")
        .join("src")
        .join("generated.rs")
}

fn workspace_root() -> PathBuf {
    // This crate lives at <root>/crates/api-gen.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest_dir)
        .to_path_buf()
}
