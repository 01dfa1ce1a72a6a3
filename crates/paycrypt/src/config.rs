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
//! credentials = [
//!   { access_key_id = "test", secret_access_key = "test" },   # no policy: everything
//!   { access_key_id = "AKIAISSUER", secret_access_key = "...", user = "issuer-host",
//!     policy = '''{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
//!       "Action": "payment-cryptography:Verify*", "Resource": "*"}]}''' },
//! ]
//! ```
//!
//! The accounts are checked as they load, at start and on every reload: a policy that does not
//! parse, a policy without a user, a user name IAM would refuse, two credentials with one access
//! key id, or one user given two different policies is refused with the line it is on.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::{Context as _, bail};
use paycrypt_server::AccessKey;
use paycrypt_service::Limits;
use serde::Deserialize;
use toml::Spanned;

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
    /// The text the file was read from, to name the lines of the accounts' errors.
    #[serde(skip)]
    source: Source,
}

/// Where a configuration came from: its name and text (never printed, it holds secrets).
#[derive(Default)]
struct Source {
    name: String,
    text: String,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// `FILE, line N` of the byte offset `at`.
    fn line(&self, at: usize) -> String {
        let line = self
            .text
            .get(..at)
            .unwrap_or_default()
            .matches('\n')
            .count()
            + 1;
        format!("{}, line {line}", self.name)
    }
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
    pub credentials: Vec<Spanned<CredentialConfig>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The IAM user the key belongs to; without one, the key is the account's root credential.
    pub user: Option<String>,
    /// The user's identity policy (IAM JSON); without one, the key may do everything in its
    /// account.
    pub policy: Option<String>,
}

impl std::fmt::Debug for CredentialConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialConfig")
            .field("access_key_id", &self.access_key_id)
            .field("user", &self.user)
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
        Self::parse(&path.display().to_string(), text)
    }

    /// The configuration in `text`, read from the file `name`.
    pub fn parse(name: &str, text: String) -> anyhow::Result<Self> {
        let source = Source {
            name: name.to_string(),
            text,
        };
        // The message and the line only: toml's own display quotes the line, secrets included.
        let mut config: Self = toml::from_str(&source.text).map_err(|e| {
            let at = e
                .span()
                .map_or(name.to_string(), |span| source.line(span.start));
            anyhow::anyhow!("invalid config file {at}: {}", e.message().trim_end())
        })?;
        config.source = source;
        Ok(config)
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

    /// The access keys of every configured account, each checked (see the module doc); without
    /// accounts, the one default account with access key `test` and secret `test`.
    pub fn access_keys(&self) -> anyhow::Result<Vec<AccessKey>> {
        let Some(accounts) = &self.accounts else {
            return Ok(vec![AccessKey::root(DEFAULT_ACCOUNT, "test", "test")]);
        };
        let mut keys: Vec<(AccessKey, usize, Option<&str>)> = Vec::new();
        for account in accounts {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                bail!("account id {:?} is not 12 digits", account.id);
            }
            for entry in &account.credentials {
                let at = entry.span().start;
                let line = || self.source.line(at);
                let credential = entry.get_ref();
                if let Some((_, first, _)) = keys
                    .iter()
                    .find(|(k, _, _)| k.access_key_id == credential.access_key_id)
                {
                    bail!(
                        "{}: access key id {:?} is configured more than once (first at {})",
                        line(),
                        credential.access_key_id,
                        self.source.line(*first)
                    );
                }
                let key = access_key(&account.id, credential).with_context(line)?;
                if let Some((other, _, other_policy)) = keys.iter().find(|(k, _, _)| {
                    k.account == key.account && k.user.is_some() && k.user == key.user
                }) && *other_policy != credential.policy.as_deref()
                {
                    bail!(
                        "{}: user {:?} of account {} already has another policy (access key {:?}); give each of a user's access keys the same policy",
                        line(),
                        credential.user.as_deref().unwrap_or_default(),
                        account.id,
                        other.access_key_id
                    );
                }
                keys.push((key, at, credential.policy.as_deref()));
            }
        }
        Ok(keys.into_iter().map(|(key, _, _)| key).collect())
    }
}

