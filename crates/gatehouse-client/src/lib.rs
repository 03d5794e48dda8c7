//! A typed HTTPS client for the Gatehouse API, shared by the console, the CLI and
//! the tests. It speaks TLS 1.3 only, and verifies the server one way, chosen by
//! the caller: the certificate pinned by its SHA-256 fingerprint
//! (`pin_sha256`), a chain to given certificate authorities such as the system's
//! for the URL's host name (`ca_roots`), or by default the public web roots.
//!
//! It must never log a token, and never fall back from one way of verifying to
//! another, nor to an unverified connection. Only `probe_fingerprint` accepts any
//! certificate, to show it to a person, and it has no token to send.

mod error;
mod gateway;
mod machines;
mod people;
mod pin;
mod query;
mod roots;
mod sign_in;

use std::sync::Arc;
use std::time::Duration;

use gatehouse_types::{
    ApiError, ApiTokenId, ApiTokenListResponse, ApiTokenResponse, AuditPage, AuditQuery,
    BlockedPage, BlockedSummaryResponse, CreateApiTokenRequest, CreatedApiTokenResponse,
    IngestRequest, IngestResponse, ServerInfoResponse, VerifyResponse,
};
use gatehouse_types::{
    AuthorizeResponse, CreatePolicyVersionRequest, DecisionRequest, PolicyDiffResponse,
    PolicyMatrixResponse, PolicySchemaResponse, PolicyVersionPage, PolicyVersionResponse,
    RollbackPoliciesRequest, SimulateRequest, SimulateResponse, ValidatePoliciesRequest,
    ValidatePoliciesResponse,
};
use reqwest::{Method, RequestBuilder, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::ClientError;
pub use people::UserFilters;
pub use pin::{client_config, normalize_fingerprint, PinnedVerifier};
pub use query::{BlockedFilters, BlockedSummaryQuery, ExportFormat};
pub use roots::{CaRoots, CaVerifier};

/// Largest response body the client reads; a server answering more is broken or hostile.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Largest audit export [`Client::export_audit`] holds in memory; narrow the
/// filters (a time range) for more.
const MAX_EXPORT_BYTES: usize = 512 * 1024 * 1024;

pub struct ClientBuilder {
    base_url: String,
    token: Option<String>,
    trust: Trust,
    timeout: Duration,
}

/// How the server is verified; exactly one way per client.
enum Trust {
    WebRoots,
    Pinned(String),
    Roots(CaRoots),
}

/// The verifier of a built client, asked why a handshake failed.
#[derive(Clone)]
enum Verifier {
    Pinned(Arc<PinnedVerifier>),
    Roots(Arc<CaVerifier>),
}

impl Verifier {
    fn last_seen(&self) -> Option<String> {
        match self {
            Self::Pinned(v) => v.last_seen(),
            Self::Roots(v) => v.last_seen(),
        }
    }

    fn take_refusal(&self) -> Option<ClientError> {
        match self {
            Self::Pinned(v) => v.take_mismatch(),
            Self::Roots(v) => v.take_refusal(),
        }
    }
}

impl ClientBuilder {
    /// Authenticate every request with this API token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Trust exactly the certificate with this SHA-256 fingerprint (hex, with or
    /// without colons), instead of the public web roots.
    pub fn pin_sha256(mut self, fingerprint: impl Into<String>) -> Self {
        self.trust = Trust::Pinned(fingerprint.into());
        self
    }

    /// Trust a certificate that chains to one of these authorities and is issued
    /// for the URL's host name (webpki), instead of the public web roots or a pin.
    pub fn ca_roots(mut self, roots: CaRoots) -> Self {
        self.trust = Trust::Roots(roots);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let verifier = match &self.trust {
            Trust::Pinned(pin) => Verifier::Pinned(Arc::new(PinnedVerifier::new(pin)?)),
            Trust::Roots(roots) => Verifier::Roots(Arc::new(CaVerifier::new(roots)?)),
            Trust::WebRoots => Verifier::Roots(Arc::new(CaVerifier::new(&CaRoots::web())?)),
        };
        self.build_with(verifier)
    }

    fn build_with(self, verifier: Verifier) -> Result<Client, ClientError> {
        let base = Url::parse(&self.base_url)
            .map_err(|e| ClientError::InvalidUrl(format!("{}: {e}", self.base_url)))?;
        if base.scheme() != "https" {
            return Err(ClientError::InvalidUrl(format!(
                "{}: only https:// is supported (Gatehouse has no plain-HTTP listener)",
                self.base_url
            )));
        }
        if base.host_str().is_none() {
            return Err(ClientError::InvalidUrl(format!(
                "{}: no host",
                self.base_url
            )));
        }
        let tls = match &verifier {
            Verifier::Pinned(v) => pin::config_with(v.clone())?,
            Verifier::Roots(v) => pin::config_with(v.clone())?,
        };
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gatehouse-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: self.token,
            verifier,
        })
    }
}

