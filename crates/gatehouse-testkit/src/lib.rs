//! Test support: starts a real Gatehouse server on 127.0.0.1:0 over a temporary
//! SQLite file or an isolated schema of the PostgreSQL test database, with a clock
//! the test moves, and hands back pinned clients and an administrator token.
//!
//! PostgreSQL tests read `GATEHOUSE_TEST_DATABASE_URL`; when it is unset they are
//! skipped with a message, unless `GATEHOUSE_TEST_REQUIRE_POSTGRES=1` (as `make
//! test` sets), which turns a missing database into a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use gatehouse_client::Client;
use gatehouse_server::clock::ManualClock;
use gatehouse_server::config::Config;
use gatehouse_server::RunningServer;
use gatehouse_store::{PgStore, SqliteStore, Store, StoreOptions};
use gatehouse_types::{CreateApiTokenRequest, Role};

pub use gatehouse_server;

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite,
    Postgres(String),
}

impl Db {
    /// The PostgreSQL test database, or `None` (after saying so) if not configured.
    pub fn postgres() -> Option<Db> {
        match std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Db::Postgres(url)),
            _ if std::env::var("GATEHOUSE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("GATEHOUSE_TEST_REQUIRE_POSTGRES=1 but GATEHOUSE_TEST_DATABASE_URL is unset")
            }
            _ => {
                eprintln!("skipped: set GATEHOUSE_TEST_DATABASE_URL to run on PostgreSQL");
                None
            }
        }
    }

    /// Opens a fresh, empty store: a new SQLite file in `dir`, or a new schema.
    pub async fn open_store(&self, dir: &std::path::Path) -> Arc<dyn Store> {
        self.open_store_with(dir, &StoreOptions::default()).await
    }

    /// As [`Db::open_store`], with the pools and read timeout of `options`.
    pub async fn open_store_with(
        &self,
        dir: &std::path::Path,
        options: &StoreOptions,
    ) -> Arc<dyn Store> {
        match self {
            Db::Sqlite => Arc::new(
                SqliteStore::open_with(&dir.join("gatehouse.db"), options)
                    .await
                    .unwrap(),
            ),
            Db::Postgres(url) => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                Arc::new(
                    PgStore::connect_in_schema_with(url, &schema, options)
                        .await
                        .unwrap(),
                )
            }
        }
    }
}

/// Generates `NAME::sqlite` and `NAME::postgres` tests from `async fn NAME(db: Db)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Db::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::Db::postgres() {
                    super::$name(db).await
                }
            }
        }
    )*};
}

/// A running server and what a test needs to talk to it.
pub struct TestServer {
    pub base_url: String,
    pub fingerprint: String,
    pub admin_token: String,
    pub clock: Arc<ManualClock>,
    pub store: Arc<dyn Store>,
    pub config: Config,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start(db: Db) -> TestServer {
        Self::start_with(db, |_| {}).await
    }

