//! OAuth clients, signing keys, and the OAuth 2.0 endpoints. Stubs: only the
//! attributes are read. The OAuth endpoints authenticate clients themselves
//! (`client_secret_basic` or `client_secret_post`) and answer errors in RFC
//! 6749's shape.
#![allow(dead_code)]

use gatehouse_types::{
    ApiError, AuthorizationServerMetadata, ClientListResponse, ClientResponse,
    ClientSecretResponse, CreateClientRequest, IntrospectionResponse, KeyListResponse,
    OAuthErrorResponse, TokenResponse, UpdateClientRequest, UserInfoResponse,
};
use utoipa::ToSchema;

/// `POST /oauth2/token`'s form.
#[derive(ToSchema)]
pub struct TokenForm {
    /// `client_credentials`, `authorization_code` or `refresh_token`.
    grant_type: String,
    /// Space-separated; the client's registered scopes when absent.
    scope: Option<String>,
    /// With `client_secret_post` (else HTTP Basic); a public client's only proof.
    client_id: Option<String>,
    client_secret: Option<String>,
    /// `authorization_code`: the code, its request's redirect URI and the PKCE verifier.
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token to rotate.
    refresh_token: Option<String>,
}

/// `POST /oauth2/authorize`'s form: one step of the hosted sign-in page.
#[derive(ToSchema)]
pub struct AuthorizeStepForm {
    /// The request id the page carries.
    request: String,
    /// `password`, `otp_start`, `otp_verify`, `mfa`, `mfa_send`, `directory`,
    /// `consent`, `cancel`, or `choose_…` to show another way in.
    step: String,
    email: Option<String>,
    password: Option<String>,
    login: Option<String>,
    channel: Option<String>,
    address: Option<String>,
    challenge: Option<String>,
    method: Option<String>,
    code: Option<String>,
    /// `allow` or `deny`.
    decision: Option<String>,
}

/// Authorization endpoint
///
/// RFC 6749 §4.1.1 with PKCE (`S256` only) and OpenID Connect: checks the
/// request and answers the hosted sign-in page (HTML, strict CSP, a cookie
/// binding the request to the browser). An unknown client or an unregistered
/// redirect URI gets an error page; any other error is redirected to the
/// client with `error`, `state` and `iss`.
#[utoipa::path(get, path = "/oauth2/authorize", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("oauth2.authorize"))),
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query, description = "Registered exactly, or loopback on any port"),
        ("code_challenge" = String, Query, description = "BASE64URL(SHA-256(verifier))"),
        ("code_challenge_method" = String, Query, description = "`S256`"),
        ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("nonce" = Option<String>, Query),
        ("login_hint" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "The sign-in page", content_type = "text/html"),
        (status = 303, description = "Back to the client with an error"),
        (status = 400, description = "No safe redirect: an error page", content_type = "text/html"),
    ))]
pub fn authorize() {}

/// A step of the hosted sign-in page
///
/// The page's forms post here; each runs the same sign-in as `/v1/auth`. The
/// answer is the next page, or `303` to the client with a code (valid 60 s,
/// once) or `access_denied`.
#[utoipa::path(post, path = "/oauth2/authorize", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("oauth2.authorize_step"))),
    request_body(content = AuthorizeStepForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The next page", content_type = "text/html"),
        (status = 303, description = "Back to the client with a code or an error"),
        (status = 400, description = "The request expired, was finished, or began in another browser", content_type = "text/html"),
    ))]
pub fn authorize_step() {}

/// UserInfo endpoint
///
/// OpenID Connect Core §5.3: the person behind the access token, each claim
/// only if its scope was granted. A client's token needs `openid`.
#[utoipa::path(get, path = "/oauth2/userinfo", tag = "oauth", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.userinfo"))),
    responses(
        (status = 200, description = "The person's claims", body = UserInfoResponse),
        (status = 401, description = "No valid token", body = ApiError),
        (status = 403, description = "The token lacks `openid`", body = ApiError),
    ))]
pub fn userinfo() {}

/// `POST /oauth2/revoke` and `/oauth2/introspect`'s form.
#[derive(ToSchema)]
pub struct TokenQueryForm {
    token: String,
    /// `access_token` or `refresh_token`; a hint, never required.
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// List OAuth clients
///
/// Every client, oldest first, without secrets.
#[utoipa::path(get, path = "/v1/clients", tag = "clients", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("clients.list"))),
    responses((status = 200, description = "Every client", body = ClientListResponse)))]
pub fn list_clients() {}

