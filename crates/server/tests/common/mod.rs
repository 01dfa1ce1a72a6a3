//! The test harness: a paycrypt server in this process on a free loopback port, over a SQLite
//! store in a temporary directory, with a clock the test moves, and Rust SDK clients that sign
//! with that same clock.

#![allow(dead_code)]

pub mod crypto;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as SdkCredentials;
use aws_sdk_paymentcryptography::Client;
use aws_sdk_paymentcryptography::config::{BehaviorVersion, Region};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use paycrypt_server::{AccessKey, AppState, Credentials, RateLimiter};
use paycrypt_service::{Clock, Limits, ManualClock, Sealer, Service, SystemClock, TokenPolicy};
use paycrypt_store::{KeyRecord, Scope, SqliteStore, Store};
use tokio::sync::oneshot;

pub const ACCOUNT: &str = "111122223333";
pub const OTHER_ACCOUNT: &str = "444455556666";
pub const REGION: &str = "us-east-1";
pub const MASTER_KEY: [u8; 32] = [0x5a; 32];

pub struct TestServer {
    pub endpoint: String,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The SDK's view of the test clock.
#[derive(Debug)]
struct SharedClock {
    clock: Arc<ManualClock>,
    offset_secs: i64,
}

impl TimeSource for SharedClock {
    fn now(&self) -> SystemTime {
        let millis = self.clock.now().as_millis() + self.offset_secs * 1000;
        UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
    }
}

pub async fn start() -> TestServer {
    start_with(Limits::default()).await
}

pub async fn start_with(limits: Limits) -> TestServer {
    start_limited(limits, RateLimiter::unlimited()).await
}

pub async fn start_limited(limits: Limits, rate_limiter: RateLimiter) -> TestServer {
    start_configured(limits, rate_limiter, 0).await
}

/// A server whose service keeps `size` RSA-2048 key pairs pregenerated for tokens.
pub async fn start_with_key_pool(size: usize) -> TestServer {
    start_configured(Limits::default(), RateLimiter::unlimited(), size).await
}

async fn start_configured(
    limits: Limits,
    rate_limiter: RateLimiter,
    key_pool_size: usize,
) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let service = Service::new(
        Arc::new(store),
        Sealer::new(&MASTER_KEY),
        limits,
        TokenPolicy::default(),
    )
    .await
    .unwrap()
    .with_rsa_key_pool(key_pool_size);
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let credentials = Credentials::new([
        AccessKey::root(ACCOUNT, "test", "test"),
        AccessKey::root(OTHER_ACCOUNT, "other", "other-secret"),
    ]);
    let state = AppState {
        service: Arc::new(service),
        credentials: Arc::new(credentials),
        clock: clock.clone(),
        rate_limiter: Arc::new(rate_limiter),
        audit: None,
        console: Some(Arc::new(paycrypt_server::Console::new(false))),
        metrics: true,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(paycrypt_server::serve(listener, state, async {
        let _ = rx.await;
    }));
    TestServer {
        endpoint,
        clock,
        dir,
        shutdown: Some(tx),
    }
}

impl TestServer {
    /// A client of the default account in us-east-1.
    pub fn client(&self) -> Client {
        self.client_as("test", "test", REGION, 0)
    }

