//! The configuration file (TOML) and how it combines with flags and environment variables: a flag
//! or its environment variable wins over the file, and the file over the built-in default.
//!
//! ```toml
//! listen = "127.0.0.1:9120"
//! data_dir = "./paycrypt-data"
//! master_key_file = "/etc/paycrypt/master.key"
//! database_url = "postgres://paycrypt@db.internal/paycrypt"   # instead of SQLite
//! token_validity = "7d"              # export/import tokens and their certificates
//! token_reuse_min_remaining = "1d"   # ReuseLastGeneratedToken needs this much left
//! tls_cert = "/etc/paycrypt/tls/cert.pem"   # HTTPS; with tls_key
//! tls_key = "/etc/paycrypt/tls/key.pem"
//! allow_plaintext = false            # plain HTTP on a non-loopback address
//! audit_log = "/var/log/paycrypt/audit.log"   # default <data_dir>/audit.log
//! key_pool_size = 8                  # RSA-2048 pairs pregenerated for tokens; 0 disables
//! console = true                     # the web console at /console/
//! metrics = true                     # Prometheus metrics at /metrics
//!
//! [limits]
//! keys_per_region = 2000
//! aliases_per_region = 2000
//! tags_per_key = 200
//! requests_per_second = 0   # per account; 0 = unlimited (AWS allows 5)
//!
//! [[accounts]]
//! id = "111122223333"
//! credentials = [{ access_key_id = "test", secret_access_key = "test" }]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use paycrypt_server::AccessKey;
use paycrypt_service::Limits;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9120";
pub const DEFAULT_DATA_DIR: &str = "./paycrypt-data";
pub const DEFAULT_ACCOUNT: &str = "111122223333";
/// The audit log's file name in the data directory.
pub const DEFAULT_AUDIT_LOG: &str = "audit.log";
/// RSA-2048 key pairs kept ready for GetParametersForExport/Import.
pub const DEFAULT_KEY_POOL_SIZE: usize = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub master_key_file: Option<PathBuf>,
    /// A PostgreSQL URL (`postgres://...`) to use instead of the embedded SQLite store.
    pub database_url: Option<String>,
    /// How long export and import tokens (and their certificates) are valid, e.g. `7d`.
    pub token_validity: Option<String>,
    /// The least validity a token must have left for ReuseLastGeneratedToken to return it.
    pub token_reuse_min_remaining: Option<String>,
    /// PEM certificate chain to serve HTTPS with (together with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address.
    pub allow_plaintext: Option<bool>,
    /// Where the audit log of mutating requests goes.
    pub audit_log: Option<PathBuf>,
    /// RSA-2048 key pairs kept pregenerated for tokens; 0 disables the pool.
    pub key_pool_size: Option<usize>,
    /// Serve the web console at `/console/` (on by default).
    pub console: Option<bool>,
    /// Serve Prometheus metrics at `/metrics` (on by default).
    pub metrics: Option<bool>,
    #[serde(default)]
    pub limits: LimitsConfig,
    pub accounts: Option<Vec<AccountConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub keys_per_region: Option<u32>,
    pub aliases_per_region: Option<u32>,
    pub tags_per_key: Option<u32>,
    /// Control-plane requests per second per account; absent or 0 means no limit.
    pub requests_per_second: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub id: String,
    pub credentials: Vec<CredentialConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Parses a duration such as `7d`, `36h`, `15m` or `3s` into milliseconds.
pub fn parse_duration(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| {
        anyhow::anyhow!(
            "duration {text:?} must be a whole number with a unit (s, m, h or d), e.g. 7d"
        )
    })?;
    let unit_millis = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("duration {text:?} must end in s, m, h or d, e.g. 7d"),
    };
    if number <= 0 {
        bail!("duration {text:?} must be positive");
    }
    number
        .checked_mul(unit_millis)
        .ok_or_else(|| anyhow::anyhow!("duration {text:?} is too long"))
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn limits(&self) -> Limits {
        let default = Limits::default();
        Limits {
            max_keys: self.limits.keys_per_region.unwrap_or(default.max_keys),
            max_aliases: self
                .limits
                .aliases_per_region
                .unwrap_or(default.max_aliases),
            max_tags: self.limits.tags_per_key.unwrap_or(default.max_tags),
        }
    }

    /// The access keys of every configured account; without accounts, the one default account
    /// with access key `test` and secret `test`.
    pub fn access_keys(&self) -> anyhow::Result<Vec<AccessKey>> {
        let Some(accounts) = &self.accounts else {
            return Ok(vec![AccessKey {
                account: DEFAULT_ACCOUNT.into(),
                access_key_id: "test".into(),
                secret_access_key: "test".into(),
            }]);
        };
        let mut keys: Vec<AccessKey> = Vec::new();
        for account in accounts {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                bail!("account id {:?} is not 12 digits", account.id);
            }
            for credential in &account.credentials {
                if keys
                    .iter()
                    .any(|k| k.access_key_id == credential.access_key_id)
                {
                    bail!(
                        "access key id {:?} is configured more than once",
                        credential.access_key_id
                    );
                }
                keys.push(AccessKey {
                    account: account.id.clone(),
                    access_key_id: credential.access_key_id.clone(),
                    secret_access_key: credential.secret_access_key.clone(),
                });
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let config: FileConfig = toml::from_str(
            r#"
            listen = "127.0.0.1:0"
            key_pool_size = 2
            console = false
            [limits]
            keys_per_region = 5
            [[accounts]]
            id = "111122223333"
            credentials = [{ access_key_id = "test", secret_access_key = "test" }]
            [[accounts]]
            id = "444455556666"
            credentials = [{ access_key_id = "b1", secret_access_key = "s1" }, { access_key_id = "b2", secret_access_key = "s2" }]
            "#,
        )
        .unwrap();
        assert_eq!(config.limits().max_keys, 5);
        assert_eq!(config.key_pool_size, Some(2));
        assert_eq!(config.console, Some(false));
        assert_eq!(config.metrics, None);
        assert_eq!(config.limits().max_tags, 200);
        let keys = config.access_keys().unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[2].account, "444455556666");
        assert!(!format!("{:?}", config).contains("s1"));
    }

    #[test]
    fn refuses_typos_and_bad_accounts() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let bad: FileConfig = toml::from_str(
            "[[accounts]]\nid = \"12\"\ncredentials = [{ access_key_id = \"a\", secret_access_key = \"b\" }]",
        )
        .unwrap();
        assert!(bad.access_keys().is_err());
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("7d").unwrap(), 7 * 86_400_000);
        assert_eq!(parse_duration("3s").unwrap(), 3_000);
        assert_eq!(parse_duration("36h").unwrap(), 36 * 3_600_000);
        assert_eq!(parse_duration("15m").unwrap(), 900_000);
        for bad in ["", "7", "d", "7w", "-1d", "0s", "1.5d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_account_without_config() {
        let keys = FileConfig::default().access_keys().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].account, DEFAULT_ACCOUNT);
        assert_eq!(keys[0].access_key_id, "test");
    }
}
