//! The HTTP face of paycrypt: the control plane (AWS JSON 1.0 over `POST /`, routed by
//! `X-Amz-Target`), the data plane (rest-json, routed by method and path), STS
//! GetCallerIdentity (form-encoded `POST /`, see `sts`), SigV4 on every request, and
//! `GET /health`, `GET /metrics` (Prometheus text, see `metrics`) and the web console at
//! `/console/` (see `console`).
//!
//! A request flows once through: read the body (bounded) -> authenticate -> route -> decode and
//! validate into an [`paycrypt_api::Input`] (or [`paycrypt_api::data::Input`]) ->
//! [`paycrypt_service::Service`] -> JSON.
//! Every response carries `x-amzn-RequestId`; errors carry `x-amzn-ErrorType` and an AWS-style body.
//! Mutating requests, and requests refused access, are recorded in the audit log before their
//! response leaves. The server speaks plain HTTP ([`serve`]) or HTTPS with rustls ([`serve_tls`]).

mod audit;
mod console;
mod credentials;
mod data_routes;
mod dispatch;
mod metrics;
mod sts;
mod throttle;
mod tls;
mod wire_error;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::connect_info::{Connected, IntoMakeServiceWithConnectInfo};
use axum::routing::{get, post};
use axum::serve::IncomingStream;
use paycrypt_service::{Clock, Service};
use tokio::net::TcpListener;

pub use audit::AuditLog;
pub use console::Console;
pub use credentials::{AccessKey, Credentials, Signer};
pub use throttle::RateLimiter;
pub use tls::{TlsSetupError, load_tls_config};

/// Largest request body accepted, in bytes. Every input the model allows fits well inside it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub credentials: Arc<Credentials>,
    pub clock: Arc<dyn Clock>,
    pub rate_limiter: Arc<RateLimiter>,
    /// Where mutating requests are recorded; `None` records nothing.
    pub audit: Option<Arc<AuditLog>>,
    /// The web console at `/console/`; `None` turns it off.
    pub console: Option<Arc<Console>>,
    /// Whether `GET /metrics` answers (the first server with it on installs the process's
    /// metrics recorder).
    pub metrics: bool,
}

/// The routes: the control plane at `POST /`, the health check, the metrics and the console when
/// they are on, and the data plane at the paths of its model.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/", post(dispatch::handle).fallback(dispatch::not_routed))
        .route("/health", get(|| async { "ok" }));
    if state.metrics {
        metrics::install();
        router = router.route("/metrics", get(metrics::scrape));
    }
    if state.console.is_some() {
        router = router.merge(console::routes());
    }
    router.fallback(dispatch::handle_data).with_state(state)
}

/// The address a connection came from, which every request on it knows (for the audit trail).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, tls::TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, tls::TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}

/// The router, with each request knowing the address it came from.
fn with_peer_address(state: AppState) -> IntoMakeServiceWithConnectInfo<Router, PeerAddr> {
    router(state).into_make_service_with_connect_info::<PeerAddr>()
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, with_peer_address(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `state` over HTTPS with `tls` on `listener` until `shutdown` completes, then finishes
/// requests in flight.
pub async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        tls::TlsListener::new(listener, tls)?,
        with_peer_address(state),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
