//! One connection, from the accepted socket to its close: the TLS handshake under
//! its deadline, HTTP/1.1 or HTTP/2 by ALPN with hyper's timer armed, each request
//! handed to the service with its body rate-checked and the peer's address, and the
//! connection closed when idle or when the listener shuts down.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit};
use tokio_rustls::LazyConfigAcceptor;

use crate::activity::{Activity, TrackedBody};
use crate::body::{BodyRate, MinRateBody};
use crate::hello::TlsHello;
use crate::io::SendDeadline;
use crate::limits::MIN_HTTP1_BUFFER;
use crate::sources::SourceSlot;
use crate::{BoxError, ListenerLimits, Malformed, MalformedHook, PeerAddr, RequestBody};

/// How long an idle connection being closed may take to say goodbye (HTTP/2's
/// GOAWAY); nothing is in flight, so this only bounds a peer that does not answer.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every connection of one listener shares.
pub(crate) struct Shared {
    pub(crate) tls: Arc<rustls::ServerConfig>,
    pub(crate) limits: ListenerLimits,
    malformed: Option<MalformedHook>,
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Shared {
    pub(crate) fn new(
        tls: Arc<rustls::ServerConfig>,
        limits: ListenerLimits,
        malformed: Option<MalformedHook>,
    ) -> Self {
        let http1 = builder(&limits).http1_only();
        let http2 = builder(&limits).http2_only();
        Self {
            tls,
            limits,
            malformed,
            http1,
            http2,
        }
    }
}

/// hyper's connection settings, with its timer (without one, hyper arms no
/// header deadline and sends no HTTP/2 ping).
fn builder(limits: &ListenerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size((limits.max_header_bytes as usize).max(MIN_HTTP1_BUFFER));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keep_alive_interval)
        .keep_alive_timeout(limits.http2_keep_alive_timeout)
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(limits.max_header_bytes);
    builder
}

/// The request the HTTP/1 parser refused, if that is how the connection ended.
fn malformed(error: &(dyn std::error::Error + 'static)) -> Option<Malformed> {
    let e = error.downcast_ref::<hyper::Error>()?;
    if e.is_parse_too_large() {
        Some(Malformed {
            status: 431,
            why: "the request head is too large".into(),
        })
    } else if e.is_parse() {
        Some(Malformed {
            status: 400,
            why: e.to_string(),
        })
    } else {
        None
    }
}

/// What a connection holds while open: its place under the global and the
/// per-source caps.
pub(crate) struct Slots {
    pub(crate) _global: OwnedSemaphorePermit,
    pub(crate) _source: SourceSlot,
}

/// Serves one accepted connection to its end with its own clone of the service.
pub(crate) async fn run<S, B>(
    shared: Arc<Shared>,
    service: S,
    tcp: TcpStream,
    peer: SocketAddr,
    slots: Slots,
    mut stop: watch::Receiver<()>,
) where
    S: tower::Service<Request<RequestBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Unpin + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let _slots = slots;
    let limits = &shared.limits;
    // The hello is read first, for what it says about the client (bots), then
    // the handshake goes on with the listener's configuration.
    let config = shared.tls.clone();
    let handshake = tokio::time::timeout(limits.handshake_timeout, async move {
        let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
        let hello = TlsHello::of(&start.client_hello());
        let tls = start.into_stream(config).await?;
        Ok::<_, std::io::Error>((tls, Arc::new(hello)))
    });
    let (tls, hello) = tokio::select! {
        done = handshake => match done {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        },
        _ = stop.changed() => return,
    };
    let is_http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let activity = Activity::new();
    let service = PerRequest {
        inner: service,
        peer,
        hello,
        rate: BodyRate {
            grace: limits.body_grace,
            min_bytes_per_second: limits.body_min_bytes_per_second,
        },
        activity: activity.clone(),
    };
    let io = TokioIo::new(SendDeadline::new(tls, limits.send_timeout));
    // The protocol ALPN chose, so hyper never waits to sniff one from a silent peer.
    let builder = if is_http2 {
        &shared.http2
    } else {
        &shared.http1
    };
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let idle = activity.idle(limits.header_read_timeout, limits.idle_timeout);
    let drain = tokio::select! {
        served = conn.as_mut() => {
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended");
                if let (Some(hook), Some(refused)) = (&shared.malformed, malformed(e.as_ref())) {
                    hook(peer, refused).await;
                }
            }
            return;
        }
        () = idle => IDLE_CLOSE_GRACE,
        _ = stop.changed() => limits.shutdown_grace,
    };
    conn.as_mut().graceful_shutdown();
    if tokio::time::timeout(drain, conn).await.is_err() {
        tracing::debug!(%peer, "connection closed before it finished");
    }
}

/// The hyper service of one connection: hands each request to the listener's
/// service with a rate-checked body and the peer's address, and counts it in flight.
struct PerRequest<S> {
    inner: S,
    peer: SocketAddr,
    hello: Arc<TlsHello>,
    rate: BodyRate,
    activity: Activity,
}

type Answer<B, E> = Pin<Box<dyn Future<Output = Result<Response<TrackedBody<B>>, E>> + Send>>;

impl<S, B> hyper::service::Service<Request<Incoming>> for PerRequest<S>
where
    S: tower::Service<Request<RequestBody>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body + Unpin + Send + 'static,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = Answer<B, S::Error>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.start();
        let rate = self.rate;
        let mut request = request.map(|body| MinRateBody::new(body, rate));
        request.extensions_mut().insert(PeerAddr(self.peer));
        request.extensions_mut().insert(Arc::clone(&self.hello));
        let mut service = self.inner.clone();
        Box::pin(async move {
            std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
            let response = service.call(request).await?;
            Ok(response.map(|body| TrackedBody::new(body, in_flight)))
        })
    }
}
