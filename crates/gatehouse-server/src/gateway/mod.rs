//! The gateway this server runs when `[gateway]` is configured (GW-1 …
//! GW-10): its own HTTPS listener (TLS 1.3 only, the server's certificate
//! and listener limits), the OWASP CRS in libmodsecurity on threads of its
//! own, and this server as its host ([`host::GatewayHost`]): tokens, Cedar,
//! the audit trail and the blocked log are the server's.

pub mod api;
pub mod host;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse_gateway::waf::modsec::ModSecurityWaf;
use gatehouse_gateway::{Gateway, GatewayConfig};
use gatehouse_listener::{Listener, ListenerLimits};

use crate::app::AppState;
use crate::error::ServerError;

/// Requests waiting for a WAF thread at most; beyond, 503.
const WAF_QUEUE: usize = 1024;

/// Loads the WAF, binds the gateway's listener and serves until `shutdown`.
pub async fn start(
    config: &GatewayConfig,
    state: AppState,
    tls: Arc<rustls::ServerConfig>,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<SocketAddr, ServerError> {
    let threads = match config.waf_threads {
        0 => std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        n => n,
    };
    let settings = api::stored_waf(&state, &config.waf).await;
    let waf =
        tokio::task::spawn_blocking(move || ModSecurityWaf::start(settings, threads, WAF_QUEUE))
            .await
            .map_err(|e| ServerError::Gateway(e.to_string()))?
            .map_err(|e| ServerError::Gateway(e.to_string()))?;
    let bind_err = |e: std::io::Error| ServerError::Bind {
        addr: config.listen,
        reason: e.to_string(),
    };
    let tcp = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(bind_err)?;
    let local = tcp.local_addr().map_err(bind_err)?;
    let host = Arc::new(host::GatewayHost {
        state: state.clone(),
    });
    let gateway = Gateway::new(config.clone(), Arc::new(waf), host, local)
        .map_err(|e| ServerError::Gateway(e.to_string()))?;
    let _ = state.gateway.set(gateway.clone());
    let listener = Listener::new(tcp, tls, limits).map_err(bind_err)?;
    tracing::info!(%local, routes = config.routes.len(), "gateway listening");
    tokio::spawn(gateway.serve(listener, shutdown));
    Ok(local)
}
