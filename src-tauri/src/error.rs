//! Every command fails with the one error shape, `ApiError`: the server's own
//! errors pass through unchanged (with its request id); errors that arise here get
//! a console-side code and a `console-…` id to find them in the console's log.

use gatehouse_client::ClientError;
use gatehouse_types::{ApiError, ErrorCode};

pub fn local(code: ErrorCode, message: impl Into<String>) -> ApiError {
    let request_id = format!("console-{}", uuid::Uuid::new_v4());
    let message = message.into();
    tracing::info!(%request_id, %code, %message, "command failed");
    ApiError {
        code,
        message,
        request_id,
    }
}

pub fn from_client(e: ClientError) -> ApiError {
    match e {
        ClientError::Api { error, .. } => error,
        ClientError::CertificateMismatch { expected, actual } => local(
            ErrorCode::CertificateChanged,
            format!(
                "the server's certificate has changed: pinned SHA-256 {expected}, presented {actual}; \
                 forget this server only if you know why it changed"
            ),
        ),
        ClientError::InvalidUrl(m) => local(ErrorCode::InvalidServerUrl, format!("invalid server URL: {m}")),
        ClientError::InvalidFingerprint => local(ErrorCode::InvalidInput, "invalid certificate fingerprint"),
        ClientError::Connect(m) => local(
            ErrorCode::ServerUnreachable,
            format!("cannot reach the server: {m}"),
        ),
        ClientError::Timeout => local(ErrorCode::Timeout, "the server did not answer in time"),
        ClientError::UnexpectedResponse { status, detail } => local(
            ErrorCode::BadServerResponse,
            format!("the address answered, but not like a Gatehouse server (HTTP {status}): {detail}"),
        ),
    }
}
