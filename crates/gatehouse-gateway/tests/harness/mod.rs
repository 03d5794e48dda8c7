//! A real gateway over real TLS in front of a real upstream (a small hyper
//! server that answers with what it received and counts what reached it),
//! with the real Core Rule Set in libmodsecurity, and a host that verifies
//! two fixed tokens, allows what its little policy allows and keeps every
//! record it is handed.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use gatehouse_gateway::config::{Classification, Exposure, GatewayConfig, RouteConfig};
use gatehouse_gateway::waf::modsec::ModSecurityWaf;
use gatehouse_gateway::{Caller, Decision, Gateway, Host, Outcome, Posture, Question, WafSettings};
use gatehouse_listener::{Listener, ListenerLimits};

pub const ALICE: &str = "token-alice";
pub const BOB_MFA: &str = "token-bob-mfa";

/// The upstream: answers every request with what it received.
pub struct Upstream {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
}

pub async fn upstream() -> Upstream {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: hyper::Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let (parts, body) = request.into_parts();
                            if parts.uri.path().ends_with("/slow") {
                                tokio::time::sleep(Duration::from_secs(3)).await;
                            }
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let headers: HashMap<String, String> = parts
                                .headers
                                .iter()
                                .map(|(n, v)| {
                                    (
                                        n.as_str().to_owned(),
                                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                    )
                                })
                                .collect();
                            let echo = json!({
                                "method": parts.method.as_str(),
                                "uri": parts.uri.to_string(),
                                "headers": headers,
                                "body": String::from_utf8_lossy(&body),
                            });
                            let mut response =
                                hyper::Response::new(Full::new(Bytes::from(echo.to_string())));
                            response
                                .headers_mut()
                                .insert("server", "upstream/1.0".parse().unwrap());
                            Ok::<_, Infallible>(response)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Upstream { addr, hits }
}

/// The test host.
pub struct TestHost {
    pub records: Mutex<Vec<Outcome>>,
    /// The posture of every question asked, in order.
    pub postures: Mutex<Vec<Posture>>,
    pub now_us: AtomicI64,
}

#[async_trait::async_trait]
impl Host for TestHost {
    async fn verify(&self, token: &str) -> Result<Caller, String> {
        let (id, amr) = match token {
            ALICE => ("alice", vec!["pwd".to_owned()]),
            BOB_MFA => (
                "bob",
                vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()],
            ),
            _ => return Err("signature does not verify".into()),
        };
        Ok(Caller {
            kind: "user".into(),
            id: id.into(),
            name: id.into(),
            role: Some("clinician".into()),
            amr,
            auth_time_us: Some(self.now_us() - 60_000_000),
            scopes: vec![],
            host_data: None,
        })
    }

    /// The policy: everything, except that the restricted route needs two factors.
    async fn decide(&self, question: &Question) -> Decision {
        self.postures.lock().unwrap().push(question.posture.clone());
        if question.classification == Classification::Restricted && !question.posture.is_mfa {
            return Decision {
                is_allowed: false,
                determining: vec!["restricted-needs-mfa".into()],
                reason: Some("two factors are needed for this route".into()),
                errors: vec![],
            };
        }
        Decision {
            is_allowed: true,
            determining: vec!["everyone".into()],
            reason: None,
            errors: vec![],
        }
    }

    async fn record(&self, outcome: &Outcome) -> Result<(), String> {
        self.records.lock().unwrap().push(outcome.clone());
        Ok(())
    }

    fn sign_identity(&self, caller: &Caller, route: &str, request_id: &str) -> Option<String> {
        Some(format!("signed.{}.{route}.{request_id}", caller.id))
    }

    fn now_us(&self) -> i64 {
        self.now_us.load(Ordering::SeqCst)
    }
}

pub fn route(name: &str, prefix: &str, upstream: SocketAddr) -> RouteConfig {
    RouteConfig {
        name: name.into(),
        path_prefix: prefix.into(),
        upstreams: vec![format!("http://{upstream}")],
        exposure: Exposure::Partner,
        classification: Classification::Confidential,
        description: String::new(),
        is_signup: false,
        is_anonymous: false,
        max_body_bytes: 64 * 1024,
        content_types: vec![
            "application/json".into(),
            "application/x-www-form-urlencoded".into(),
            "text/plain".into(),
        ],
        rate_per_minute: None,
        identity_rate_per_minute: None,
    }
}

