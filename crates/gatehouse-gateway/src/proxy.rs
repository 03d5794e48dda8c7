//! The last stage before the response: the request, as checked, sent to one
//! of its route's upstreams over a pool of kept-alive connections, under a
//! connect and a response deadline. A request that could not be delivered
//! is tried again on the next upstream only when it is idempotent (GET,
//! HEAD, OPTIONS, PUT, DELETE) and only when the connection failed before
//! anything was sent; nothing else is ever sent twice.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::{RouteConfig, UpstreamConfig};

/// Why an upstream did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    /// No connection (refused, reset, unreachable): 502.
    #[error("the upstream cannot be reached: {0}")]
    Unreachable(String),
    /// No response head in time: 504.
    #[error("the upstream did not answer within {0} ms")]
    Timeout(u64),
}

/// The upstreams' client, shared by every route.
pub struct Upstreams {
    client: Client<HttpConnector, Full<Bytes>>,
    config: UpstreamConfig,
    turn: AtomicUsize,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// `base` (`http://host:port[/prefix]`) joined with the checked path and query.
fn target(base: &str, path_and_query: &str) -> Result<Uri, ProxyError> {
    let base = base.trim_end_matches('/');
    format!("{base}{path_and_query}")
        .parse()
        .map_err(|_| ProxyError::Unreachable("the upstream address is not a URL".into()))
}

impl Upstreams {
    pub fn new(config: UpstreamConfig) -> Upstreams {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.connect_timeout()));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(config.pool_idle_per_host)
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build(connector);
        Upstreams {
            client,
            config,
            turn: AtomicUsize::new(0),
        }
    }

    /// Sends the request to the route's upstreams (in turn) and returns the
    /// response head with its body still streaming.
    pub async fn forward(
        &self,
        route: &RouteConfig,
        head: &http::request::Parts,
        path_and_query: &str,
        body: Bytes,
    ) -> Result<Response<Incoming>, ProxyError> {
        let attempts = if is_idempotent(&head.method) {
            self.config.attempts.max(1)
        } else {
            1
        };
        let first = self.turn.fetch_add(1, Ordering::Relaxed);
        let mut last = ProxyError::Unreachable("no upstream".into());
        for attempt in 0..attempts as usize {
            let Some(base) = route
                .upstreams
                .get((first + attempt) % route.upstreams.len().max(1))
            else {
                break;
            };
            let uri = target(base, path_and_query)?;
            let mut request = Request::builder()
                .method(head.method.clone())
                .uri(uri)
                .body(Full::new(body.clone()))
                .map_err(|e| ProxyError::Unreachable(e.to_string()))?;
            *request.headers_mut() = head.headers.clone();
            request.headers_mut().remove(http::header::HOST);
            if !body.is_empty() || head.headers.contains_key(http::header::CONTENT_LENGTH) {
                request
                    .headers_mut()
                    .insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            }
            let sent =
                tokio::time::timeout(self.config.response_timeout(), self.client.request(request))
                    .await;
            match sent {
                Err(_) => return Err(ProxyError::Timeout(self.config.response_timeout_ms)),
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(e)) => {
                    last = ProxyError::Unreachable(if e.is_connect() {
                        "connection refused or unreachable".into()
                    } else {
                        "the connection failed".into()
                    });
                    // Only a connection that never carried the request is retried.
                    if !e.is_connect() {
                        break;
                    }
                }
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_address_and_the_path_join_without_doubling_slashes() {
        assert_eq!(
            target("http://127.0.0.1:9000/", "/api/x?y=1").unwrap(),
            "http://127.0.0.1:9000/api/x?y=1"
        );
        assert_eq!(
            target("http://10.0.0.5:80/svc", "/api/x").unwrap(),
            "http://10.0.0.5:80/svc/api/x"
        );
        assert!(is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}
