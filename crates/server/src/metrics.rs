//! The metrics of `GET /metrics`, in the Prometheus text format, through the `metrics` facade and
//! its Prometheus recorder (`metrics-exporter-prometheus`). Every name paycrypt exports is listed
//! here; labels carry only bounded sets of values (a plane, an operation name, an error code, a
//! key state), never an account id, a key id or anything secret.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `paycrypt_requests_total` | counter | `plane`, `operation`, `outcome` | requests answered: `plane` is `control`, `data` or `console`; `operation` the API operation (`unknown` when the request named none); `outcome` `success` or the error code |
//! | `paycrypt_request_duration_seconds` | histogram | `plane`, `operation` | time from the request's arrival to its answer |
//! | `paycrypt_keys` | gauge | `state` | keys in each state over every account and region, counted when scraped |
//! | `paycrypt_store_commit_batch_size` | histogram | | writes per SQLite group commit (emitted by `paycrypt_store`) |
//! | `paycrypt_store_commit_duration_seconds` | histogram | | time of each SQLite group commit (emitted by `paycrypt_store`) |
//! | `paycrypt_token_key_pool_depth` | gauge | `kind` | pairs and ready tokens in the key pool (emitted by `paycrypt_service`) |
//!
//! Another crate emits through the same facade without depending on this one: it depends on
//! `metrics` and calls, say, `metrics::histogram!("paycrypt_store_commit_batch_size")
//! .record(n as f64)`. The recorder installed here (once per process, by the first server
//! started) collects it and `/metrics` shows it. A histogram whose name ends in `_seconds` gets
//! [`DURATION_BUCKETS`], one ending in `_size` gets [`SIZE_BUCKETS`]; add its row to the table
//! above.
//!
//! The recorder is process-wide: several servers in one process (the integration tests) share it,
//! so each shows the sum of all their traffic, which only ever grows.

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use paycrypt_api::KeyState;
use paycrypt_service::Plane;

use crate::AppState;

pub const REQUESTS: &str = "paycrypt_requests_total";
pub const REQUEST_DURATION: &str = "paycrypt_request_duration_seconds";
pub const KEYS: &str = "paycrypt_keys";

/// Bucket bounds of every `*_seconds` histogram: 0.5 ms to 10 s.
pub const DURATION_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds of every `*_size` histogram (counts of things, such as writes in a commit).
pub const SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's recorder, installed on first use.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), DURATION_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("_size".into()), SIZE_BUCKETS))
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only its own");
        }
        handle
    })
}

/// Installs the recorder, so that what other crates emit from now on is collected.
pub(crate) fn install() {
    handle();
}

/// Counts one answered request of `plane` and records how long it took.
pub(crate) fn record_request(
    plane: Plane,
    operation: &'static str,
    outcome: &'static str,
    took: Duration,
) {
    let plane = match plane {
        Plane::Control => "control",
        Plane::Data => "data",
        Plane::Console => "console",
        Plane::Admin => "admin",
    };
    metrics::counter!(REQUESTS, "plane" => plane, "operation" => operation, "outcome" => outcome)
        .increment(1);
    metrics::histogram!(REQUEST_DURATION, "plane" => plane, "operation" => operation)
        .record(took.as_secs_f64());
}

/// `GET /metrics`: the key counts of this moment, then everything recorded so far.
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    let handle = handle();
    match state.service.count_keys_by_state().await {
        Ok(counts) => {
            for known in KeyState::ALL {
                let count = counts
                    .iter()
                    .find(|(state, _)| state == known.as_str())
                    .map_or(0, |(_, count)| *count);
                // A gauge holds an f64: exact for any count below 2^53.
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!(KEYS, "state" => known.as_str()).set(count as f64);
            }
        }
        Err(_) => tracing::warn!("/metrics: the keys could not be counted"),
    }
    handle.run_upkeep();
    let mut response = (StatusCode::OK, handle.render()).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
