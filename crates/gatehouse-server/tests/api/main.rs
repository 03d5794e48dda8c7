//! The HTTP API through a real server over real TLS, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attributes;
mod audit;
mod auth;
mod challenges;
mod directory;
mod errors;
mod gateway;
mod messages;
mod oauth;
mod openapi;
mod policies;
mod reset;
mod sign_in;
mod slow;
mod throttle;
mod tls;
mod tokens;
mod users;

use gatehouse_types::{ApiError, ErrorCode, REQUEST_ID_HEADER};

/// Asserts a response is an error in the one shape with `code` and `status`, that
/// its request id matches the header, and that it carries the security headers.
pub async fn assert_error(response: reqwest::Response, status: u16, code: ErrorCode) -> ApiError {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_security_headers(response.headers());
    let header_id = response
        .headers()
        .get(REQUEST_ID_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    let text = response.text().await.unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value.as_object().unwrap().len(),
        3,
        "exactly code, message, request_id: {text}"
    );
    let error: ApiError = serde_json::from_value(value).unwrap();
    assert_eq!(error.code, code, "{text}");
    assert_eq!(error.request_id, header_id);
    assert!(!error.message.is_empty());
    assert!(
        error.message.starts_with(|c: char| c.is_ascii_lowercase()),
        "lowercase message: {}",
        error.message
    );
    assert!(
        !error.message.ends_with('.'),
        "no final period: {}",
        error.message
    );
    for leak in [
        "sqlx",
        "panicked",
        "src/",
        ".rs:",
        "backtrace",
        "postgres://",
        "SELECT",
    ] {
        assert!(!text.contains(leak), "error leaks {leak}: {text}");
    }
    error
}

pub fn assert_security_headers(headers: &reqwest::header::HeaderMap) {
    let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert!(get("strict-transport-security")
        .unwrap()
        .starts_with("max-age="));
    assert!(get("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert_eq!(get("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"));
    assert!(get(REQUEST_ID_HEADER).is_some_and(|id| uuid::Uuid::parse_str(&id).is_ok()));
}
