//! Codes, second factors, the directory, sign-up and a person's own profile
//! (ID-1, ID-2, ID-4, ID-5, ID-8, ID-11). Stubs: only the attributes are read.
#![allow(dead_code)]

use gatehouse_types::{
    ApiError, ChallengeResponse, ChangePasswordRequest, DirectorySignInRequest, FactorsResponse,
    MfaRequest, OtpStartRequest, OtpVerifyRequest, OutboxResponse, RecoveryCodesResponse,
    RejectUserRequest, SessionListResponse, SignInStep, SignUpRequest, SignUpResponse,
    SignUpVerifyRequest, TotpConfirmRequest, TotpEnrolmentResponse, UserResponse,
};

/// Send a sign-in code
///
/// A code by email or SMS (exactly one of `email`, `phone`) and the challenge
/// to complete with it. The answer is the same, no sooner than 400 ms,
/// whether an account has the address or not; at most 5 codes per address
/// per 15 minutes.
#[utoipa::path(post, path = "/v1/auth/otp/start", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.otp_start"))),
    request_body = OtpStartRequest,
    responses(
        (status = 200, description = "A challenge", body = ChallengeResponse),
        (status = 429, description = "`rate_limited`", body = ApiError),
        (status = 503, description = "`delivery_failed`: retry", body = ApiError),
    ))]
pub fn otp_start() {}

/// Sign in with the code sent
#[utoipa::path(post, path = "/v1/auth/otp/verify", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.otp_verify"))),
    request_body = OtpVerifyRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor due", body = SignInStep),
        (status = 401, description = "`invalid_code` (tries left) or `challenge_expired`", body = ApiError),
    ))]
pub fn otp_verify() {}

/// Complete a second factor
///
/// TOTP, a recovery code, or the code sent by SMS; `sms` with no code sends
/// the code (again).
#[utoipa::path(post, path = "/v1/auth/mfa", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.mfa"))),
    request_body = MfaRequest,
    responses(
        (status = 200, description = "Signed in, or the challenge with the code sent", body = SignInStep),
        (status = 401, description = "`invalid_code` or `challenge_expired`", body = ApiError),
    ))]
pub fn mfa() {}

/// Sign in with the directory
///
/// A bind to the configured LDAP directory or Active Directory; the user is
/// created on their first sign-in.
#[utoipa::path(post, path = "/v1/auth/directory", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("auth.directory"))),
    request_body = DirectorySignInRequest,
    responses(
        (status = 200, description = "Signed in, or a second factor due", body = SignInStep),
        (status = 401, description = "`invalid_credentials`, `account_locked`, `password_expired` or `password_change_required`", body = ApiError),
        (status = 503, description = "`directory_unavailable`", body = ApiError),
    ))]
pub fn directory() {}

/// Sign up
///
/// The details the user type's registration flow asks for. The same answer
/// for an address that already has an account (its owner is told instead).
#[utoipa::path(post, path = "/v1/signup", tag = "sign-up",
    extensions(("x-gatehouse-action" = json!("signup.start"))),
    request_body = SignUpRequest,
    responses(
        (status = 202, description = "The first step", body = SignUpResponse),
        (status = 422, description = "`validation_failed`", body = ApiError),
    ))]
pub fn sign_up() {}

/// Prove a sign-up step
#[utoipa::path(post, path = "/v1/signup/{id}/verify", tag = "sign-up",
    extensions(("x-gatehouse-action" = json!("signup.verify"))),
    params(("id" = String, Path, description = "The registration id `POST /v1/signup` gave")),
    request_body = SignUpVerifyRequest,
    responses(
        (status = 200, description = "The next step", body = SignUpResponse),
        (status = 401, description = "`invalid_code` or `challenge_expired`", body = ApiError),
    ))]
pub fn sign_up_verify() {}

/// Approve a pending registration
#[utoipa::path(post, path = "/v1/users/{id}/approve", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.approve"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    responses((status = 200, description = "The user, active", body = UserResponse)))]
pub fn approve_user() {}

/// Reject a pending registration
#[utoipa::path(post, path = "/v1/users/{id}/reject", tag = "users", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("users.reject"))),
    params(("id" = uuid::Uuid, Path, description = "The user's id")),
    request_body = RejectUserRequest,
    responses((status = 200, description = "The user, disabled", body = UserResponse)))]
pub fn reject_user() {}

/// The signed-in person
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.read"))),
    responses((status = 200, description = "Their profile", body = UserResponse)))]
pub fn read_me() {}

/// Their open sessions
#[utoipa::path(get, path = "/v1/me/sessions", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.sessions.list"))),
    responses((status = 200, description = "Newest first", body = SessionListResponse)))]
pub fn list_my_sessions() {}

/// Sign out everywhere
#[utoipa::path(delete, path = "/v1/me/sessions", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.sessions.end"))),
    responses((status = 204, description = "Every session ended")))]
pub fn end_my_sessions() {}

/// Their factors
#[utoipa::path(get, path = "/v1/me/factors", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.factors.list"))),
    responses((status = 200, description = "Password, authenticator, recovery codes, contact points", body = FactorsResponse)))]
pub fn list_my_factors() {}

/// Enrol an authenticator (TOTP)
#[utoipa::path(post, path = "/v1/me/factors/totp", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.factors.enrol"))),
    responses(
        (status = 201, description = "The secret to scan, shown once", body = TotpEnrolmentResponse),
        (status = 409, description = "`conflict`: one is enrolled already", body = ApiError),
    ))]
pub fn enrol_totp() {}

/// Confirm the authenticator
#[utoipa::path(post, path = "/v1/me/factors/totp/confirm", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.factors.confirm"))),
    request_body = TotpConfirmRequest,
    responses(
        (status = 200, description = "The recovery codes, shown once", body = RecoveryCodesResponse),
        (status = 401, description = "`invalid_code`", body = ApiError),
    ))]
pub fn confirm_totp() {}

/// Remove the authenticator and its recovery codes
#[utoipa::path(delete, path = "/v1/me/factors/totp", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.factors.remove"))),
    responses((status = 204, description = "Removed")))]
pub fn remove_totp() {}

/// Change their password
///
/// Every session of the person ends.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("me.password.change"))),
    request_body = ChangePasswordRequest,
    responses((status = 204, description = "Changed; every session ended")))]
pub fn change_my_password() {}

/// The development outbox
///
/// What a server configured with `[messaging] outbox = true` kept instead of
/// sending, bodies included; `404` otherwise.
#[utoipa::path(get, path = "/v1/outbox", tag = "me", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("outbox.list"))),
    responses((status = 200, description = "What the development outbox kept, oldest first", body = OutboxResponse)))]
pub fn outbox() {}

/// An SMS delivery report
///
/// The SMS provider's signed delivery report (a Twilio-compatible form POST
/// with `X-Twilio-Signature`); recorded when the signature verifies against
/// the configured callback URL, refused otherwise.
#[utoipa::path(post, path = "/v1/messaging/sms-status", tag = "sign-in",
    extensions(("x-gatehouse-action" = json!("messaging.sms_status"))),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`MessageSid`, `MessageStatus`, `To`, optional `ErrorCode`"),
    responses(
        (status = 204, description = "Recorded"),
        (status = 403, description = "`forbidden`: the signature does not verify", body = ApiError),
        (status = 404, description = "`not_found`: no provider reports here", body = ApiError),
    ))]
pub fn sms_status() {}