/// Register an OAuth client
///
/// A confidential client's secret (256 bits) is in this answer and nowhere
/// else; it is stored hashed. Only administrators register a role other than
/// their own (`requested_role` in the context).
#[utoipa::path(post, path = "/v1/clients", tag = "clients", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("clients.create"))),
    request_body = CreateClientRequest,
    responses((status = 201, description = "The client and its secret", body = ClientSecretResponse)))]
pub fn create_client() {}

/// Read an OAuth client
#[utoipa::path(get, path = "/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("clients.read"))),
    params(("id" = uuid::Uuid, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The client", body = ClientResponse),
        (status = 404, description = "`not_found`: there is no such client", body = ApiError),
    ))]
pub fn read_client() {}

/// Change an OAuth client
///
/// Name, grants, scopes, redirect URIs, status; never the role. Changing the
/// scopes or grants, or disabling it, revokes every token it holds.
#[utoipa::path(patch, path = "/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("clients.update"))),
    params(("id" = uuid::Uuid, Path, description = "The client's id")),
    request_body = UpdateClientRequest,
    responses(
        (status = 200, description = "The client, changed", body = ClientResponse),
        (status = 404, description = "`not_found`: there is no such client", body = ApiError),
    ))]
pub fn update_client() {}

/// Disable an OAuth client
///
/// Kept for the record; refused at the token endpoint from now on, and every
/// token it holds is revoked on every replica within a second.
#[utoipa::path(delete, path = "/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("clients.disable"))),
    params(("id" = uuid::Uuid, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The client, disabled", body = ClientResponse),
        (status = 404, description = "`not_found`: there is no such client", body = ApiError),
    ))]
pub fn disable_client() {}

/// Rotate a client's secret
///
/// A new secret, shown once; the old one still works for
/// `tokens.secret_grace_seconds` (a day by default).
#[utoipa::path(post, path = "/v1/clients/{id}/secret", tag = "clients", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("clients.rotate_secret"))),
    params(("id" = uuid::Uuid, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The client and its new secret", body = ClientSecretResponse),
        (status = 404, description = "`not_found`: there is no such client", body = ApiError),
    ))]
pub fn rotate_client_secret() {}

/// List signing keys
///
/// Every key, retired ones too, oldest first: public halves and states only.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("keys.list"))),
    responses((status = 200, description = "Every key", body = KeyListResponse)))]
pub fn list_keys() {}

/// Rotate the signing keys now
///
/// The next key signs from now on; the current one verifies until its last
/// token expires, then retires.
#[utoipa::path(post, path = "/v1/keys/rotate", tag = "keys", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("keys.rotate"))),
    responses((status = 200, description = "Every key, after the rotation", body = KeyListResponse)))]
pub fn rotate_keys() {}

/// Token endpoint
///
/// The `client_credentials` grant (RFC 6749 §4.4), the client authenticated by
/// HTTP Basic or in the form. Errors are RFC 6749 §5.2's.
#[utoipa::path(post, path = "/oauth2/token", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("oauth2.token"))),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access token (a JWT, `at+jwt`)", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type` or `invalid_scope`", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`", body = OAuthErrorResponse),
    ))]
pub fn token() {}

/// Revocation endpoint
///
/// RFC 7009: a client revokes a token it was issued; 200 for unknown tokens.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("oauth2.revoke"))),
    request_body(content = TokenQueryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "`invalid_request`, or `unauthorized_client` for another client's token", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`", body = OAuthErrorResponse),
    ))]
pub fn revoke() {}

/// Introspection endpoint
///
/// RFC 7662, for clients registered with `tokens:introspect`; an inactive token
/// answers `{"active": false}` only.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("oauth2.introspect"))),
    request_body(content = TokenQueryForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Whether the token is active, and its claims if so", body = IntrospectionResponse),
        (status = 400, description = "`invalid_request`, or `unauthorized_client` without `tokens:introspect`", body = OAuthErrorResponse),
        (status = 401, description = "`invalid_client`", body = OAuthErrorResponse),
    ))]
pub fn introspect() {}

/// Authorization server metadata
///
/// RFC 8414.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("discovery.read"))),
    responses((status = 200, description = "The metadata", body = AuthorizationServerMetadata)))]
pub fn oauth_metadata() {}

/// OpenID Connect discovery
///
/// The same metadata until sign-in adds OpenID Connect's own endpoints.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("discovery.read"))),
    responses((status = 200, description = "The metadata", body = AuthorizationServerMetadata)))]
pub fn openid_configuration() {}

/// The published keys
///
/// RFC 7517: the next, current and still-verifying keys; cacheable for five minutes.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth",
    extensions(("x-gatehouse-action" = json!("discovery.jwks"))),
    responses((status = 200, description = "The JWK set", body = Object, content_type = "application/jwk-set+json")))]
pub fn jwks() {}
