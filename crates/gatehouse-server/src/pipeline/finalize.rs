use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_types::{ApiError, ErrorCode, REQUEST_ID_HEADER};
use http::{header, HeaderName, HeaderValue, StatusCode};

use std::sync::Arc;

use axum::extract::ConnectInfo;

use super::record::{blocked_row, build_record, AuditSlot, RequestFacts};
use super::RequestId;
use crate::app::AppState;
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::listener::PeerAddr;

const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=63072000; includeSubDomains",
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

pub async fn finalize(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    // UUIDv7: time-ordered, so the request-id index grows at its end instead of
    // taking random inserts (and ids sort by arrival).
    let request_id = uuid::Uuid::now_v7().to_string();
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let method = request.method().clone();
    let source_ip = request
        .extensions()
        .get::<ConnectInfo<PeerAddr>>()
        .map(|ConnectInfo(PeerAddr(addr))| addr.ip().to_string())
        .unwrap_or_default();
    let facts = Arc::new(RequestFacts::new(
        request_id.clone(),
        source_ip,
        request.headers(),
        request.method(),
        request.uri(),
    ));
    let slot = AuditSlot::default();
    request.extensions_mut().insert(facts.clone());
    request.extensions_mut().insert(slot.clone());

    let mut response = match declared_length(&request) {
        Some(len) if len > state.max_body_bytes as u64 => too_large(state.max_body_bytes),
        _ => next.run(request).await,
    };
    let failure = error_of(&response);
    if let Err(unavailable) =
        record(&state, &facts, &slot, response.status(), failure.as_ref()).await
    {
        // Fail closed: a request whose record cannot be written does not get its answer.
        response = unavailable.into_response();
        if let Some(failure) = error_of(&response) {
            response = render(failure, response.status(), &request_id, response);
        }
    } else if let Some(failure) = failure {
        response = render(failure, response.status(), &request_id, response);
    }
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    tracing::info!(
        request_id = %request_id,
        %method,
        // The path only (query strings may carry secrets), credentials redacted.
        path = %facts.path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// The request's audit record (unless its handler committed it with its change)
/// and, for a refused request, its blocked-request entry.
async fn record(
    state: &AppState,
    facts: &RequestFacts,
    slot: &AuditSlot,
    status: StatusCode,
    failure: Option<&ApiFailure>,
) -> Result<(), ApiFailure> {
    let now = to_micros(state.clock.now());
    let status = status.as_u16();
    let (record, blocked) = {
        let note = slot.note();
        if note.is_recorded {
            return Ok(());
        }
        let code = failure.map(|f| f.code);
        let record = build_record(facts, &note, now, status, code);
        let blocked = code
            .and_then(|c| c.block_reason(note.action.is_some()))
            .map(|reason| blocked_row(facts, &note, now, status, reason));
        (record, blocked)
    };
    state
        .audit
        .append(vec![record], blocked.into_iter().collect())
        .await
        .map(|_| ())
        .map_err(|_| {
            ApiFailure::new(
                gatehouse_types::ErrorCode::Unavailable,
                "the audit trail cannot be written, retry later",
            )
        })
}

fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn too_large(limit: usize) -> Response {
    ApiFailure::new(
        ErrorCode::PayloadTooLarge,
        format!("request body is larger than the limit of {limit} bytes"),
    )
    .into_response()
}

/// The failure a response carries: one set by our code, or, for an error response
/// produced by the framework itself (a panic caught, a body limit hit while
/// reading), one derived from its status.
fn error_of(response: &Response) -> Option<ApiFailure> {
    if let Some(failure) = response.extensions().get::<ApiFailure>() {
        return Some(failure.clone());
    }
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return None;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "unsupported content type")
        }
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthenticated, "authentication required"),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "not permitted"),
        s if s.is_server_error() => (ErrorCode::Internal, "internal error"),
        _ => (ErrorCode::RequestRejected, "request rejected"),
    };
    Some(ApiFailure::new(code, message))
}

fn render(
    failure: ApiFailure,
    status: StatusCode,
    request_id: &str,
    original: Response,
) -> Response {
    let body = ApiError {
        code: failure.code,
        message: failure.message.into_owned(),
        request_id: request_id.to_owned(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let (mut parts, _) = original.into_parts();
    parts.status = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(json))
}
