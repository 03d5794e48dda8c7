//! Errors: [`ApiFailure`] is what a request can fail with (rendered into the one
//! error shape by the pipeline), [`ServerError`] is what starting a server can fail with.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use gatehouse_types::ErrorCode;
use http::{header, HeaderValue, StatusCode};

/// A request's failure. It renders to a status and an empty body; the pipeline's
/// outermost stage writes the JSON body with the request id, so every error,
/// wherever it arises, leaves in the one shape.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    /// Sent as `Retry-After` (seconds) with a refusal that will pass later.
    pub retry_after_seconds: Option<u64>,
}

impl ApiFailure {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    /// Tells the client when to try again.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds);
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "authentication required")
    }

    /// One answer for every bad credential: malformed, unknown, expired or revoked.
    pub fn invalid_token() -> Self {
        Self::new(ErrorCode::InvalidToken, "invalid or expired token")
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "not permitted")
    }

    pub fn not_found(what: &'static str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = status.into_response();
        let challenge = match self.code {
            ErrorCode::Unauthenticated => Some("Bearer realm=\"gatehouse\""),
            ErrorCode::InvalidToken => Some("Bearer realm=\"gatehouse\", error=\"invalid_token\""),
            _ => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self);
        response
    }
}

/// Marks an error response already written in its endpoint's own shape (the
/// OAuth endpoints answer RFC 6749's `{"error", "error_description"}`): the
/// pipeline records it with the [`ApiFailure`] beside it, and leaves the body.
#[derive(Debug, Clone, Copy)]
pub struct OwnShape;

impl From<gatehouse_store::StoreError> for ApiFailure {
    fn from(e: gatehouse_store::StoreError) -> Self {
        match e {
            gatehouse_store::StoreError::Conflict => {
                Self::new(ErrorCode::Conflict, "a conflicting record already exists")
            }
            gatehouse_store::StoreError::Timeout => {
                tracing::warn!("a read ran past capacity.read_timeout_ms and was cancelled");
                Self::new(
                    ErrorCode::Unavailable,
                    "the query took too long: narrow it, or retry later",
                )
            }
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "database unavailable");
                Self::new(
                    ErrorCode::Unavailable,
                    "the database is not available, retry later",
                )
            }
            other => {
                // The detail goes to the operator's log, never to the client.
                tracing::error!(error = %other, "store error");
                Self::internal()
            }
        }
    }
}

/// Why a server could not be prepared or started.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Store(#[from] gatehouse_store::StoreError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        addr: std::net::SocketAddr,
        reason: String,
    },
    #[error("data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("{0}")]
    Init(String),
    #[error("audit checkpoint key {path}: {reason}")]
    AuditKey { path: String, reason: String },
    #[error("token signing key ({path}): {reason}")]
    TokenKey { path: String, reason: String },
    #[error("identity: {0}")]
    Identity(String),
    #[error("gateway: {0}")]
    Gateway(String),
    /// An offline command could not append its own record, so it shows nothing.
    #[error(
        "cannot record this command in the audit trail (reading the trail is itself \
         audited), so it shows nothing: {0}"
    )]
    NotRecorded(#[source] gatehouse_store::StoreError),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}
