use gatehouse_types::ApiError;

/// What a call can fail with. Each variant says what happened in words a person
/// can act on; none ever includes the token.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid server URL {0}")]
    InvalidUrl(String),
    #[error("invalid certificate fingerprint: expected 64 hex digits (SHA-256), colons allowed")]
    InvalidFingerprint,
    #[error(
        "the server's certificate has changed: expected SHA-256 {expected}, got {actual}; \
         if this change is expected, forget the server and connect again, otherwise someone \
         may be intercepting the connection"
    )]
    CertificateMismatch { expected: String, actual: String },
    /// Verifying by certificate authorities, the certificate was refused: the
    /// handshake stopped, nothing was sent.
    #[error("the server's certificate is not trusted: {0}")]
    CertificateUntrusted(String),
    /// The trusted certificate authorities could not be read.
    #[error("cannot read the trusted certificate authorities: {0}")]
    TrustStore(String),
    #[error("cannot connect to the server: {0}")]
    Connect(String),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("{error}")]
    Api { status: u16, error: ApiError },
    #[error("unexpected response (HTTP {status}): {detail}")]
    UnexpectedResponse { status: u16, detail: String },
}

impl ClientError {
    /// The API's error code, when the server answered with one.
    pub fn code(&self) -> Option<gatehouse_types::ErrorCode> {
        match self {
            ClientError::Api { error, .. } => Some(error.code),
            _ => None,
        }
    }
}

pub(crate) fn from_reqwest(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        return ClientError::Timeout;
    }
    // The chain holds the useful part ("connection refused", "certificate …").
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    ClientError::Connect(message)
}
