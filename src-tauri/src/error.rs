//! Every command fails with the one error shape, `ApiError`: the server's own
//! errors pass through (with its request id); errors that arise here get a
//! console-side code and a `console-…` id to find them in the console's log.
//! No message carries a secret: whatever looks like one is blanked
//! (`secrets::redact`) before the message is logged or sent to the window.

use gatehouse_client::ClientError;
use gatehouse_types::{ApiError, ErrorCode};

use crate::secrets::redact;

pub fn local(code: ErrorCode, message: impl Into<String>) -> ApiError {
    let request_id = format!("console-{}", uuid::Uuid::new_v4());
    let message = redact(&message.into());
    tracing::info!(%request_id, %code, %message, "command failed");
    ApiError {
        code,
        message,
        request_id,
    }
}

pub fn from_client(e: ClientError) -> ApiError {
    match e {
        ClientError::Api { error, .. } => ApiError {
            message: redact(&error.message),
            ..error
        },
        ClientError::CertificateMismatch { expected, actual } => local(
            ErrorCode::CertificateChanged,
            format!(
                "the server's certificate has changed (forget this server only if you know why): \
                 pinned SHA-256 {expected} but presented SHA-256 {actual}"
            ),
        ),
        ClientError::CertificateUntrusted(why) => local(
            ErrorCode::CertificateUntrusted,
            format!("the server's certificate is not trusted, so nothing was sent: {why}"),
        ),
        ClientError::TrustStore(why) => local(
            ErrorCode::CertificateUntrusted,
            format!("cannot read this system's trusted certificate authorities: {why}"),
        ),
        ClientError::InvalidUrl(m) => local(
            ErrorCode::InvalidServerUrl,
            format!("invalid server URL: {m}"),
        ),
        ClientError::InvalidFingerprint => {
            local(ErrorCode::InvalidInput, "invalid certificate fingerprint")
        }
        ClientError::Connect(m) => local(
            ErrorCode::ServerUnreachable,
            format!("cannot reach the server: {m}"),
        ),
        ClientError::Timeout => local(ErrorCode::Timeout, "the server did not answer in time"),
        ClientError::UnexpectedResponse { status, detail } => local(
            ErrorCode::BadServerResponse,
            format!(
                "the address answered, but not like a Gatehouse server (HTTP {status}): {detail}"
            ),
        ),
    }
}
