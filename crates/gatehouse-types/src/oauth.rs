//! Machine identities and the token machinery (ID-10, TK-1 … TK-5): OAuth
//! clients, signing keys, and the OAuth endpoints' answers (whose shapes the
//! RFCs fix: RFC 6749 §5.1, RFC 7662 §2.2, RFC 8414 §2).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;

/// The grant types a client may be allowed (no implicit, no password: RFC 9700).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    Active,
    /// Refused at the token endpoint; every token it held was revoked.
    Disabled,
}

/// Longest client name, in characters.
pub const MAX_CLIENT_NAME_LEN: usize = 128;
/// Most redirect URIs, and scopes, one client may have.
pub const MAX_CLIENT_LIST_LEN: usize = 32;

/// `POST /v1/clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// 1 to 128 printable characters.
    pub name: String,
    /// The role its tokens act in (only administrators register another
    /// role than their own).
    pub role: Role,
    /// Confidential clients get a secret; public ones (native apps) never do.
    #[serde(default = "yes")]
    pub is_confidential: bool,
    pub grant_types: Vec<GrantType>,
    /// Scopes its tokens may carry (`audit:read`, …; `GET /v1/clients/scopes`).
    pub scopes: Vec<String>,
    /// Exact https URIs, or loopback `http://127.0.0.1/…` (any port) for
    /// native apps; required for the authorization code grant.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

fn yes() -> bool {
    true
}

/// `PATCH /v1/clients/{id}`: what is given changes; the role never does
/// (register a new client instead).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub grant_types: Option<Vec<GrantType>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub redirect_uris: Option<Vec<String>>,
    /// `disabled` also revokes every token the client holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub status: Option<ClientStatus>,
}

/// A client as listed: never its secret, which is stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientResponse {
    pub client_id: String,
    pub name: String,
    pub role: Role,
    pub is_confidential: bool,
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub status: ClientStatus,
    /// The secret a rotation replaced still works until then.
    #[serde(default)]
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// Tokens issued before this are refused (set when all were revoked).
    #[serde(default)]
    pub tokens_valid_after: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Registering a confidential client, or rotating its secret: the only time
/// the secret is ever shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientSecretResponse {
    pub client: ClientResponse,
    /// `None` for a public client.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// `GET /v1/clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientListResponse {
    pub items: Vec<ClientResponse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SigningKeyState {
    /// Published, signs nothing yet.
    Next,
    /// Signs new tokens.
    Current,
    /// Signs nothing; verifies until `verifies_until`.
    Previous,
    /// Verifies nothing; its private half is wiped.
    Retired,
}

/// A signing key: its public half and its life, never its private half.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyResponse {
    pub kid: String,
    pub algorithm: String,
    pub state: SigningKeyState,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub activated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub verifies_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub retired_at: Option<DateTime<Utc>>,
    /// The JWK as `/.well-known/jwks.json` publishes it.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, string>"))]
    pub public_jwk: serde_json::Value,
}

/// `GET /v1/keys`, `POST /v1/keys/rotate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyListResponse {
    pub items: Vec<KeyResponse>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    /// The authorization code and refresh grants, for a client that may
    /// refresh (TK-4: it rotates on every use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// OpenID Connect requests (`openid` in the scope): who signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// OpenID Connect's userinfo (Core §5.3): the person behind the access token,
/// each claim only when its scope was granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfoResponse {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The person's Gatehouse user type (`profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
}

/// An introspection answer (RFC 7662 §2.2). An inactive token answers
/// `{"active": false}` and nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// What the authorization server publishes about itself (RFC 8414 §2), also
/// served as OpenID Connect discovery until the identity routes complete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    /// The algorithms of the published keys: access tokens (RFC 9068) and,
    /// with sign-in, ID tokens are signed with them.
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    /// `S256` only (RFC 7636; `plain` is refused).
    pub code_challenge_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub acr_values_supported: Vec<String>,
    /// RFC 9207: the authorization response carries `iss`.
    pub authorization_response_iss_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub claims_parameter_supported: bool,
    pub service_documentation: String,
}

/// An OAuth endpoint's error (RFC 6749 §5.2): OAuth clients parse this shape,
/// so these endpoints answer it instead of `ApiError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorResponse {
    /// `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`,
    /// `unsupported_token_type`, `server_error` or `temporarily_unavailable`.
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}
