//! The options that locate paycrypt's data, shared by `paycrypt serve` and `paycrypt admin`:
//! the data directory, the configuration file, the master key file and a PostgreSQL URL, each
//! with its environment variable, and how they open the store and the service over it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use paycrypt_service::{Sealer, Service, TokenPolicy};
use paycrypt_store::{PostgresStore, SqliteStore, Store};

use crate::config::{DEFAULT_DATA_DIR, FileConfig};
use crate::{data_dir, master_key};

#[derive(Args)]
pub struct StoreArgs {
    /// Directory of the database and, by default, the master key [default: ./paycrypt-data]
    #[arg(long, env = "PAYCRYPT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, env = "PAYCRYPT_CONFIG")]
    pub config: Option<PathBuf>,
    /// File holding the master key as 64 hex characters [default: <data-dir>/master.key]
    #[arg(long, env = "PAYCRYPT_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// PostgreSQL database for several nodes (postgres://...) instead of the embedded SQLite store
    #[arg(long, env = "PAYCRYPT_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// The configuration file named by `--config`, or the defaults.
    pub fn file_config(&self) -> anyhow::Result<FileConfig> {
        match &self.config {
            Some(path) => FileConfig::load(path),
            None => Ok(FileConfig::default()),
        }
    }

    /// The data directory: the flag, else the file's, else the default.
    pub fn data_dir(&self, file: &FileConfig) -> PathBuf {
        self.data_dir
            .clone()
            .or(file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
    }

    /// Opens the store (creating the data directory, private to its owner, and the master key on
    /// first use) and the
    /// service over it, which checks the master key against the stored data.
    pub async fn open_service(
        &self,
        file: &FileConfig,
        token_policy: TokenPolicy,
    ) -> anyhow::Result<Service> {
        let data_dir = self.data_dir(file);
        data_dir::create(&data_dir)?;
        let master_key_file = self
            .master_key_file
            .clone()
            .or(file.master_key_file.clone());
        let master_key = master_key::load_or_create(master_key_file.as_deref(), &data_dir)?;
        data_dir::warn_if_shared(
            &master_key_file.unwrap_or_else(|| data_dir.join("master.key")),
            "master key file",
        );
        let store: Arc<dyn Store> = match self.database_url.clone().or(file.database_url.clone()) {
            Some(url) => Arc::new(
                PostgresStore::connect(&url)
                    .await
                    .context("cannot open the PostgreSQL store")?,
            ),
            None => {
                let store = SqliteStore::open(&data_dir)
                    .await
                    .with_context(|| format!("cannot open the store in {}", data_dir.display()))?;
                data_dir::restrict_database(&data_dir)?;
                Arc::new(store)
            }
        };
        let service =
            Service::new(store, Sealer::new(&master_key), file.limits(), token_policy).await?;
        Ok(service)
    }
}
