//! Users, user types and registration flows (ID-1 … ID-3). Stubs: only the
//! attributes are read.
#![allow(dead_code)]

use gatehouse_types::{
    ApiError, CreateUserRequest, PasswordSignInRequest, RefreshRequest, RegistrationFlowDefinition,
    RegistrationFlowListResponse, SessionListResponse, SessionResponse, SetPasswordRequest,
    SignInResponse, UpdateUserRequest, UserPage, UserResponse, UserTypeDefinition,
    UserTypeListResponse,
};

/// List users
///
/// A page in creation order (ids are UUIDv7); every filter given must hold.
/// `next_after` continues a full page.
#[utoipa::path(get, path = "/v1/users", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.list"))),
    params(
        ("user_type" = Option<String>, Query, description = "Users of this type"),
        ("status" = Option<String>, Query, description = "`pending`, `active`, `locked` or `disabled`"),
        ("attribute" = Option<String>, Query, description = "`name:value`: the attribute is (or, a set, holds) the value"),
        ("entitlement" = Option<String>, Query, description = "Users holding this entitlement"),
        ("q" = Option<String>, Query, description = "A prefix of the email, phone number or display name (case-insensitive)"),
        ("after" = Option<String>, Query, description = "The previous page's `next_after`"),
        ("limit" = Option<u32>, Query, description = "1 to 500, 100 by default"),
    ),
    responses((status = 200, description = "A page of users", body = UserPage)))]
pub fn list_users() {}

/// Create a user
///
/// An administrator vouches for the contact points given (they count as
/// verified). Attributes are checked against the user type's declarations.
#[utoipa::path(post, path = "/v1/users", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.create"))),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "The user", body = UserResponse),
        (status = 409, description = "`conflict`: another user has this email address or phone number", body = ApiError),
    ))]
pub fn create_user() {}

/// Read a user
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.read"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 404, description = "`not_found`: there is no such user", body = ApiError),
    ))]
pub fn read_user() {}

/// Change a user
///
/// Type, display name, attributes (the whole set, checked against the type),
/// entitlements, status. Setting `active` also ends an automatic lockout.
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.update"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user, changed", body = UserResponse),
        (status = 404, description = "`not_found`: there is no such user", body = ApiError),
    ))]
pub fn update_user() {}

/// Disable a user
///
/// A soft delete: the user can no longer sign in; the record and its history
/// stay.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.disable"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, disabled", body = UserResponse),
        (status = 404, description = "`not_found`: there is no such user", body = ApiError),
    ))]
pub fn disable_user() {}

/// Lock a user
///
/// Until unlocked: the user cannot sign in. A disabled user cannot be locked.
#[utoipa::path(post, path = "/v1/users/{id}/lock", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.lock"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, locked", body = UserResponse),
        (status = 404, description = "`not_found`: there is no such user", body = ApiError),
    ))]
pub fn lock_user() {}

/// Unlock a user
///
/// Ends an administrator's lock and an automatic lockout early.
#[utoipa::path(delete, path = "/v1/users/{id}/lock", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.unlock"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user, unlocked", body = UserResponse),
        (status = 404, description = "`not_found`: there is no such user", body = ApiError),
    ))]
pub fn unlock_user() {}

/// List user types
#[utoipa::path(get, path = "/v1/user-types", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("user_types.list"))),
    responses((status = 200, description = "Every user type, by name", body = UserTypeListResponse)))]
pub fn list_user_types() {}

/// Create or replace a user type
///
/// Its declared attributes (typed; they become the Cedar `User`'s), sign-in
/// methods, second factor and console role.
#[utoipa::path(put, path = "/v1/user-types/{name}", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("user_types.put"))),
    params(("name" = String, Path, description = "The type's name")),
    request_body = UserTypeDefinition,
    responses((status = 200, description = "The type as stored", body = UserTypeDefinition)))]
pub fn put_user_type() {}

/// List registration flows
#[utoipa::path(get, path = "/v1/registration-flows", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("registration_flows.list"))),
    responses((status = 200, description = "Every flow, by user type", body = RegistrationFlowListResponse)))]
pub fn list_registration_flows() {}

