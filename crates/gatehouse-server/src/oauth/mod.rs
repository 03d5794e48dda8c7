//! The OAuth 2.0 and OpenID Connect endpoints (TK-5, TK-6, ID-10): the
//! authorization endpoint with its hosted sign-in page, the token endpoint,
//! revocation (RFC 7009), introspection (RFC 7662), userinfo, and the
//! published metadata (RFC 8414, OpenID Connect Discovery, JWKS). Clients
//! authenticate by their credentials (public ones by `client_id` where the
//! RFCs allow), errors are answered in RFC 6749 §5.2's shape, which every
//! OAuth client parses, and the pipeline records them like any request.

pub mod authorize;
mod code_grant;
pub mod discovery;
pub mod introspect;
mod page;
pub mod revoke;
pub mod token;
pub mod userinfo;

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_store::ClientRow;
use gatehouse_tokens::oauth::{
    client_credentials, client_secret_accepted, url_decode_pairs, OAuthError, OAuthErrorCode,
    Params,
};
use gatehouse_types::{ErrorCode, Role};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;

use crate::app::AppState;
use crate::error::{ApiFailure, OwnShape};
use crate::pipeline::{AuditSlot, ClientGrant, Principal, PrincipalKind};

/// Largest OAuth request body: a few parameters.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// An OAuth endpoint's refusal, with what the record says about it.
pub struct Refusal {
    pub error: OAuthError,
    /// Why, for the record only (`unknown_client`, `wrong_secret`, …).
    pub reason: Option<&'static str>,
    /// `WWW-Authenticate: Basic` on a 401 to a client that tried Basic.
    pub is_basic_challenge: bool,
}

impl Refusal {
    pub fn new(code: OAuthErrorCode, description: &str) -> Refusal {
        Refusal {
            error: OAuthError::new(code, description),
            reason: None,
            is_basic_challenge: false,
        }
    }

    pub(crate) fn because(mut self, reason: &'static str) -> Refusal {
        self.reason = Some(reason);
        self
    }
}

impl From<OAuthError> for Refusal {
    fn from(error: OAuthError) -> Self {
        Refusal {
            error,
            reason: None,
            is_basic_challenge: false,
        }
    }
}

