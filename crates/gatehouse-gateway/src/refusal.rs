//! How the gateway says no: a refusal (what the caller is told, what is
//! recorded) and the one error shape as a response.

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use gatehouse_types::{ApiError, ErrorCode};

use crate::host::BlockReason;
use crate::pipeline::GatewayBody;

/// A refusal: what the caller is told and what is recorded.
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) reason: BlockReason,
    pub(crate) retry_after: Option<u64>,
}

pub(crate) fn refuse(code: ErrorCode, reason: BlockReason, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        status: StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
        message: message.into(),
        reason,
        retry_after: None,
    }
}

pub(crate) fn full(bytes: Bytes) -> GatewayBody {
    Full::new(bytes)
        .map_err(|e: Infallible| match e {})
        .boxed_unsync()
}

pub(crate) fn error_response(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
    request_id: &str,
) -> Response<GatewayBody> {
    let body = serde_json::to_vec(&ApiError {
        code,
        message: message.to_owned(),
        request_id: request_id.to_owned(),
    })
    .unwrap_or_default();
    let mut response = Response::new(full(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