pub struct Harness {
    pub url: String,
    pub addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    pub client: reqwest::Client,
    pub upstream: Upstream,
    pub host: Arc<TestHost>,
    pub gateway: Arc<Gateway>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Harness {
    /// Records kept so far.
    pub fn records(&self) -> Vec<Outcome> {
        self.host.records.lock().unwrap().clone()
    }

    /// What `find` finds in the records, waiting up to 2 s for it.
    async fn eventually<T>(&self, find: impl Fn(Vec<Outcome>) -> Option<T>) -> Option<T> {
        for _ in 0..100 {
            if let Some(found) = find(self.records()) {
                return Some(found);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The record of the request `id`, waiting briefly for it.
    pub async fn record_of(&self, request_id: &str) -> Outcome {
        self.eventually(|r| r.into_iter().find(|o| o.request_id == request_id))
            .await
            .unwrap_or_else(|| panic!("no record of {request_id}"))
    }

    /// The records kept after the first `before`, waiting briefly for one
    /// (none if none came).
    pub async fn records_after(&self, before: usize) -> Vec<Outcome> {
        self.eventually(|r| (r.len() > before).then(|| r[before..].to_vec()))
            .await
            .unwrap_or_default()
    }

    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (u16, String, reqwest::header::HeaderMap) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, response.text().await.unwrap(), headers)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(ALICE)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.url))
            .bearer_auth(ALICE)
    }

    /// Sends `head` (a request line and headers, CRLF-separated, without the
    /// final empty line) as written, byte for byte, over HTTP/1.1 with
    /// `Connection: close`, and returns the status and the body.
    pub async fn raw(&self, head: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tls = (*self.tls).clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
        let tcp = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut stream = connector.connect(name, tcp).await.unwrap();
        let request = format!("{head}\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        (status, body)
    }

    /// The gateway's address and a TLS client configuration that trusts it
    /// (HTTP/1.1), for hand-made connections.
    pub fn raw_parts(&self) -> (SocketAddr, Arc<rustls::ClientConfig>) {
        let mut tls = (*self.tls).clone();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        (self.addr, Arc::new(tls))
    }

    pub fn echo(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn tls() -> (Arc<rustls::ServerConfig>, rustls::ClientConfig) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert = certified.cert.der().clone();
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(certified.key_pair.serialize_der()).unwrap();
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), client)
}

/// A gateway with `routes(upstream)` and the WAF `settings`, changed by `tweak`.
pub async fn start(
    routes: impl FnOnce(SocketAddr) -> Vec<RouteConfig>,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> Harness {
    let upstream = upstream().await;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = tcp.local_addr().unwrap();
    let mut config = GatewayConfig {
        listen: local,
        routes: routes(upstream.addr),
        waf: WafSettings::default(),
        waf_threads: 2,
        rate: Default::default(),
        honeypots: Default::default(),
        bots: Default::default(),
        upstream: Default::default(),
    };
    config.rate.sketch_width = 1 << 12;
    tweak(&mut config);
    let waf = Arc::new(ModSecurityWaf::start(config.waf.clone(), config.waf_threads, 64).unwrap());
    let host = Arc::new(TestHost {
        records: Mutex::new(Vec::new()),
        postures: Mutex::new(Vec::new()),
        now_us: AtomicI64::new(1_800_000_000_000_000),
    });
    let gateway = Gateway::new(config, waf, host.clone(), local).unwrap();
    let (server_tls, client_tls) = tls();
    let limits = ListenerLimits {
        header_read_timeout: Duration::from_secs(2),
        body_grace: Duration::from_secs(1),
        ..ListenerLimits::default()
    };
    let listener = Listener::new(tcp, server_tls, limits).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gateway.clone().serve(listener, async move {
        let _ = stopped.await;
    }));
    let tls = Arc::new(client_tls.clone());
    let mut h2 = client_tls;
    h2.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(h2)
        .build()
        .unwrap();
    Harness {
        url: format!("https://{local}"),
        addr: local,
        tls,
        client,
        upstream,
        host,
        gateway,
        stop: Some(stop),
    }
}
