//! Extractors whose every rejection is an [`ApiFailure`] in the one error shape.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use gatehouse_types::ErrorCode;
use http::request::Parts;
use http::{header, StatusCode};
use serde::de::DeserializeOwned;

use gatehouse_types::ApiTokenId;

use super::target::Item;
use super::Principal;
use crate::error::ApiFailure;

/// The authenticated caller, placed by the pipeline's guard.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Absent only if a route were wired without the guard: fail closed.
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(ApiFailure::unauthenticated)
    }
}

/// A JSON body: `application/json` only, syntax and shape errors told apart, and
/// the offending field named.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiFailure;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiFailure::new(
                ErrorCode::UnsupportedMediaType,
                "content type must be application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_failure)?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(json_failure)?;
        de.end().map_err(|e| {
            ApiFailure::new(
                ErrorCode::MalformedJson,
                format!("request body is not valid JSON: {e}"),
            )
        })?;
        Ok(ApiJson(value))
    }
}

fn is_json(content_type: Option<&http::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    let charset_ok = parts.all(|p| {
        let p = p.trim().to_ascii_lowercase();
        p.is_empty() || p == "charset=utf-8" || p == "charset=\"utf-8\""
    });
    essence.eq_ignore_ascii_case("application/json") && charset_ok
}

fn body_failure(e: BytesRejection) -> ApiFailure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiFailure::new(
            ErrorCode::PayloadTooLarge,
            "request body is larger than the limit",
        )
    } else if gatehouse_listener::is_body_too_slow(&e) {
        // The listener cut a body that fell under its minimum rate (OP-4).
        ApiFailure::new(ErrorCode::RequestTimeout, "request body arrived too slowly")
    } else {
        ApiFailure::new(ErrorCode::BadRequest, "request body could not be read")
    }
}

fn json_failure(e: serde_path_to_error::Error<serde_json::Error>) -> ApiFailure {
    let path = e.path().to_string();
    let inner = e.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let message = if path == "." {
                format!("request body has the wrong shape: {inner}")
            } else {
                format!("field `{path}`: {inner}")
            };
            ApiFailure::new(ErrorCode::InvalidBody, message)
        }
        _ => ApiFailure::new(
            ErrorCode::MalformedJson,
            format!("request body is not valid JSON: {inner}"),
        ),
    }
}

/// Query parameters into a struct that denies unknown fields: an unknown or
/// malformed parameter is `invalid_parameter`, naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                // An unknown parameter is named by the error itself; a malformed
                // value only by the path (`limit=-1` says "invalid digit").
                let path = e.path().to_string();
                let inner = e.into_inner();
                let message = if path == "." {
                    format!("query: {inner}")
                } else {
                    format!("query parameter `{path}`: {inner}")
                };
                ApiFailure::new(ErrorCode::InvalidParameter, message)
            })
    }
}

/// The API token a route's path names, as the guard parsed and authorized it.
pub struct PathToken(pub ApiTokenId);

/// The policy version a route's path names, as the guard parsed and authorized it.
pub struct PathVersion(pub u64);

fn item_of(parts: &Parts) -> Result<Item, ApiFailure> {
    // Absent only if a route were wired without the guard: fail closed.
    parts
        .extensions
        .get::<Item>()
        .copied()
        .ok_or_else(ApiFailure::internal)
}

impl<S: Send + Sync> FromRequestParts<S> for PathToken {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::ApiToken(id) => Ok(PathToken(ApiTokenId(id))),
            _ => Err(ApiFailure::internal()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathVersion {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::PolicyVersion(n) => Ok(PathVersion(n)),
            _ => Err(ApiFailure::internal()),
        }
    }
}

/// The OAuth client a route's path names, as the guard parsed and authorized it.
pub struct PathClient(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathClient {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::Client(id) => Ok(PathClient(id.to_string())),
            _ => Err(ApiFailure::internal()),
        }
    }
}

/// The user a route's path names, as the guard parsed and authorized it.
pub struct PathUser(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathUser {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::User(id) => Ok(PathUser(id.to_string())),
            _ => Err(ApiFailure::internal()),
        }
    }
}

/// The session a route's path names, as the guard parsed and authorized it.
pub struct PathSession(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathSession {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::Session(id) => Ok(PathSession(id.to_string())),
            _ => Err(ApiFailure::internal()),
        }
    }
}

/// The user type a route's path names, as the guard parsed and authorized it.
pub struct PathUserType(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathUserType {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::UserType(name) => Ok(PathUserType(name.as_str().to_owned())),
            _ => Err(ApiFailure::internal()),
        }
    }
}

/// The request id a route's path names, as the guard parsed and authorized it.
pub struct PathRequest(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathRequest {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match item_of(parts)? {
            Item::Request(key) => Ok(PathRequest(key.as_str().to_owned())),
            _ => Err(ApiFailure::internal()),
        }
    }
}

/// Path parameters; a malformed one is `invalid_parameter`, not a framework error.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|_| ApiFailure::new(ErrorCode::InvalidParameter, "invalid path parameter"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let ok = [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
        ];
        for v in ok {
            assert!(is_json(Some(&http::HeaderValue::from_static(v))), "{v}");
        }
        let bad = [
            "text/plain",
            "application/jsonx",
            "application/json; charset=latin1",
            "",
        ];
        for v in bad {
            assert!(!is_json(Some(&http::HeaderValue::from_static(v))), "{v}");
        }
        assert!(!is_json(None));
    }

    #[tokio::test]
    async fn query_errors_name_the_parameter() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Q {
            limit: Option<u32>,
            q: Option<String>,
        }
        let parse = |uri: &'static str| async move {
            let (mut parts, _) = http::Request::builder()
                .uri(uri)
                .body(())
                .unwrap()
                .into_parts();
            ApiQuery::<Q>::from_request_parts(&mut parts, &()).await
        };
        assert_eq!(
            parse("/x?limit=5&q=a%20b").await.unwrap().0.q.as_deref(),
            Some("a b")
        );
        for (uri, name) in [
            ("/x?limit=-1", "`limit`"),
            ("/x?q=1&limit=x", "`limit`"),
            ("/x?nope=1", "`nope`"),
        ] {
            let e = parse(uri).await.err().unwrap();
            assert_eq!(e.code, ErrorCode::InvalidParameter);
            assert!(e.message.contains(name), "{uri}: {}", e.message);
        }
    }
}
