//! The last stage before the response: the request, as checked, sent to one
//! of its route's upstreams over a pool of kept-alive connections, under a
//! connect and a response deadline. A request that could not be delivered
//! is tried again on the next upstream only when it is idempotent (GET,
//! HEAD, OPTIONS, PUT, DELETE) and only when the connection failed before
//! anything was sent; nothing else is ever sent twice.
//!
//! `https://` upstreams are reached over TLS (1.2 or 1.3, the server's
//! certificate checked against `ca_file` or the system's roots), and with
//! the gateway's own certificate when configured (mutual TLS: the upstream
//! can refuse anything that did not come through the gateway).

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::{ConfigError, RouteConfig, UpstreamConfig};

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
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
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

fn read_pem(key: &str, path: &std::path::Path) -> Result<Vec<rustls_pemfile::Item>, ConfigError> {
    let text = std::fs::read(path)
        .map_err(|e| ConfigError(format!("gateway.upstream.{key}: {}: {e}", path.display())))?;
    let items: Result<Vec<_>, _> = rustls_pemfile::read_all(&mut text.as_slice()).collect();
    let items = items.map_err(|_| {
        ConfigError(format!(
            "gateway.upstream.{key}: {}: not PEM",
            path.display()
        ))
    })?;
    Ok(items)
}

/// The TLS client for `https://` upstreams.
fn tls_client(config: &UpstreamConfig) -> Result<rustls::ClientConfig, ConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            for item in read_pem("ca_file", path)? {
                if let rustls_pemfile::Item::X509Certificate(cert) = item {
                    roots.add(cert).map_err(|e| {
                        ConfigError(format!("gateway.upstream.ca_file: {}: {e}", path.display()))
                    })?;
                }
            }
            if roots.is_empty() {
                return Err(ConfigError(format!(
                    "gateway.upstream.ca_file: {}: no certificate",
                    path.display()
                )));
            }
        }
        None => {
            // The system's roots; one that does not parse is left out.
            let _ = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError(format!("gateway.upstream: {e}")))?
        .with_root_certificates(roots);
    let (Some(cert_file), Some(key_file)) = (&config.client_cert_file, &config.client_key_file)
    else {
        return Ok(builder.with_no_client_auth());
    };
    let chain: Vec<_> = read_pem("client_cert_file", cert_file)?
        .into_iter()
        .filter_map(|item| match item {
            rustls_pemfile::Item::X509Certificate(cert) => Some(cert),
            _ => None,
        })
        .collect();
    let key = read_pem("client_key_file", key_file)?
        .into_iter()
        .find_map(|item| match item {
            rustls_pemfile::Item::Pkcs8Key(k) => Some(rustls::pki_types::PrivateKeyDer::from(k)),
            rustls_pemfile::Item::Pkcs1Key(k) => Some(k.into()),
            rustls_pemfile::Item::Sec1Key(k) => Some(k.into()),
            _ => None,
        })
        .ok_or_else(|| {
            ConfigError(format!(
                "gateway.upstream.client_key_file: {}: no private key",
                key_file.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(ConfigError(format!(
            "gateway.upstream.client_cert_file: {}: no certificate",
            cert_file.display()
        )));
    }
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| ConfigError(format!("gateway.upstream.client_key_file: {e}")))
}

impl Upstreams {
    pub fn new(config: UpstreamConfig) -> Result<Upstreams, ConfigError> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout()));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_client(&config)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(config.pool_idle_per_host)
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build(connector);
        Ok(Upstreams {
            client,
            config,
            turn: AtomicUsize::new(0),
        })
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