/// A client bound to one server; cheap to clone.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    verifier: Verifier,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            token: None,
            trust: Trust::WebRoots,
            timeout: Duration::from_secs(30),
        }
    }

    /// The same server and TLS settings, another token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// The fingerprint of the certificate the server presented last.
    pub fn last_seen_fingerprint(&self) -> Option<String> {
        self.verifier.last_seen()
    }

    /// `GET /healthz`: `ok` when the server is up.
    pub async fn healthz(&self) -> Result<String, ClientError> {
        let response = self
            .request(Method::GET, "/healthz")?
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let body = read_limited(response)
            .await
            .map_err(|e| self.transport(e))?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status == 200 {
            Ok(text)
        } else {
            Err(ClientError::UnexpectedResponse {
                status,
                detail: "health check failed".into(),
            })
        }
    }

    pub async fn server_info(&self) -> Result<ServerInfoResponse, ClientError> {
        self.call(Method::GET, "/v1/server", None::<&()>).await
    }

    pub async fn create_api_token(
        &self,
        request: &CreateApiTokenRequest,
    ) -> Result<CreatedApiTokenResponse, ClientError> {
        self.call(Method::POST, "/v1/api-tokens", Some(request))
            .await
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<ApiTokenResponse>, ClientError> {
        let list: ApiTokenListResponse = self
            .call(Method::GET, "/v1/api-tokens", None::<&()>)
            .await?;
        Ok(list.items)
    }

    pub async fn revoke_api_token(&self, id: ApiTokenId) -> Result<ApiTokenResponse, ClientError> {
        self.call(Method::DELETE, &format!("/v1/api-tokens/{id}"), None::<&()>)
            .await
    }

    /// `POST /v1/audit/events` (a service token): each event is judged on its own;
    /// the answer comes only after the accepted ones are committed.
    pub async fn ingest_audit_events(
        &self,
        request: &IngestRequest,
    ) -> Result<IngestResponse, ClientError> {
        self.call(Method::POST, "/v1/audit/events", Some(request))
            .await
    }

    /// `GET /v1/audit/events`: one page, newest first (`query.limit` records,
    /// older than `query.cursor`, the previous page's `next_cursor`).
    pub async fn search_audit(&self, query: &AuditQuery) -> Result<AuditPage, ClientError> {
        let builder = self
            .request(Method::GET, "/v1/audit/events")?
            .query(&query.to_pairs());
        self.send(builder).await
    }

    /// `GET /v1/audit/export`: the whole filtered trail, oldest first, in `format`.
    /// An export that ends early (the server failed mid-stream) is an error, never
    /// a silently short file.
    pub async fn export_audit(
        &self,
        format: ExportFormat,
        query: &AuditQuery,
    ) -> Result<Vec<u8>, ClientError> {
        let response = self
            .request(Method::GET, "/v1/audit/export")?
            .query(&[("format", format.as_str())])
            .query(&query.to_pairs())
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let mut response = self.succeeded(response).await?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > MAX_EXPORT_BYTES {
                return Err(ClientError::UnexpectedResponse {
                    status,
                    detail: format!(
                        "the export is larger than {} MiB: narrow it with a time range",
                        MAX_EXPORT_BYTES / (1024 * 1024)
                    ),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// `GET /v1/audit/verify`: recomputes the chain and checks the checkpoints.
    pub async fn verify_audit(&self) -> Result<VerifyResponse, ClientError> {
        self.call(Method::GET, "/v1/audit/verify", None::<&()>)
            .await
    }

    /// `GET /v1/blocked`: one page of refused requests, newest first.
    pub async fn list_blocked(&self, filters: &BlockedFilters) -> Result<BlockedPage, ClientError> {
        let builder = self.request(Method::GET, "/v1/blocked")?.query(filters);
        self.send(builder).await
    }

    /// `GET /v1/blocked/summary`: counts per bucket and reason, and the top talkers.
    pub async fn blocked_summary(
        &self,
        query: &BlockedSummaryQuery,
    ) -> Result<BlockedSummaryResponse, ClientError> {
        let builder = self
            .request(Method::GET, "/v1/blocked/summary")?
            .query(query);
        self.send(builder).await
    }

    /// `GET /v1/policies`: the active policy version.
    pub async fn active_policies(&self) -> Result<PolicyVersionResponse, ClientError> {
        self.call(Method::GET, "/v1/policies", None::<&()>).await
    }

    /// `GET /v1/policies/schema`.
    pub async fn policy_schema(&self) -> Result<PolicySchemaResponse, ClientError> {
        self.call(Method::GET, "/v1/policies/schema", None::<&()>)
            .await
    }

    /// `POST /v1/policies/validate`.
    pub async fn validate_policies(
        &self,
        text: &str,
    ) -> Result<ValidatePoliciesResponse, ClientError> {
        let body = ValidatePoliciesRequest { text: text.into() };
        self.call(Method::POST, "/v1/policies/validate", Some(&body))
            .await
    }

    /// `POST /v1/policies/versions`.
    pub async fn create_policy_version(
        &self,
        request: &CreatePolicyVersionRequest,
    ) -> Result<PolicyVersionResponse, ClientError> {
        self.call(Method::POST, "/v1/policies/versions", Some(request))
            .await
    }

    /// `GET /v1/policies/versions`: one page, newest first.
    pub async fn list_policy_versions(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> Result<PolicyVersionPage, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let builder = self
            .request(Method::GET, "/v1/policies/versions")?
            .query(&query);
        self.send(builder).await
    }

    /// `GET /v1/policies/versions/{n}`.
    pub async fn policy_version(&self, version: u64) -> Result<PolicyVersionResponse, ClientError> {
        self.call(
            Method::GET,
            &format!("/v1/policies/versions/{version}"),
            None::<&()>,
        )
        .await
    }

    /// `GET /v1/policies/diff?from=&to=`.
    pub async fn diff_policies(
        &self,
        from: u64,
        to: u64,
    ) -> Result<PolicyDiffResponse, ClientError> {
        let builder = self
            .request(Method::GET, "/v1/policies/diff")?
            .query(&[("from", from), ("to", to)]);
        self.send(builder).await
    }

    /// `POST /v1/policies/rollback`.
    pub async fn rollback_policies(
        &self,
        request: &RollbackPoliciesRequest,
    ) -> Result<PolicyVersionResponse, ClientError> {
        self.call(Method::POST, "/v1/policies/rollback", Some(request))
            .await
    }

    /// `POST /v1/policies/simulate`.
    pub async fn simulate_policies(
        &self,
        request: &SimulateRequest,
    ) -> Result<SimulateResponse, ClientError> {
        self.call(Method::POST, "/v1/policies/simulate", Some(request))
            .await
    }

    /// `GET /v1/policies/matrix`.
    pub async fn policy_matrix(&self) -> Result<PolicyMatrixResponse, ClientError> {
        self.call(Method::GET, "/v1/policies/matrix", None::<&()>)
            .await
    }

    /// `POST /v1/authorize`: decisions for a batch of requests.
    pub async fn authorize(
        &self,
        requests: &[DecisionRequest],
    ) -> Result<AuthorizeResponse, ClientError> {
        /// The wire's `AuthorizeRequest`, borrowing the requests.
        #[derive(Serialize)]
        struct Batch<'a> {
            requests: &'a [DecisionRequest],
        }
        self.call(Method::POST, "/v1/authorize", Some(&Batch { requests }))
            .await
    }

    /// `GET path?query` answered as a stream of chunks (CSV exports, the audit
    /// stream), once the status says success; the error in the one shape
    /// otherwise. `within` bounds the whole transfer, replacing the client's
    /// per-request timeout.
    pub async fn download<Q: Serialize + ?Sized>(
        &self,
        path: &str,
        query: &Q,
        within: Duration,
    ) -> Result<Download, ClientError> {
        let response = self
            .request(Method::GET, path)?
            .query(query)
            .timeout(within)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let response = self.succeeded(response).await?;
        Ok(Download {
            response,
            client: self.clone(),
        })
    }

    fn request(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        let mut builder = self.http.request(method, url);
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        Ok(builder)
    }

    /// A request without the bearer token (OAuth endpoints authenticate the
    /// client by the form).
    fn anonymous(&self, method: Method, path: &str) -> Result<RequestBuilder, ClientError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
        Ok(self.http.request(method, url))
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut builder = self.request(method, path)?;
        if let Some(body) = body {
            builder = builder.json(body);
        }
        self.send(builder).await
    }

    /// The response, if its status says success; the server's error in the one
    /// shape otherwise (its body read, within the limit).
    async fn succeeded(
        &self,
        response: reqwest::Response,
    ) -> Result<reqwest::Response, ClientError> {
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let bytes = read_limited(response)
            .await
            .map_err(|e| self.transport(e))?;
        Err(api_error(status, &bytes))
    }

    /// Sends and reads a JSON answer, or the error in the one shape.
    async fn send<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ClientError> {
        let response = builder.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let bytes = read_limited(response)
            .await
            .map_err(|e| self.transport(e))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::UnexpectedResponse {
                status,
                detail: format!("the response is not what a Gatehouse server sends: {e}"),
            });
        }
        Err(api_error(status, &bytes))
    }

    fn transport(&self, e: reqwest::Error) -> ClientError {
        if let Some(refusal) = self.verifier.take_refusal() {
            return refusal;
        }
        error::from_reqwest(e)
    }
}

