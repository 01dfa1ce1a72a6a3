//! Generates the wire types of `crates/api` from the AWS Payment Cryptography service models.
//!
//! The inputs are botocore's `service-2.json` files, kept in the repository: `model/` for the
//! control plane and `model/data/` for the data plane. The output is one Rust file per plane
//! ([`Plane::output_path`]) with a serde type for every structure, union and enumerated string of
//! the model, the `Operation` and `Input` enums (with each operation's HTTP path for the
//! rest-json data plane), and the constraint schema that `paycrypt_api` validates requests
//! against. The files are committed; the `up_to_date` test fails when regenerating would change
//! one.
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

/// One of the service's two APIs, each with its own model and generated module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plane {
    /// `payment-cryptography` (AWS JSON 1.0): `model/service-2.json` to
    /// `crates/api/src/generated.rs`.
    Control,
    /// `payment-cryptography-data` (rest-json): `model/data/service-2.json` to
    /// `crates/api/src/data/generated.rs`.
    Data,
}

impl Plane {
    /// Both planes.
    pub const ALL: [Plane; 2] = [Plane::Control, Plane::Data];

    /// The service model in the repository.
    pub fn model_path(self) -> PathBuf {
        let models = workspace_root().join("model");
        match self {
            Self::Control => models.join("service-2.json"),
            Self::Data => models.join("data").join("service-2.json"),
        }
    }

    /// The generated file in the repository.
    pub fn output_path(self) -> PathBuf {
        let src = workspace_root().join("crates").join("api").join("src");
        match self {
            Self::Control => src.join("generated.rs"),
            Self::Data => src.join("data").join("generated.rs"),
        }
    }

    /// What the generated module's doc calls the API.
    fn title(self) -> &'static str {
        match self {
            Self::Control => "control plane",
            Self::Data => "data plane",
        }
    }

    /// The model's path as the generated file's doc names it.
    fn model_name(self) -> &'static str {
        match self {
            Self::Control => "model/service-2.json",
            Self::Data => "model/data/service-2.json",
        }
    }
}

/// The text of the generated module of `plane` for the service model `model_json`.
pub fn generate(model_json: &str, plane: Plane) -> Result<String, Error> {
    let model: model::Model = serde_json::from_str(model_json)
        .map_err(|e| Error::new(format!("the model is not a botocore service model: {e}")))?;
    emit::generate(&model, plane)
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