/// The access key a credential entry of `account` configures.
fn access_key(account: &str, credential: &CredentialConfig) -> anyhow::Result<AccessKey> {
    let id = &credential.access_key_id;
    if let Some(user) = &credential.user
        && !paycrypt_service::is_user_name(user)
    {
        bail!(
            "user {user:?} of access key {id:?} is not a user name: use 1 to 64 letters, digits and +=,.@_-"
        );
    }
    let identity_policy = match (&credential.policy, &credential.user) {
        (None, _) => None,
        (Some(_), None) => bail!(
            "access key {id:?} has a policy but no user: give it a user (user = \"NAME\"); a credential without a user is its account's root and may do everything"
        ),
        (Some(policy), Some(user)) => Some(Arc::new(
            paycrypt_service::parse_identity_policy(policy).map_err(|e| {
                anyhow::anyhow!("the policy of user {user:?} (access key {id:?}) is not valid: {e}")
            })?,
        )),
    };
    Ok(AccessKey {
        account: account.to_string(),
        access_key_id: id.clone(),
        secret_access_key: credential.secret_access_key.clone(),
        user: credential.user.clone(),
        identity_policy,
    })
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

    const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "payment-cryptography:VerifyPinData", "Resource": "*"}}"#;

    fn config(credentials: &str) -> anyhow::Result<FileConfig> {
        FileConfig::parse(
            "paycrypt.toml",
            format!("[[accounts]]\nid = \"111122223333\"\ncredentials = [\n{credentials}\n]\n"),
        )
    }

    fn error_of(credentials: &str) -> String {
        let error = match config(credentials) {
            Ok(config) => config.access_keys().unwrap_err(),
            Err(e) => e,
        };
        format!("{error:#}")
    }

    #[test]
    fn users_carry_their_parsed_policy() {
        let keys = config(&format!(
            "{{ access_key_id = \"test\", secret_access_key = \"test\" }},\n{{ access_key_id = \"AKIAISSUER\", secret_access_key = \"s\", user = \"issuer-host\", policy = '{POLICY}' }},"
        ))
        .unwrap()
        .access_keys()
        .unwrap();
        assert_eq!(keys[0].user, None);
        assert!(keys[0].identity_policy.is_none());
        assert_eq!(keys[1].user.as_deref(), Some("issuer-host"));
        assert!(keys[1].identity_policy.is_some());
        assert!(!format!("{keys:?}").contains("\"s\""));
    }

    #[test]
    fn bad_credentials_are_refused_with_their_line() {
        let root = "{ access_key_id = \"test\", secret_access_key = \"test\" },";
        let cases = [
            (
                format!("{root}\n{root}"),
                "paycrypt.toml, line 5: access key id \"test\" is configured more than once (first at paycrypt.toml, line 4)",
            ),
            (
                format!("{root}\n{{ access_key_id = \"u\", secret_access_key = \"s\", user = \"u\", policy = '{{}}' }},"),
                "paycrypt.toml, line 5: the policy of user \"u\" (access key \"u\") is not valid: Version is required",
            ),
            (
                format!("{{ access_key_id = \"u\", secret_access_key = \"s\", user = \"u\", policy = '{}' }},", POLICY.replace("\"Resource\"", "\"Principal\": \"*\", \"Resource\"")),
                "line 4: the policy of user \"u\" (access key \"u\") is not valid: statement 1: Principal does not belong in an identity policy",
            ),
            (
                format!("{{ access_key_id = \"u\", secret_access_key = \"s\", user = \"u\", policy = '{}' }},", POLICY.replace("\"Resource\": \"*\"", "\"Resource\": \"*\", \"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"true\"}}")),
                "condition operator Bool is not supported",
            ),
            (
                format!("{{ access_key_id = \"u\", secret_access_key = \"s\", policy = '{POLICY}' }},"),
                "line 4: access key \"u\" has a policy but no user",
            ),
            (
                "{ access_key_id = \"u\", secret_access_key = \"s\", user = \"a/b\" },".to_string(),
                "line 4: user \"a/b\" of access key \"u\" is not a user name",
            ),
            (
                format!("{{ access_key_id = \"u1\", secret_access_key = \"s\", user = \"u\", policy = '{POLICY}' }},\n{{ access_key_id = \"u2\", secret_access_key = \"s\", user = \"u\" }},"),
                "line 5: user \"u\" of account 111122223333 already has another policy (access key \"u1\")",
            ),
            (
                "{ access_key_id = \"u\", secret_access_key = \"s\", usr = \"u\" },".to_string(),
                "line 4",
            ),
        ];
        for (credentials, expected) in cases {
            let message = error_of(&credentials);
            assert!(message.contains(expected), "{credentials}\n{message}");
            assert!(!message.contains("secret_access_key = "), "{message}");
        }
        // One user may have several access keys with the same policy.
        let same = format!(
            "{{ access_key_id = \"u1\", secret_access_key = \"s\", user = \"u\", policy = '{POLICY}' }},\n{{ access_key_id = \"u2\", secret_access_key = \"s\", user = \"u\", policy = '{POLICY}' }},"
        );
        assert_eq!(config(&same).unwrap().access_keys().unwrap().len(), 2);
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
