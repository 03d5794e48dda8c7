//! A Twilio-compatible SMS provider's stand-in: HTTP/1.1 on 127.0.0.1 (hyper),
//! plain or over TLS with a certificate from a CA made here, recording every form
//! POST and answering as scripted.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context, Result};
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use super::write_certificates;
use crate::SmsWebhookConfig;

/// The account the stand-in expects.
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
pub const AUTH_TOKEN: &str = "harness-auth-token";
pub const FROM: &str = "+15005550006";

/// How the stand-in answers the next POSTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderReply {
    /// `201 {"sid": "SM…", "status": "queued"}` (the default).
    Created,
    /// A 4xx with Twilio's error shape `{"code": …, "message": …}`.
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
    /// This status (503, 429, …) with a small JSON error.
    Unavailable(u16),
    /// Reads the request, then never answers.
    Hang,
}

impl ProviderReply {
    /// `400 {"code": 21211, "message": "invalid To"}`.
    pub fn invalid_to() -> Self {
        ProviderReply::Refused {
            status: 400,
            code: 21211,
            message: "invalid To".to_owned(),
        }
    }
}

/// One POST the stand-in received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPost {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

impl RecordedPost {
    /// The first value of the form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `(user, password)` from `Authorization: Basic …`.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let encoded = self.authorization.as_deref()?.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }
}

struct Script {
    reply: ProviderReply,
    posts: Vec<RecordedPost>,
}

type Shared = Arc<Mutex<Script>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Script> {
    match shared.lock() {
        Ok(script) => script,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The running stand-in; stopped when dropped.
#[derive(Debug)]
pub struct SmsProvider {
    port: u16,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
    ca_pem: Option<PathBuf>,
    // Last, so that it is removed after the task is gone.
    dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("reply", &self.reply)
            .field("posts", &self.posts.len())
            .finish()
    }
}

impl SmsProvider {
    /// Plain HTTP on a free port of 127.0.0.1, answering `Created`.
    pub async fn start() -> Result<Self> {
        Self::start_with(false).await
    }

    /// HTTPS on a free port of 127.0.0.1 (`ca_pem_path` signed its
    /// certificate), answering `Created`.
    pub async fn start_https() -> Result<Self> {
        Self::start_with(true).await
    }

    async fn start_with(https: bool) -> Result<Self> {
        let (acceptor, ca_pem, dir) = if https {
            let dir = tempfile::Builder::new()
                .prefix("gatehouse-sms-")
                .tempdir()?;
            let ca_pem = write_certificates(dir.path())?;
            (Some(tls_acceptor(dir.path())?), Some(ca_pem), Some(dir))
        } else {
            (None, None, None)
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared: Shared = Arc::new(Mutex::new(Script {
            reply: ProviderReply::Created,
            posts: Vec::new(),
        }));
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            // Dropped with the task, which aborts every connection (a hanging one too).
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = serving.clone();
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            // A client that refuses our certificate ends here.
                            if let Ok(tls) = acceptor.accept(stream).await {
                                serve(tls, shared).await;
                            }
                        }
                        None => serve(stream, shared).await,
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(SmsProvider {
            port,
            shared,
            task,
            ca_pem,
            dir,
        })
    }

    /// Answer the next POSTs so.
    pub fn reply_with(&self, reply: ProviderReply) {
        lock(&self.shared).reply = reply;
    }

    /// Every POST so far, oldest first.
    pub fn posts(&self) -> Vec<RecordedPost> {
        lock(&self.shared).posts.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA that signed the certificate, when it speaks HTTPS.
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.ca_pem.as_deref()
    }

    /// `http(s)://127.0.0.1:PORT/2010-04-01/Accounts/AC…/Messages.json`.
    pub fn url(&self) -> String {
        let scheme = if self.dir.is_some() { "https" } else { "http" };
        format!(
            "{scheme}://127.0.0.1:{}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            self.port
        )
    }

    /// A sender's configuration for this stand-in (its CA when over HTTPS, a
    /// 2 s timeout).
    pub fn config(&self) -> SmsWebhookConfig {
        SmsWebhookConfig {
            url: self.url(),
            account_sid: ACCOUNT_SID.to_owned(),
            auth_token: AUTH_TOKEN.to_owned(),
            from: FROM.to_owned(),
            status_callback_url: None,
            ca_file: self.ca_pem.clone(),
            timeout_ms: 2_000,
        }
    }
}

impl Drop for SmsProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `X-Twilio-Signature` a provider would send with this callback.
pub fn sign_callback(auth_token: &str, full_url: &str, form_params: &[(String, String)]) -> String {
    crate::sms::signature(auth_token, full_url, form_params)
}

async fn serve<I>(io: I, shared: Shared)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| answer(shared.clone(), request));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

/// rustls (ring) with `server.pem` and `server.key` from `dir`.
fn tls_acceptor(dir: &Path) -> Result<tokio_rustls::TlsAcceptor> {
    let cert_pem = std::fs::read(dir.join("server.pem"))?;
    let key_pem = std::fs::read(dir.join("server.key"))?;
    let certs = rustls_pemfile::certs(&mut cert_pem.as_slice()).collect::<Result<Vec<_>, _>>()?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())?
        .context("server.key holds no private key")?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

async fn answer(
    shared: Shared,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: hyper::header::HeaderName| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header(hyper::header::AUTHORIZATION);
    let content_type = header(hyper::header::CONTENT_TYPE);
    let path = request.uri().path().to_owned();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let (reply, count) = {
        let mut script = lock(&shared);
        script.posts.push(RecordedPost {
            path,
            authorization,
            content_type,
            form: form.clone(),
        });
        (script.reply.clone(), script.posts.len())
    };
    let (status, json) = match reply {
        ProviderReply::Created => {
            let to = form.iter().find(|(n, _)| n == "To").map(|(_, v)| v.clone());
            (
                201,
                serde_json::json!({
                    "sid": format!("SM{count:032x}"),
                    "status": "queued",
                    "to": to,
                    "account_sid": ACCOUNT_SID,
                }),
            )
        }
        ProviderReply::Refused {
            status,
            code,
            message,
        } => (
            status,
            serde_json::json!({ "code": code, "message": message, "status": status }),
        ),
        ProviderReply::Unavailable(status) => (
            status,
            serde_json::json!({ "message": "service unavailable", "status": status }),
        ),
        ProviderReply::Hang => std::future::pending().await,
    };
    let mut response = Response::new(Full::new(Bytes::from(json.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