    /// A client signing with the given credentials and region, its clock `offset_secs` away from
    /// the server's.
    pub fn client_as(&self, key: &str, secret: &str, region: &str, offset_secs: i64) -> Client {
        let config = aws_sdk_paymentcryptography::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(region.to_string()))
            .credentials_provider(SdkCredentials::new(
                key,
                secret,
                None,
                None,
                "paycrypt-tests",
            ))
            .time_source(SharedTimeSource::new(SharedClock {
                clock: self.clock.clone(),
                offset_secs,
            }))
            .retry_config(aws_sdk_paymentcryptography::config::retry::RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// A data-plane client of the default account in us-east-1, on the same endpoint.
    pub fn data_client(&self) -> aws_sdk_paymentcryptographydata::Client {
        let config = aws_sdk_paymentcryptographydata::Config::builder()
            .behavior_version(aws_sdk_paymentcryptographydata::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_paymentcryptographydata::config::Region::new(REGION))
            .credentials_provider(SdkCredentials::new(
                "test",
                "test",
                None,
                None,
                "paycrypt-tests",
            ))
            .time_source(SharedTimeSource::new(SharedClock {
                clock: self.clock.clone(),
                offset_secs: 0,
            }))
            .retry_config(aws_sdk_paymentcryptographydata::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_paymentcryptographydata::Client::from_conf(config)
    }

    /// The ARN of a new non-exportable symmetric key of the default account.
    pub async fn create_symmetric_key(
        &self,
        usage: &str,
        algorithm: &str,
        modes: aws_sdk_paymentcryptography::types::KeyModesOfUse,
    ) -> String {
        use aws_sdk_paymentcryptography::types::{KeyAlgorithm, KeyAttributes, KeyClass, KeyUsage};
        let attributes = KeyAttributes::builder()
            .key_usage(KeyUsage::from(usage))
            .key_class(KeyClass::SymmetricKey)
            .key_algorithm(KeyAlgorithm::from(algorithm))
            .key_modes_of_use(modes)
            .build()
            .unwrap();
        let request = self.client().create_key().key_attributes(attributes);
        let created = request.exportable(false).send().await.expect("CreateKey");
        created.key.expect("CreateKey answers the key").key_arn
    }

    /// A new Visa PIN verification key (TR31_V2) and PIN encryption key (TR31_P0), both TDES
    /// 2-key: their ARNs.
    pub async fn create_visa_pin_keys(&self) -> (String, String) {
        let pvk = self
            .create_symmetric_key(
                "TR31_V2_VISA_PIN_VERIFICATION_KEY",
                "TDES_2KEY",
                aws_sdk_paymentcryptography::types::KeyModesOfUse::builder()
                    .generate(true)
                    .verify(true)
                    .build(),
            )
            .await;
        let pek = self
            .create_symmetric_key("TR31_P0_PIN_ENCRYPTION_KEY", "TDES_2KEY", crypt_modes())
            .await;
        (pvk, pek)
    }

    /// A new non-exportable symmetric key of the default account: its ARN and clear material.
    pub async fn create_clear_key(
        &self,
        usage: &str,
        algorithm: &str,
        modes: aws_sdk_paymentcryptography::types::KeyModesOfUse,
    ) -> (String, Vec<u8>) {
        let arn = self.create_symmetric_key(usage, algorithm, modes).await;
        let clear = self.clear_key(&arn).await;
        (arn, clear)
    }

    /// The clear material of a key of the default account, opened from the store with the
    /// master key, as an independent check of what the data plane computes with it.
    pub async fn clear_key(&self, arn: &str) -> Vec<u8> {
        let record = self.stored_key(arn).await;
        let sealed = record.sealed_material.expect("key has material");
        Sealer::new(&MASTER_KEY)
            .open(arn.as_bytes(), &sealed)
            .expect("material opens")
            .expose()
            .to_vec()
    }

    /// The server's clock, in Unix seconds.
    pub fn clock_secs(&self) -> i64 {
        self.clock.now().as_millis() / 1000
    }

    /// Moves the server's (and the clients') clock forward.
    pub fn advance_days(&self, days: i64) {
        self.clock.advance_millis(days * 24 * 60 * 60 * 1000);
    }

    /// Opens the store underneath the server, as an auditor would.
    pub async fn store(&self) -> SqliteStore {
        SqliteStore::open(self.dir.path()).await.unwrap()
    }

    /// A second service over the server's data directory, as `paycrypt admin` opens it beside a
    /// running server.
    pub async fn operator_service(&self) -> Service {
        Service::new(
            Arc::new(self.store().await),
            Sealer::new(&MASTER_KEY),
            Limits::default(),
            TokenPolicy::default(),
        )
        .await
        .unwrap()
    }

    /// The stored record of a key of the default account, by ARN.
    pub async fn stored_key(&self, arn: &str) -> KeyRecord {
        let id = arn.rsplit('/').next().unwrap();
        let scope = Scope {
            account: ACCOUNT.into(),
            region: REGION.into(),
        };
        let stored = self.store().await.get_key(&scope, id).await.unwrap();
        stored.expect("key stored").record
    }
}

/// The error code of a failed SDK call.
pub fn code<E, R>(
    result: Result<impl Sized, aws_sdk_paymentcryptography::error::SdkError<E, R>>,
) -> String
where
    E: aws_sdk_paymentcryptography::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => panic!("expected an error, the call succeeded"),
        Err(e) => e
            .as_service_error()
            .and_then(|s| s.code())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("not a service error: {e:?}")),
    }
}

/// The error code and message of a failed SDK call.
pub fn code_and_message<E, R>(
    result: Result<impl Sized, aws_sdk_paymentcryptography::error::SdkError<E, R>>,
) -> (String, String)
where
    E: aws_sdk_paymentcryptography::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => panic!("expected an error, the call succeeded"),
        Err(e) => {
            let service = e
                .as_service_error()
                .unwrap_or_else(|| panic!("not a service error: {e:?}"));
            (
                service.code().unwrap_or_default().to_string(),
                service.message().unwrap_or_default().to_string(),
            )
        }
    }
}

/// The `VerificationFailedException` a data-plane call was refused with, read through the SDK's
/// typed service error.
pub fn verification_failure<E, R>(
    result: Result<impl Sized, aws_sdk_paymentcryptographydata::error::SdkError<E, R>>,
) -> aws_sdk_paymentcryptographydata::types::error::VerificationFailedException
where
    aws_sdk_paymentcryptographydata::Error:
        From<aws_sdk_paymentcryptographydata::error::SdkError<E, R>>,
{
    let Err(error) = result else {
        panic!("expected a VerificationFailedException, the call succeeded")
    };
    match aws_sdk_paymentcryptographydata::Error::from(error) {
        aws_sdk_paymentcryptographydata::Error::VerificationFailedException(e) => e,
        other => panic!("expected a VerificationFailedException, got {other:?}"),
    }
}

/// The modes of a key that encrypts, decrypts, wraps and unwraps.
pub fn crypt_modes() -> aws_sdk_paymentcryptography::types::KeyModesOfUse {
    aws_sdk_paymentcryptography::types::KeyModesOfUse::builder()
        .encrypt(true)
        .decrypt(true)
        .wrap(true)
        .unwrap(true)
        .build()
}
