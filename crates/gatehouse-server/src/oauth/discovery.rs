//! What the authorization server publishes (RFC 8414, RFC 7517): its metadata,
//! at both discovery addresses until sign-in completes OpenID Connect's, and
//! its public keys.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_types::AuthorizationServerMetadata;
use http::{header, HeaderValue};

use crate::app::AppState;
use crate::authz::Action;

/// Every scope a client may be registered with: each action's, and
/// introspection.
pub fn known_scopes() -> Vec<String> {
    let mut scopes: Vec<String> = Action::ALL.iter().map(|a| a.scope().to_owned()).collect();
    scopes.push(super::introspect::INTROSPECT_SCOPE.to_owned());
    scopes.sort();
    scopes.dedup();
    scopes
}

pub fn metadata(state: &AppState) -> AuthorizationServerMetadata {
    let issuer = state.tokens.issuer.clone();
    let at = |path: &str| format!("{issuer}{path}");
    let secret_methods = vec![
        "client_secret_basic".to_owned(),
        "client_secret_post".to_owned(),
    ];
    let algorithms = state
        .auth
        .keys
        .current()
        .keys
        .iter()
        .map(|k| k.algorithm.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    AuthorizationServerMetadata {
        token_endpoint: at("/oauth2/token"),
        jwks_uri: at("/.well-known/jwks.json"),
        revocation_endpoint: at("/oauth2/revoke"),
        introspection_endpoint: at("/oauth2/introspect"),
        grant_types_supported: vec!["client_credentials".into()],
        response_types_supported: vec![],
        token_endpoint_auth_methods_supported: secret_methods.clone(),
        revocation_endpoint_auth_methods_supported: secret_methods.clone(),
        introspection_endpoint_auth_methods_supported: secret_methods,
        scopes_supported: known_scopes(),
        id_token_signing_alg_values_supported: algorithms,
        subject_types_supported: vec!["public".into()],
        service_documentation: at("/v1/openapi.json"),
        issuer,
    }
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`.
pub async fn server_metadata(State(state): State<AppState>) -> Json<AuthorizationServerMetadata> {
    Json(metadata(&state))
}

/// `GET /.well-known/jwks.json`: next, current and still-verifying keys,
/// cacheable for five minutes (a rotation publishes the next key a whole
/// period before it signs).
pub async fn jwks(State(state): State<AppState>) -> Response {
    let body = state.auth.keys.current().jwks.to_string();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
