//! Users, user types and registration flows on the wire (ID-1 … ID-3).
//! `gatehouse-identity` validates these; here they are plain data.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The most users one page of `GET /v1/users` holds.
pub const MAX_USER_PAGE: u32 = 500;

/// Where a user stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Signed up, not yet verified or approved: cannot sign in.
    Pending,
    Active,
    /// Locked by an administrator until unlocked (an automatic lockout is
    /// `locked_until` instead, and ends by itself).
    Locked,
    /// Soft-deleted: cannot sign in, kept for the audit trail.
    Disabled,
}

impl UserStatus {
    pub const ALL: [UserStatus; 4] = [
        UserStatus::Pending,
        UserStatus::Active,
        UserStatus::Locked,
        UserStatus::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The type of a declared attribute; each maps onto a Cedar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    String,
    Long,
    Boolean,
    StringSet,
}

/// One attribute a user type declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AttributeDeclaration {
    /// 1 to 64 of `[a-z][a-z0-9_]*`.
    pub name: String,
    pub kind: AttributeKind,
    #[serde(default)]
    pub is_required: bool,
    /// The longest string (or set member) in characters; 256 when absent, at
    /// most 1,024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub max_length: Option<u32>,
}

/// Whether users of a type must prove a second factor at sign-in (ID-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactor {
    Required,
    Optional,
}

/// A way to sign in (ID-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// Email address and password.
    Password,
    /// A code sent by email, no password.
    EmailCode,
    /// Phone number only: a code sent by SMS.
    PhoneCode,
    /// Password, then a code sent by SMS (two factors).
    PasswordAndPhoneCode,
    /// A bind to the configured directory (LDAP / Active Directory).
    Directory,
}

impl SignInMethod {
    /// Whether this method uses a password Gatehouse keeps.
    pub fn uses_password(self) -> bool {
        matches!(self, Self::Password | Self::PasswordAndPhoneCode)
    }
}

/// A user type (ID-3): what its users carry and how they sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserTypeDefinition {
    /// 1 to 32 of `[a-z][a-z0-9_]*`, e.g. `clinician`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub attributes: Vec<AttributeDeclaration>,
    pub sign_in: Vec<SignInMethod>,
    pub second_factor: SecondFactor,
    /// The console role users of this type act with (`administrator`,
    /// `auditor`, `service`); none: they have no console role, and policies
    /// decide by type and attributes alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub role: Option<String>,
}

/// What a new user must prove to register (ID-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// A code sent to the email address.
    Email,
    /// A code sent by SMS to the phone number.
    Phone,
    /// A password set (and checked against the rules).
    Password,
    /// A TOTP authenticator enrolled.
    Totp,
}

/// A user type's registration flow (ID-1, ID-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegistrationFlowDefinition {
    pub user_type: String,
    /// Whether anyone may sign up as this type at all.
    pub is_open: bool,
    pub proofs: Vec<Proof>,
    pub requires_approval: bool,
    /// Which of the type's attributes the new user supplies.
    #[serde(default)]
    pub attributes: Vec<String>,
}

/// `GET /v1/user-types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserTypeListResponse {
    pub items: Vec<UserTypeDefinition>,
}

/// `GET /v1/registration-flows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationFlowListResponse {
    pub items: Vec<RegistrationFlowDefinition>,
}

/// A user as an administrator sees them. Never a password, code or secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserResponse {
    pub id: String,
    pub user_type: String,
    pub status: UserStatus,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    pub is_email_verified: bool,
    #[serde(default)]
    pub phone: Option<String>,
    pub is_phone_verified: bool,
    /// Typed as the user type declares.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub entitlements: Vec<String>,
    /// `local`, or `directory` for users who sign in against the directory.
    pub source: String,
    /// An automatic lockout's end, while it lasts (ID-7).
    #[serde(default)]
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /v1/users`: an administrator creates a user directly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub user_type: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub phone: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// `active` when absent; `pending` to create one who must still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub status: Option<UserStatus>,
}

/// `PATCH /v1/users/{id}`: every field present is changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub display_name: Option<String>,
    /// The whole set of attributes, checked against the (new) type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "Record<string, unknown>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub entitlements: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub status: Option<UserStatus>,
    /// The `updated_at` the editor read: when the user changed since, the
    /// edit is refused with `409 conflict` and nothing is overwritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "string"))]
    pub expected_updated_at: Option<DateTime<Utc>>,
}

/// `GET /v1/users`: a page in creation order; `next_after` continues it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserPage {
    pub items: Vec<UserResponse>,
    #[serde(default)]
    pub next_after: Option<String>,
}

/// `POST /v1/auth/password`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordSignInRequest {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for PasswordSignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordSignInRequest")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`'s body.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { .. }")
    }
}

/// A successful sign-in or refresh: an access token (a JWT, short-lived) and
/// the next refresh token (single use: presenting a spent one ends the
/// session).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub session_id: String,
    pub user_id: String,
}

impl std::fmt::Debug for SignInResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInResponse")
            .field("session_id", &self.session_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// One session (ID-9), as its user and administrators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResponse {
    pub id: String,
    pub user_id: String,
    /// The factors the sign-in proved (`pwd`, `sms`, `otp`, …).
    pub amr: Vec<String>,
    pub source_ip: String,
    pub user_agent: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
    /// `logout`, `idle`, `absolute`, `refresh_reuse`, `locked`, `disabled`,
    /// `admin`, `replaced`, …
    #[serde(default)]
    pub end_reason: Option<String>,
}

/// `GET /v1/users/{id}/sessions`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionListResponse {
    pub items: Vec<SessionResponse>,
}

/// `POST /v1/users/{id}/password`: an administrator sets a user's password
/// (checked against the rules; the user's sessions end).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetPasswordRequest {
    pub password: String,
}

impl std::fmt::Debug for SetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetPasswordRequest { .. }")
    }
}

/// A message the development outbox kept (ID-11): what the embedded server
/// "sent", shown by the console's outbox page. Only an outbox configured for
/// development keeps any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxMessage {
    /// Increasing over the outbox's life.
    pub id: u64,
    pub at: DateTime<Utc>,
    pub to: String,
    /// `email` or `sms`.
    pub channel: String,
    /// `sign_in_code`, `sign_up_code`, `account_exists`, `factor_changed`, `notice`.
    pub kind: String,
    pub subject: String,
    pub body: String,
}

/// `GET /v1/outbox`: oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxResponse {
    pub items: Vec<OutboxMessage>,
}
