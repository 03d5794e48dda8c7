//! What the authorization server publishes (RFC 8414, OpenID Connect
//! Discovery 1.0, RFC 7517): its metadata, the same at both discovery
//! addresses, with every endpoint, scope and claim; and its public keys.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_tokens::authorization::OIDC_SCOPES;
use gatehouse_tokens::id_token::{ACR_ONE_FACTOR, ACR_TWO_FACTORS};
use gatehouse_types::AuthorizationServerMetadata;
use http::{header, HeaderValue};

use crate::app::AppState;
use crate::authz::Action;

/// Every scope a client may be registered with: each action's,
/// introspection, and OpenID Connect's.
pub fn known_scopes() -> Vec<String> {
    let mut scopes: Vec<String> = Action::ALL.iter().map(|a| a.scope().to_owned()).collect();
    scopes.push(super::introspect::INTROSPECT_SCOPE.to_owned());
    scopes.extend(OIDC_SCOPES.iter().map(|s| (*s).to_owned()));
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
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let mut client_methods = secret_methods.clone();
    // Public clients (native apps with PKCE) name themselves by client_id.
    client_methods.push("none".to_owned());
    AuthorizationServerMetadata {
        authorization_endpoint: at("/oauth2/authorize"),
        token_endpoint: at("/oauth2/token"),
        userinfo_endpoint: at("/oauth2/userinfo"),
        jwks_uri: at("/.well-known/jwks.json"),
        revocation_endpoint: at("/oauth2/revoke"),
        introspection_endpoint: at("/oauth2/introspect"),
        grant_types_supported: strings(&[
            "authorization_code",
            "refresh_token",
            "client_credentials",
        ]),
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        code_challenge_methods_supported: strings(&["S256"]),
        token_endpoint_auth_methods_supported: client_methods.clone(),
        revocation_endpoint_auth_methods_supported: client_methods,
        introspection_endpoint_auth_methods_supported: secret_methods,
        scopes_supported: known_scopes(),
        claims_supported: strings(&[
            "iss",
            "sub",
            "aud",
            "azp",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "acr",
            "sid",
            "name",
            "user_type",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
        ]),
        acr_values_supported: strings(&[ACR_ONE_FACTOR, ACR_TWO_FACTORS]),
        id_token_signing_alg_values_supported: algorithms,
        subject_types_supported: vec!["public".into()],
        authorization_response_iss_parameter_supported: true,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
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
