use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_types::{ApiError, ErrorCode, REQUEST_ID_HEADER};
use http::{header, HeaderName, HeaderValue, StatusCode};

use std::sync::Arc;

use gatehouse_listener::PeerAddr;

use super::record::{blocked_row, build_record, AuditSlot, RequestFacts};
use super::throttle::Verdict;
use super::RequestId;
use crate::app::AppState;
use crate::clock::to_micros;
use crate::error::{ApiFailure, OwnShape};

/// Routes whose callers authenticate in the body (OAuth client authentication
/// by `client_secret_post`): counted as anonymous only once that has failed.
const BODY_CREDENTIAL_PATHS: [&str; 3] = ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"];

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

/// The outermost stage. The request is handled on a task of its own, so that a
/// client that goes away (a reset HTTP/2 stream, a closed connection) cannot cut
/// it short between the handler's work and its record: dropping this future no
/// longer drops the request's handling, and its record is written all the same.
pub async fn finalize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match tokio::spawn(handle(state, request, next)).await {
        Ok(response) => response,
        Err(_) => ApiFailure::internal().into_response(),
    }
}

async fn handle(state: AppState, mut request: Request, next: Next) -> Response {
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
        .get::<PeerAddr>()
        .map(|PeerAddr(addr)| addr.ip().to_string())
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

    // Requests without a credential are counted before they are handled; ones
    // whose credential fails, once it has.
    let has_credential = request.headers().contains_key(header::AUTHORIZATION)
        || BODY_CREDENTIAL_PATHS.contains(&request.uri().path());
    let now_s = state.clock.now().timestamp();
    let mut throttled = if has_credential {
        Verdict::Allow
    } else {
        state.throttle.hit(&facts.source_ip, now_s)
    };
    let mut response = match (throttled, declared_length(&request)) {
        (Verdict::Refuse { retry_after_s, .. }, _) => too_many(retry_after_s),
        (_, Some(len)) if len > state.max_body_bytes as u64 => too_large(state.max_body_bytes),
        _ => next.run(request).await,
    };
    let is_anonymous = slot.note().principal.is_none();
    if has_credential && is_anonymous {
        throttled = state.throttle.hit(&facts.source_ip, now_s);
        if let Verdict::Refuse { retry_after_s, .. } = throttled {
            response = too_many(retry_after_s);
        }
    }
    let failure = error_of(&response);
    let outcome = match throttled {
        // Past the limit only the first refusal of a window is recorded, with
        // how many went unrecorded before it: a flood adds a bounded number of rows.
        Verdict::Refuse { record: None, .. } => Ok(()),
        Verdict::Refuse {
            record: Some(unrecorded),
            ..
        } => {
            slot.note()
                .details
                .get_or_insert_with(serde_json::Map::new)
                .insert(
                    "throttle".into(),
                    serde_json::json!({ "refused_unrecorded_before": unrecorded }),
                );
            record(&state, &facts, &slot, response.status(), failure.as_ref()).await
        }
        Verdict::Allow => record(&state, &facts, &slot, response.status(), failure.as_ref()).await,
    };
    if let Err(unavailable) = outcome {
        // Fail closed: a request whose record cannot be written does not get its answer.
        response = unavailable.into_response();
        if let Some(failure) = error_of(&response) {
            response = render(failure, response.status(), &request_id, response);
        }
    } else if let Some(failure) = failure {
        if response.extensions().get::<OwnShape>().is_none() {
            response = render(failure, response.status(), &request_id, response);
        }
    }
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        // A response that may be cached (the published keys) says so itself;
        // the hosted sign-in page brings its own (as strict) policy.
        let is_own = name == header::CACHE_CONTROL || name == header::CONTENT_SECURITY_POLICY;
        if is_own && headers.contains_key(&name) {
            continue;
        }
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

fn too_many(retry_after_s: u64) -> Response {
    let mut response = ApiFailure::new(
        ErrorCode::RateLimited,
        "too many requests without a valid credential from this source, retry later",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
    response
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
        StatusCode::TOO_MANY_REQUESTS => (ErrorCode::RateLimited, "too many requests"),
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
