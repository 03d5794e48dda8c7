use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ApiTokenId, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DatabaseBackend {
    Sqlite,
    Postgres,
}

/// Who the caller is, as the server sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityResponse {
    pub kind: CallerKind,
    /// The API token's id, for a caller with an API token.
    #[serde(default)]
    pub token_id: Option<ApiTokenId>,
    /// The OAuth client's id, for a caller with an access token.
    #[serde(default)]
    pub client_id: Option<String>,
    pub name: String,
    pub role: Role,
    /// A person's id and user type, for a person signed in.
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
}

/// What credential the caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    ApiToken,
    /// An OAuth client with an access token (a JWT).
    Client,
    /// A person, signed in (directly or through an app).
    User,
}

/// `GET /v1/server`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfoResponse {
    pub version: String,
    pub database: DatabaseBackend,
    pub started_at: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub uptime_seconds: u64,
    pub identity: IdentityResponse,
}