/// A successful answer being read chunk by chunk.
pub struct Download {
    response: reqwest::Response,
    client: Client,
}

impl Download {
    /// The next chunk, or `None` at the end. A transfer cut short is an error,
    /// never a silent end.
    pub async fn chunk(&mut self) -> Result<Option<Vec<u8>>, ClientError> {
        match self.response.chunk().await {
            Ok(chunk) => Ok(chunk.map(|c| c.to_vec())),
            Err(e) => Err(self.client.transport(e)),
        }
    }
}

/// First contact with a server: `GET /healthz` accepting whatever certificate is
/// presented, and returns its SHA-256 fingerprint, for a person to confirm before
/// anything secret goes to the server. It has no token to send. Fails unless the
/// server answers `ok` like a Gatehouse server.
pub async fn probe_fingerprint(base_url: &str) -> Result<String, ClientError> {
    let builder = Client::builder(base_url).timeout(Duration::from_secs(15));
    let verifier = Arc::new(PinnedVerifier::trust_on_first_use());
    let client = builder.build_with(Verifier::Pinned(verifier.clone()))?;
    let body = client.healthz().await?;
    if body.trim() != "ok" {
        return Err(ClientError::UnexpectedResponse {
            status: 200,
            detail: "the health check did not answer like a Gatehouse server".into(),
        });
    }
    verifier
        .last_seen()
        .ok_or_else(|| ClientError::Connect("no certificate was presented".into()))
}

fn api_error(status: u16, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<ApiError>(bytes) {
        Ok(error) => ClientError::Api { status, error },
        Err(_) => ClientError::UnexpectedResponse {
            status,
            detail: "the server answered with an error that is not in Gatehouse's shape".into(),
        },
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
