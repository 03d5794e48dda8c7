//! Signing in with codes and second factors, signing up, and a person's own
//! factors (ID-1, ID-2, ID-4, ID-5, ID-8): the bodies of `/v1/auth/otp/*`,
//! `/v1/auth/mfa`, `/v1/auth/directory`, `/v1/signup` and `/v1/me/factors`.
//! Codes, passwords and secrets never appear in `Debug`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::SignInResponse;

/// A way to complete a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChallengeMethod {
    /// A code sent by SMS.
    Sms,
    /// A code sent by email.
    Email,
    /// The code an authenticator app shows (RFC 6238).
    Totp,
    /// One of the recovery codes shown when TOTP was enrolled.
    RecoveryCode,
}

impl ChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

/// A sign-in that needs another step: complete it with `challenge_id` and a
/// code, by one of `methods`, before it expires.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChallengeResponse {
    /// Good for this sign-in only; single use.
    pub challenge_id: String,
    pub methods: Vec<ChallengeMethod>,
    /// Where a code was sent, masked (`s•••@example.com`, `+44•••••••89`).
    #[serde(default)]
    pub sent_to: Option<String>,
    pub expires_in: u64,
}

impl std::fmt::Debug for ChallengeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeResponse")
            .field("methods", &self.methods)
            .field("sent_to", &self.sent_to)
            .finish_non_exhaustive()
    }
}

/// What a sign-in step answers: signed in, or another step to take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignInStep {
    SignedIn(SignInResponse),
    ChallengeRequired(ChallengeResponse),
}

/// `POST /v1/auth/otp/start`: a code to the email address or the phone number
/// (exactly one). The answer is the same whether an account has it or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OtpStartRequest {
    #[serde(default)]
    pub email: Option<String>,
    /// E.164: `+` and up to 15 digits.
    #[serde(default)]
    pub phone: Option<String>,
}

/// `POST /v1/auth/otp/verify` and `POST /v1/signup/{id}/verify`'s code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OtpVerifyRequest {
    pub challenge_id: String,
    pub code: String,
}

impl std::fmt::Debug for OtpVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpVerifyRequest { .. }")
    }
}

/// `POST /v1/auth/mfa`: completes a second-factor challenge with `code`; with
/// `method: "sms"` and no code, sends (or sends again) the SMS code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    pub challenge_id: String,
    pub method: ChallengeMethod,
    #[serde(default)]
    pub code: Option<String>,
}

impl std::fmt::Debug for MfaRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRequest")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/auth/directory`: a bind to the configured directory.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DirectorySignInRequest {
    /// The directory's login name (`uid`, `sAMAccountName`).
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for DirectorySignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectorySignInRequest")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/signup`: the details a registration flow asks for. The answer is
/// the same whether the address already has an account or not (its owner is
/// told instead).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    pub user_type: String,
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// When the flow asks for a password (NIST SP 800-63B rules).
    #[serde(default)]
    pub password: Option<String>,
    /// The attributes the flow asks for, typed as the user type declares.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub attributes: Map<String, Value>,
}

impl std::fmt::Debug for SignUpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpRequest")
            .field("user_type", &self.user_type)
            .finish_non_exhaustive()
    }
}

/// Where a sign-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignUpStep {
    /// A code went to the email address.
    VerifyEmail,
    /// A code went to the phone by SMS.
    VerifyPhone,
    /// Scan `totp_uri` into an authenticator app and send its code.
    ConfirmTotp,
    /// Every proof is made; an administrator approves the account.
    AwaitApproval,
    /// The account is active: sign in.
    Done,
}

/// `POST /v1/signup` and `/v1/signup/{id}/verify`'s answer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignUpResponse {
    pub registration_id: String,
    pub next_step: SignUpStep,
    /// Where the code for `next_step` went, masked.
    #[serde(default)]
    pub sent_to: Option<String>,
    /// For `confirm_totp` only: the `otpauth://` URI to scan (shown once).
    #[serde(default)]
    pub totp_uri: Option<String>,
    /// Seconds left to finish.
    pub expires_in: u64,
}

impl std::fmt::Debug for SignUpResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUpResponse")
            .field("next_step", &self.next_step)
            .field("sent_to", &self.sent_to)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/signup/{id}/verify`: the code for the current step.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignUpVerifyRequest {
    pub code: String,
}

impl std::fmt::Debug for SignUpVerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignUpVerifyRequest { .. }")
    }
}

/// `POST /v1/users/{id}/reject`: why (kept in the audit trail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RejectUserRequest {
    pub reason: String,
}

/// A person's factors, as they see them (`GET /v1/me/factors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactorsResponse {
    pub has_password: bool,
    /// A confirmed TOTP authenticator.
    pub has_totp: bool,
    /// Recovery codes not yet used.
    pub recovery_codes_left: u32,
    #[serde(default)]
    pub email: Option<String>,
    pub is_email_verified: bool,
    #[serde(default)]
    pub phone: Option<String>,
    pub is_phone_verified: bool,
}

/// `POST /v1/me/factors/totp`: the secret to scan, shown once; confirm it
/// with a code before it counts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolmentResponse {
    /// `otpauth://totp/…`: render it as a QR code.
    pub otpauth_uri: String,
    /// The same secret in base32, for typing in.
    pub secret: String,
}

impl std::fmt::Debug for TotpEnrolmentResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolmentResponse { .. }")
    }
}

/// `POST /v1/me/factors/totp/confirm`'s code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    pub code: String,
}

impl std::fmt::Debug for TotpConfirmRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpConfirmRequest { .. }")
    }
}

/// The recovery codes, shown once when TOTP is confirmed: each works once in
/// place of a TOTP code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

impl std::fmt::Debug for RecoveryCodesResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCodesResponse { .. }")
    }
}

/// `POST /v1/me/password`: the current password and the new one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest { .. }")
    }
}