    /// Starts with the default test config changed by `tweak`.
    pub async fn start_with(db: Db, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        ));
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let store = db
            .open_store_with(&config.data_dir, &config.capacity.store_options())
            .await;
        let prepared = gatehouse_server::prepare_with_store(config.clone(), store.clone()).unwrap();
        let report = gatehouse_server::init(&prepared, clock.as_ref(), false)
            .await
            .unwrap();
        let server = gatehouse_server::start(prepared, clock.clone())
            .await
            .unwrap();
        TestServer {
            base_url: server.base_url(),
            fingerprint: server.fingerprint.clone(),
            admin_token: report.admin_token,
            clock,
            store,
            config,
            server: Some(server),
            _dir: dir,
        }
    }

    /// A pinned client with the administrator token.
    pub fn client(&self) -> Client {
        self.anonymous().with_token(self.admin_token.clone())
    }

    /// A pinned client with no token.
    pub fn anonymous(&self) -> Client {
        Client::builder(&self.base_url)
            .pin_sha256(&self.fingerprint)
            .build()
            .unwrap()
    }

    /// A raw HTTP client over the pinned TLS configuration, for hand-made requests.
    pub fn raw(&self) -> reqwest::Client {
        let verifier = Arc::new(gatehouse_client::PinnedVerifier::new(&self.fingerprint).unwrap());
        reqwest::Client::builder()
            .use_preconfigured_tls(gatehouse_client::client_config(Some(verifier)).unwrap())
            .build()
            .unwrap()
    }

    /// Mints a token with `role` through the API and returns its secret.
    pub async fn mint(&self, role: Role) -> String {
        let request = CreateApiTokenRequest {
            name: format!("test {role}"),
            role,
            expires_in_seconds: None,
        };
        self.client()
            .create_api_token(&request)
            .await
            .unwrap()
            .secret
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// `https://127.0.0.1:PORT` of the gateway (`[gateway]` configured).
    pub fn gateway_url(&self) -> String {
        let addr = self
            .server
            .as_ref()
            .and_then(|s| s.gateway_addr)
            .expect("the server runs no gateway");
        format!("https://{addr}")
    }

    /// Another server on the same database, data directory (so the same audit
    /// key and key-encryption key) and clock: a second replica. Give the first
    /// a fixed `tokens.issuer`, or each names its own address as issuer.
    pub async fn replica(&self) -> TestServer {
        let prepared =
            gatehouse_server::prepare_with_store(self.config.clone(), self.store.clone()).unwrap();
        let server = gatehouse_server::start(prepared, self.clock.clone())
            .await
            .unwrap();
        TestServer {
            base_url: server.base_url(),
            fingerprint: server.fingerprint.clone(),
            admin_token: self.admin_token.clone(),
            clock: self.clock.clone(),
            store: self.store.clone(),
            config: self.config.clone(),
            server: Some(server),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        self.store.close().await;
    }
}

/// A TLS 1.3 server on 127.0.0.1:0 that is not Gatehouse: it answers every request
/// with `200` and `body`. For testing what clients do when an address answers, but
/// not like a Gatehouse server. Returns its `https://` URL; it stops with the runtime.
pub async fn start_impostor(body: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        ..Config::default()
    };
    let tls = gatehouse_server::tls::load_or_generate(&config).unwrap();
    // HTTP/1.1 only: it writes a raw HTTP/1.1 answer.
    let mut server_config = (*tls.server_config).clone();
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _keep = dir;
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let _ = stream.read(&mut buf).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    url
}

/// A TLS 1.3 server on 127.0.0.1:0 that answers `GET /healthz` with `ok` like
/// Gatehouse, and every other request with a Gatehouse-shaped `401`, and keeps the
/// head (request line and headers) of every request it received: for proving
/// what a client sent, or did not send, before it trusted the server.
pub struct Recorder {
    pub base_url: String,
    /// SHA-256 of its certificate, `AB:CD:…`.
    pub fingerprint: String,
    heads: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let tls = gatehouse_server::tls::load_or_generate(&config).unwrap();
        let mut server_config = (*tls.server_config).clone();
        server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("https://{}", listener.local_addr().unwrap());
        let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = heads.clone();
        tokio::spawn(async move {
            let _keep = dir;
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, heads) = (acceptor.clone(), kept.clone());
                tokio::spawn(async move {
                    let Ok(mut stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let (status, body) = if head.starts_with("GET /healthz ") {
                        ("200 OK", "ok".to_owned())
                    } else {
                        (
                            "401 Unauthorized",
                            r#"{"code":"invalid_token","message":"invalid or expired token","request_id":"recorder"}"#
                                .to_owned(),
                        )
                    };
                    heads.lock().unwrap().push(head);
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Recorder {
            base_url,
            fingerprint: tls.fingerprint.clone(),
            heads,
        }
    }

    /// The heads of the requests received so far, in order.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }

    /// Whether any request so far carried an `Authorization` header.
    pub fn saw_authorization(&self) -> bool {
        self.heads().iter().any(|h| {
            h.lines()
                .any(|l| l.to_ascii_lowercase().starts_with("authorization:"))
        })
    }
}