/// Renders a refusal in RFC 6749 §5.2's shape, noting it for the record.
pub fn refuse(slot: Option<&AuditSlot>, refusal: Refusal) -> Response {
    let code = refusal.error.error;
    let status = StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST);
    if let Some(slot) = slot {
        let mut note = slot.note();
        let details = note.details.get_or_insert_with(serde_json::Map::new);
        details.insert("rfc6749_error".into(), json!(code.as_str()));
        if let Some(reason) = refusal.reason {
            details.insert("rejected_because".into(), json!(reason));
        }
    }
    let mut response = (status, Json(&refusal.error)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if refusal.is_basic_challenge {
            "Basic realm=\"gatehouse\""
        } else {
            "Bearer realm=\"gatehouse\""
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response.extensions_mut().insert(ApiFailure::new(
        gatehouse_code(code),
        refusal.error.to_string(),
    ));
    response.extensions_mut().insert(OwnShape);
    response
}

/// The Gatehouse code a refusal is recorded (and counted in the blocked log) as.
fn gatehouse_code(code: OAuthErrorCode) -> ErrorCode {
    match code {
        OAuthErrorCode::InvalidClient => ErrorCode::InvalidToken,
        OAuthErrorCode::UnauthorizedClient | OAuthErrorCode::InvalidScope => ErrorCode::Forbidden,
        OAuthErrorCode::ServerError => ErrorCode::Internal,
        OAuthErrorCode::TemporarilyUnavailable => ErrorCode::Unavailable,
        OAuthErrorCode::AccessDenied | OAuthErrorCode::LoginRequired => ErrorCode::Forbidden,
        OAuthErrorCode::InvalidRequest
        | OAuthErrorCode::UnsupportedResponseType
        | OAuthErrorCode::RequestNotSupported
        | OAuthErrorCode::RequestUriNotSupported
        | OAuthErrorCode::InvalidGrant
        | OAuthErrorCode::UnsupportedGrantType
        | OAuthErrorCode::UnsupportedTokenType => ErrorCode::InvalidParameter,
    }
}

/// The request's form parameters (RFC 6749 §3.2: `application/x-www-form-urlencoded`,
/// each at most once).
pub fn form(headers: &HeaderMap, body: &Bytes) -> Result<Params, Refusal> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(Refusal::new(
            OAuthErrorCode::InvalidRequest,
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(Refusal::new(
            OAuthErrorCode::InvalidRequest,
            "the body is too large",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| Refusal::new(OAuthErrorCode::InvalidRequest, "the body is not UTF-8"))?;
    let pairs = url_decode_pairs(text).ok_or_else(|| {
        Refusal::new(
            OAuthErrorCode::InvalidRequest,
            "the body is not a valid form",
        )
    })?;
    Ok(Params::new(pairs)?)
}

/// The client the request authenticates as (RFC 6749 §2.3.1), active and
/// confidential, its secret current or within its grace period. Every failure
/// is the same `invalid_client`; the record says which.
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    slot: Option<&AuditSlot>,
) -> Result<ClientRow, Refusal> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let tried_basic = authorization.is_some();
    let failed = |reason: &'static str| Refusal {
        error: OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        ),
        reason: Some(reason),
        is_basic_challenge: tried_basic,
    };
    let credentials = client_credentials(authorization, params)
        .map_err(|e| Refusal::from(e).because("client_authentication_malformed"))?
        .ok_or_else(|| failed("no_client_authentication"))?;
    if credentials.client_id.len() > 64 {
        return Err(failed("unknown_client"));
    }
    let cache = &state.auth.state;
    let row = match cache.cached_client(&credentials.client_id) {
        Some(row) => Some(row),
        None => {
            let row = state
                .store
                .clients()
                .find(&credentials.client_id)
                .await
                .map_err(|_| {
                    Refusal::new(OAuthErrorCode::TemporarilyUnavailable, "try again later")
                })?;
            if let Some(row) = &row {
                cache.remember_client(row.clone());
            }
            row
        }
    };
    let now = state.clock.now();
    let Some(row) = row else {
        // Hash all the same, so an unknown id takes as long as a wrong secret.
        let _ = client_secret_accepted(&credentials.secret, &[0; 32], None, 0);
        return Err(failed("unknown_client"));
    };
    let Some(current) = row.secret_hash.as_deref() else {
        return Err(failed("public_client"));
    };
    let previous = row
        .previous_secret_hash
        .as_deref()
        .zip(row.previous_secret_until_us.map(|us| us / 1_000_000));
    if !client_secret_accepted(&credentials.secret, current, previous, now.timestamp()) {
        return Err(failed("wrong_secret"));
    }
    if row.status != "active" {
        return Err(failed("client_disabled"));
    }
    if let Some(slot) = slot {
        let mut note = slot.note();
        note.principal = Some(client_principal(&row, None));
        note.details
            .get_or_insert_with(serde_json::Map::new)
            .insert("client_proof".into(), json!(credentials.method.as_str()));
    }
    Ok(row)
}

/// The audit actor for a client that authenticated at an OAuth endpoint (with
/// the token it was just issued, at the token endpoint).
pub fn client_principal(
    row: &ClientRow,
    issued: Option<(&str, i64, i64, Vec<String>)>,
) -> Principal {
    let (jti, iat, exp, scopes) = issued.map_or_else(
        || {
            (
                String::new(),
                0,
                0,
                row.scopes.split(' ').map(str::to_owned).collect(),
            )
        },
        |(jti, iat, exp, scopes)| (jti.to_owned(), iat, exp, scopes),
    );
    Principal {
        name: row.name.clone(),
        role: row.role.parse().unwrap_or(Role::User),
        kind: PrincipalKind::Client(Box::new(ClientGrant {
            client_id: row.id.clone(),
            jti,
            scopes,
            issued_at: iat,
            expires_at: exp,
        })),
    }
}

/// A successful OAuth answer: JSON, never cached (RFC 6749 §5.1).
pub fn answer<T: serde::Serialize>(body: &T) -> Response {
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