/// Create or replace a registration flow
///
/// What a new user of the type must prove, whether an administrator approves,
/// which attributes they supply. A flow nobody could complete is refused.
#[utoipa::path(put, path = "/v1/registration-flows/{user_type}", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("registration_flows.put"))),
    params(("user_type" = String, Path, description = "The user type")),
    request_body = RegistrationFlowDefinition,
    responses((status = 200, description = "The flow as stored", body = RegistrationFlowDefinition)))]
pub fn put_registration_flow() {}

/// Set a user's password
///
/// Checked against the rules (NIST SP 800-63B: 15 characters when it is the
/// user's only factor, 8 with a second; common and blocklisted ones refused),
/// hashed with Argon2id. Every session of the user ends.
#[utoipa::path(post, path = "/v1/users/{id}/password", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.set_password"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = SetPasswordRequest,
    responses(
        (status = 204, description = "Set; the user's sessions ended"),
        (status = 404, description = "`not_found`: there is no such user", body = ApiError),
    ))]
pub fn set_user_password() {}

/// List a user's sessions
#[utoipa::path(get, path = "/v1/users/{id}/sessions", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.sessions.list"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "Newest first, ended ones too", body = SessionListResponse)))]
pub fn list_user_sessions() {}

/// A user's factors
///
/// Whether they have a password and a confirmed authenticator, how many
/// recovery codes are left, and their contact points; never a secret.
#[utoipa::path(get, path = "/v1/users/{id}/factors", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.factors.list"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "The user's factors", body = gatehouse_types::FactorsResponse)))]
pub fn list_user_factors() {}

/// Export users to CSV
///
/// Every user the filters match (as `GET /v1/users`), in creation order,
/// streamed; cells a spreadsheet would run as formulas are neutralised.
#[utoipa::path(get, path = "/v1/users/export", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.export"))),
    params(
        ("user_type" = Option<String>, Query),
        ("status" = Option<String>, Query, description = "`pending`, `active`, `locked` or `disabled`"),
        ("attribute" = Option<String>, Query, description = "`name:value`"),
        ("entitlement" = Option<String>, Query),
        ("q" = Option<String>, Query, description = "A prefix of the email, phone number or display name"),
        ("after" = Option<String>, Query, description = "Ignored: an export starts at the first user"),
        ("limit" = Option<u32>, Query, description = "Ignored: an export has every matching user"),
    ),
    responses((status = 200, description = "CSV with a header row", content_type = "text/csv")))]
pub fn export_users() {}

/// Export a user's sessions to CSV
#[utoipa::path(get, path = "/v1/users/{id}/sessions/export", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.sessions.export"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "CSV with a header row, newest first", content_type = "text/csv")))]
pub fn export_user_sessions() {}

/// End every session of a user
///
/// Their access tokens are refused on every replica within a second.
#[utoipa::path(delete, path = "/v1/users/{id}/sessions", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.sessions.end"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "The sessions, ended", body = SessionListResponse)))]
pub fn end_user_sessions() {}

/// Sign in with an email address and a password
///
/// An access token and a refresh token. Every refusal (an unknown address, a
/// wrong password, a locked, pending or disabled account, a throttled source)
/// is the same `401 invalid_credentials`.
#[utoipa::path(post, path = "/v1/auth/password", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.password"))),
    request_body = PasswordSignInRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor due", body = gatehouse_types::SignInStep),
        (status = 401, description = "`invalid_credentials`", body = ApiError),
    ))]
pub fn sign_in_with_password() {}

/// Refresh
///
/// The next access token and refresh token; the refresh token presented is
/// spent. A spent one presented again ends its session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.refresh"))),
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next pair", body = SignInResponse),
        (status = 401, description = "`invalid_token`", body = ApiError),
    ))]
pub fn refresh() {}

/// Sign out
///
/// Ends the session of the access token presented as the bearer (checked by
/// the route itself: any person's own session may end).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.logout"))),
    responses(
        (status = 204, description = "The session ended"),
        (status = 401, description = "`invalid_token`", body = ApiError),
    ))]
pub fn logout() {}

/// End one session
///
/// Its access tokens are refused on every replica within a second; its refresh
/// token no longer refreshes.
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("sessions.end"))),
    params(("id" = uuid::Uuid, Path, description = "The session's id")),
    responses(
        (status = 200, description = "The session, ended", body = SessionResponse),
        (status = 404, description = "`not_found`: there is no such session", body = ApiError),
    ))]
pub fn end_session() {}
