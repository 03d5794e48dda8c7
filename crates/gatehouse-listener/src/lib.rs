//! The hardened HTTPS listener that the server (and later the gateway) stands on.
//!
//! It accepts TCP under a global connection cap and a per-source cap (memory
//! bounded by the connections open), finishes the TLS 1.3 handshake under a
//! deadline, and serves each connection with hyper (HTTP/1.1 or HTTP/2, as ALPN
//! chose) with a timer armed, so that no client can hold a connection open by doing
//! little: a request head must arrive within `header_read_timeout` (between
//! kept-alive requests too), a body must keep a minimum rate after a grace, a
//! connection with nothing in flight is closed after `idle_timeout`, a peer that
//! reads nothing is dropped after `send_timeout`, HTTP/2 is pinged and its streams
//! capped. Every request reaches the service with the peer's address as a
//! [`PeerAddr`] extension and its body as a [`MinRateBody`].
//!
//! It must never serve without TLS, never keep per-source state for a source with
//! no open connection, never depend on another Gatehouse crate (the server and the
//! gateway depend on it), and never wait on a client without a deadline.

mod activity;
mod body;
mod conn;
mod hello;
mod io;
mod limits;
mod sources;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

pub use body::MinRateBody;
pub use hello::TlsHello;
pub use limits::ListenerLimits;
pub use sources::source_of;

use conn::{Shared, Slots};
use sources::SourceCounter;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of every request the listener hands its service.
pub type RequestBody = MinRateBody<Incoming>;

/// Told of every request the HTTP/1 parser refused before a service could see
/// it (a malformed request line or header, a head over the limit): hyper has
/// answered it 400 (or 431) and closed the connection; this lets the owner
/// record it. The connection keeps its place under the connection caps until
/// the returned future completes, so recordings in flight are bounded by them.
pub type MalformedHook =
    Arc<dyn Fn(SocketAddr, Malformed) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A request the parser refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 400, or 431 for a head over the limit.
    pub status: u16,
    /// The parser's words (never the request's bytes).
    pub why: String,
}

/// The peer address of the connection a request came on, in its extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// What the listener's deadlines fail with.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// A request body fell under the minimum rate (or stalled) after its grace.
    #[error("request body arrived slower than {min_bytes_per_second} bytes per second")]
    BodyTooSlow { min_bytes_per_second: u64 },
    /// The peer accepted none of the response's bytes for this long.
    #[error("peer read nothing for {0:?}")]
    SendStalled(Duration),
}

/// Whether `error`, or any error it wraps, is a body cut for being too slow; for
/// the service, which sees it as a failed body read, to answer 408.
pub fn is_body_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if matches!(
            e.downcast_ref::<ListenerError>(),
            Some(ListenerError::BodyTooSlow { .. })
        ) {
            return true;
        }
        next = e.source();
    }
    false
}

/// A bound TCP socket with the TLS configuration and limits to serve it with.
pub struct Listener {
    malformed: Option<MalformedHook>,
    tcp: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    limits: ListenerLimits,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("local_addr", &self.local_addr)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// `tls` should allow TLS 1.3 only and offer `h2` and `http/1.1` by ALPN.
    pub fn new(
        tcp: TcpListener,
        tls: Arc<rustls::ServerConfig>,
        limits: ListenerLimits,
    ) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        Ok(Self {
            malformed: None,
            tcp,
            tls,
            limits,
            local_addr,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Tells `hook` of every request the parser refuses (see [`MalformedHook`]).
    pub fn on_malformed(mut self, hook: MalformedHook) -> Self {
        self.malformed = Some(hook);
        self
    }

    /// Serves `service` until `shutdown` completes; then stops accepting, lets
    /// requests in flight finish for up to `shutdown_grace`, closes what is left,
    /// and returns.
    pub async fn serve<S, B>(self, service: S, shutdown: impl Future<Output = ()>)
    where
        S: tower::Service<Request<RequestBody>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: Body + Unpin + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let Listener {
            tcp,
            tls,
            limits,
            malformed,
            ..
        } = self;
        let global = Arc::new(Semaphore::new(
            limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
        ));
        let sources = SourceCounter::new(limits.max_connections_per_source);
        let shutdown_grace = limits.shutdown_grace;
        let shared = Arc::new(Shared::new(tls, limits, malformed));
        let (stop, stopped) = watch::channel(());
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            // Finished connections leave their (empty) results here until reaped.
            while connections.try_join_next().is_some() {}
            // A slot first: at the cap, new connections wait in the kernel's backlog.
            let global_slot = tokio::select! {
                () = &mut shutdown => break,
                slot = global.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let (tcp_stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = tcp.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, don't spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let Some(source_slot) = sources.try_acquire(peer.ip()) else {
                tracing::debug!(%peer, "connection refused: too many from its source");
                continue;
            };
            let _ = tcp_stream.set_nodelay(true);
            let slots = Slots {
                _global: global_slot,
                _source: source_slot,
            };
            connections.spawn(conn::run(
                shared.clone(),
                service.clone(),
                tcp_stream,
                peer,
                slots,
                stopped.clone(),
            ));
        }
        drop(tcp);
        let _ = stop.send(());
        let drained = tokio::time::timeout(shutdown_grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            connections.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_too_slow_body_is_found_however_deeply_it_is_wrapped() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] BoxError);
        let cut: BoxError = Box::new(ListenerError::BodyTooSlow {
            min_bytes_per_second: 500,
        });
        let wrapped = Outer(Box::new(Outer(cut)));
        assert!(is_body_too_slow(&wrapped));
        let other = Outer(Box::new(ListenerError::SendStalled(Duration::from_secs(1))));
        assert!(!is_body_too_slow(&other));
        assert!(!is_body_too_slow(&std::io::Error::other("x")));
    }

    /// Type-checked only: a service need not be `Sync` (tower's `BoxCloneService`
    /// is not), and serving it is a future that can be spawned.
    #[allow(dead_code)]
    fn serving_a_service_that_is_not_sync_can_be_spawned(listener: Listener) {
        #[derive(Clone)]
        struct NotSync(std::cell::Cell<u8>);
        impl tower::Service<Request<RequestBody>> for NotSync {
            type Response = Response<String>;
            type Error = std::convert::Infallible;
            type Future = std::future::Ready<Result<Response<String>, Self::Error>>;
            fn poll_ready(
                &mut self,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn call(&mut self, _: Request<RequestBody>) -> Self::Future {
                std::future::ready(Ok(Response::new(String::new())))
            }
        }
        tokio::spawn(listener.serve(NotSync(std::cell::Cell::new(0)), std::future::pending()));
    }
}
