//! Every limit the listener enforces, in one place, with safe defaults.

use std::time::Duration;

/// What a client may take, and for how long, before its connection is closed.
///
/// The defaults suit a server facing untrusted networks; a deadline of zero closes
/// at once, so configuration should refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerLimits {
    /// From the TCP accept to the end of the TLS handshake.
    pub handshake_timeout: Duration,
    /// To receive a request's whole head: on a new connection from the handshake,
    /// on a kept-alive HTTP/1 connection from the previous response (so it is also
    /// HTTP/1's keep-alive idle time), on HTTP/2 until the first request.
    pub header_read_timeout: Duration,
    /// A request body may take this long before its rate is checked...
    pub body_grace: Duration,
    /// ...then it is cut once `elapsed > body_grace + received / this`.
    pub body_min_bytes_per_second: u64,
    /// A connection with no request in flight for this long is closed (HTTP/2
    /// mostly: HTTP/1 has `header_read_timeout` between requests).
    pub idle_timeout: Duration,
    /// A connection whose peer accepts none of the response's bytes for this long
    /// is closed (a slow reader).
    pub send_timeout: Duration,
    /// HTTP/2 keep-alive pings: one after this much silence...
    pub http2_keep_alive_interval: Duration,
    /// ...and the connection is closed if it is not answered within this.
    pub http2_keep_alive_timeout: Duration,
    /// HTTP/2 requests in flight at once on one connection.
    pub http2_max_concurrent_streams: u32,
    /// The largest request head: HTTP/1's read buffer (at least 8 KiB) and
    /// HTTP/2's header list.
    pub max_header_bytes: u32,
    /// Connections open at once, handshaking or served; at the cap, new ones wait
    /// in the kernel's backlog.
    pub max_connections: usize,
    /// Connections open at once from one source (IPv4 address, or IPv6 /64); one
    /// more is closed at once.
    pub max_connections_per_source: usize,
    /// On shutdown, how long requests in flight may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            body_grace: Duration::from_secs(10),
            body_min_bytes_per_second: 500,
            idle_timeout: Duration::from_secs(60),
            send_timeout: Duration::from_secs(60),
            http2_keep_alive_interval: Duration::from_secs(20),
            http2_keep_alive_timeout: Duration::from_secs(20),
            http2_max_concurrent_streams: 100,
            max_header_bytes: 32 * 1024,
            max_connections: 1024,
            max_connections_per_source: 64,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// HTTP/1's smallest read buffer: hyper refuses (panics on) anything less.
pub(crate) const MIN_HTTP1_BUFFER: usize = 8192;
