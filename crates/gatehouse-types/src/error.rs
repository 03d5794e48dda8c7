use serde::{Deserialize, Serialize};

/// The one error shape, on every HTTP response and every IPC error alike.
///
/// Clients branch on `code`, never on `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub code: ErrorCode,
    /// Lowercase, no final period, never anything internal.
    pub message: String,
    pub request_id: String,
}

/// Every error code the API can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No credential was presented to a private route.
    Unauthenticated,
    /// A credential was presented but is not valid (malformed, unknown, expired or
    /// revoked: deliberately indistinguishable).
    InvalidToken,
    /// A sign-in failed: an unknown account, a wrong password, a locked or
    /// throttled account all answer this, the same way (ID-7).
    InvalidCredentials,
    /// Authenticated, but the policy does not permit this action.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    /// The body is not syntactically valid JSON.
    MalformedJson,
    /// The body is JSON but does not have the expected fields or types.
    InvalidBody,
    /// A path or query parameter is not valid.
    InvalidParameter,
    UnsupportedMediaType,
    PayloadTooLarge,
    /// The request body arrived too slowly (under the listener's minimum rate).
    RequestTimeout,
    /// A request field is well-formed but not acceptable (too long, out of range).
    ValidationFailed,
    Conflict,
    /// A policy text that does not parse or does not validate against the schema.
    InvalidPolicy,
    /// A policy change that would leave nobody able to change policies again.
    PolicyLockout,
    BadRequest,
    Internal,
    /// A dependency (the database) is not available right now.
    Unavailable,
    /// Too many requests of this kind at once, or too soon: retry after the
    /// `Retry-After` header's seconds.
    RateLimited,
    /// Any other client error, named by its HTTP status only.
    RequestRejected,
    /// The request head (line and headers) is over the gateway's limit.
    HeadersTooLarge,
    /// The service behind a gateway route cannot be reached.
    BadGateway,
    /// The service behind a gateway route did not answer in time.
    GatewayTimeout,
    /// A one-time code that is not the one sent (or a TOTP code that is not
    /// the authenticator's): try again, within the code's tries.
    InvalidCode,
    /// The sign-in challenge or sign-up is unknown, expired, used, or out of
    /// tries: start again.
    ChallengeExpired,
    /// The directory (LDAP, Active Directory) did not answer in time, or
    /// could not be reached: retry later.
    DirectoryUnavailable,
    /// The directory says the account is locked.
    AccountLocked,
    /// The directory says the password (or the account) has expired.
    PasswordExpired,
    /// The directory says the password must be changed before signing in.
    PasswordChangeRequired,
    /// A message (a code by SMS or email) could not be sent: retry later.
    DeliveryFailed,

    // Console-side codes: never sent by the server, raised by the console's Rust
    // side and carried to the window in the same shape.
    /// The server could not be reached (refused, DNS, TLS failure other than the pin).
    ServerUnreachable,
    /// The server's certificate is not the one pinned on first use.
    CertificateChanged,
    InvalidServerUrl,
    /// Something answered, but not like a Gatehouse server.
    BadServerResponse,
    Timeout,
    /// The command needs a connection and there is none.
    NotConnected,
    /// The token vault or the console's files could not be read or written.
    StorageFailed,
    /// A command argument is not acceptable.
    InvalidInput,
    /// The certificate a server presented is not the one the person confirmed or
    /// pasted; nothing was sent to it.
    FingerprintMismatch,
    /// Verifying with the system's certificate authorities, the server's
    /// certificate was refused (unknown issuer, wrong host name, expired).
    CertificateUntrusted,
    /// A person's sign-in in the console ended (its refresh token expired or
    /// was refused): sign in again; the view is kept.
    SessionExpired,
    /// A sign-in in the system browser was not finished in time, or was
    /// cancelled, or came back with an error.
    SignInAbandoned,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthenticated
            | Self::InvalidToken
            | Self::InvalidCredentials
            | Self::InvalidCode
            | Self::ChallengeExpired
            | Self::AccountLocked
            | Self::PasswordExpired
            | Self::PasswordChangeRequired => 401,
            Self::DirectoryUnavailable | Self::DeliveryFailed => 503,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict | Self::PolicyLockout => 409,
            Self::RequestTimeout => 408,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::InvalidBody | Self::ValidationFailed | Self::InvalidPolicy => 422,
            Self::MalformedJson | Self::InvalidParameter | Self::BadRequest => 400,
            Self::RequestRejected => 400,
            Self::HeadersTooLarge => 431,
            Self::BadGateway => 502,
            Self::GatewayTimeout => 504,
            Self::RateLimited => 429,
            Self::Internal | Self::StorageFailed => 500,
            Self::Unavailable => 503,
            Self::ServerUnreachable | Self::BadServerResponse => 502,
            Self::CertificateChanged | Self::FingerprintMismatch | Self::CertificateUntrusted => {
                495
            }
            Self::InvalidServerUrl | Self::InvalidInput => 400,
            Self::Timeout => 504,
            Self::NotConnected | Self::SessionExpired | Self::SignInAbandoned => 401,
        }
    }

    /// The code's wire name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::InvalidParameter => "invalid_parameter",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::ValidationFailed => "validation_failed",
            Self::Conflict => "conflict",
            Self::InvalidPolicy => "invalid_policy",
            Self::PolicyLockout => "policy_lockout",
            Self::BadRequest => "bad_request",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::RateLimited => "rate_limited",
            Self::RequestRejected => "request_rejected",
            Self::HeadersTooLarge => "headers_too_large",
            Self::BadGateway => "bad_gateway",
            Self::GatewayTimeout => "gateway_timeout",
            Self::InvalidCode => "invalid_code",
            Self::ChallengeExpired => "challenge_expired",
            Self::DirectoryUnavailable => "directory_unavailable",
            Self::AccountLocked => "account_locked",
            Self::PasswordExpired => "password_expired",
            Self::PasswordChangeRequired => "password_change_required",
            Self::DeliveryFailed => "delivery_failed",
            Self::ServerUnreachable => "server_unreachable",
            Self::CertificateChanged => "certificate_changed",
            Self::InvalidServerUrl => "invalid_server_url",
            Self::BadServerResponse => "bad_server_response",
            Self::Timeout => "timeout",
            Self::NotConnected => "not_connected",
            Self::StorageFailed => "storage_failed",
            Self::InvalidInput => "invalid_input",
            Self::FingerprintMismatch => "fingerprint_mismatch",
            Self::CertificateUntrusted => "certificate_untrusted",
            Self::SessionExpired => "session_expired",
            Self::SignInAbandoned => "sign_in_abandoned",
        }
    }
}

impl ErrorCode {
    /// Every code, in declaration order (a test holds it to the enum's variants).
    pub const ALL: [ErrorCode; 43] = [
        Self::Unauthenticated,
        Self::InvalidToken,
        Self::InvalidCredentials,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::MalformedJson,
        Self::InvalidBody,
        Self::InvalidParameter,
        Self::UnsupportedMediaType,
        Self::PayloadTooLarge,
        Self::RequestTimeout,
        Self::ValidationFailed,
        Self::Conflict,
        Self::InvalidPolicy,
        Self::PolicyLockout,
        Self::BadRequest,
        Self::Internal,
        Self::Unavailable,
        Self::RateLimited,
        Self::RequestRejected,
        Self::HeadersTooLarge,
        Self::BadGateway,
        Self::GatewayTimeout,
        Self::InvalidCode,
        Self::ChallengeExpired,
        Self::DirectoryUnavailable,
        Self::AccountLocked,
        Self::PasswordExpired,
        Self::PasswordChangeRequired,
        Self::DeliveryFailed,
        Self::ServerUnreachable,
        Self::CertificateChanged,
        Self::InvalidServerUrl,
        Self::BadServerResponse,
        Self::Timeout,
        Self::NotConnected,
        Self::StorageFailed,
        Self::InvalidInput,
        Self::FingerprintMismatch,
        Self::CertificateUntrusted,
        Self::SessionExpired,
        Self::SignInAbandoned,
    ];

    /// Whether the server can answer with it; the others are the console's own.
    pub fn is_sent_by_server(self) -> bool {
        !matches!(
            self,
            Self::ServerUnreachable
                | Self::CertificateChanged
                | Self::InvalidServerUrl
                | Self::BadServerResponse
                | Self::Timeout
                | Self::NotConnected
                | Self::StorageFailed
                | Self::InvalidInput
                | Self::FingerprintMismatch
                | Self::CertificateUntrusted
                | Self::SessionExpired
                | Self::SignInAbandoned
        )
    }
}

/// Why the pipeline and the gateway block requests, in the order charts
/// stack and list them (the last four are the gateway's alone).
pub const BLOCK_REASONS: [&str; 9] = [
    "authentication",
    "authorization",
    "rate_limit",
    "bad_input",
    "unknown_route",
    "waf",
    "bot",
    "honeypot",
    "timeout",
];

impl ErrorCode {
    /// The blocked-request reason of a request refused with this code, if the
    /// refusal is a block. Refusals by a handler's own rules (not found, conflict,
    /// a value out of range) are outcomes, not blocks; a not-found is a block only
    /// for a route the server does not know.
    pub fn block_reason(self, is_route_known: bool) -> Option<&'static str> {
        match self {
            Self::Unauthenticated | Self::InvalidToken | Self::InvalidCredentials => {
                Some("authentication")
            }
            Self::Forbidden => Some("authorization"),
            Self::RateLimited => Some("rate_limit"),
            Self::NotFound if !is_route_known => Some("unknown_route"),
            Self::MethodNotAllowed
            | Self::MalformedJson
            | Self::InvalidBody
            | Self::InvalidParameter
            | Self::UnsupportedMediaType
            | Self::PayloadTooLarge
            | Self::RequestTimeout
            | Self::BadRequest
            | Self::RequestRejected
            | Self::HeadersTooLarge => Some("bad_input"),
            _ => None,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, request {})",
            self.message, self.code, self.request_id
        )
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_to_their_wire_names() {
        for code in [
            ErrorCode::Unauthenticated,
            ErrorCode::InvalidToken,
            ErrorCode::InvalidCredentials,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::MalformedJson,
            ErrorCode::InvalidBody,
            ErrorCode::InvalidParameter,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::PayloadTooLarge,
            ErrorCode::RequestTimeout,
            ErrorCode::ValidationFailed,
            ErrorCode::Conflict,
            ErrorCode::InvalidPolicy,
            ErrorCode::PolicyLockout,
            ErrorCode::BadRequest,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
            ErrorCode::RateLimited,
            ErrorCode::RequestRejected,
            ErrorCode::ServerUnreachable,
            ErrorCode::CertificateChanged,
            ErrorCode::InvalidServerUrl,
            ErrorCode::BadServerResponse,
            ErrorCode::Timeout,
            ErrorCode::NotConnected,
            ErrorCode::StorageFailed,
            ErrorCode::InvalidInput,
            ErrorCode::FingerprintMismatch,
            ErrorCode::CertificateUntrusted,
            ErrorCode::SessionExpired,
            ErrorCode::SignInAbandoned,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    /// `ALL` is every variant: serde's own list of them (its error for an unknown
    /// one) names exactly the codes of `ALL`, in order.
    #[test]
    fn all_is_every_code() {
        let e = serde_json::from_str::<ErrorCode>("\"no_such_code\"").unwrap_err();
        let message = e.to_string();
        let expected = message.split("expected one of").nth(1).unwrap();
        let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, all);
        assert!(ErrorCode::Forbidden.is_sent_by_server());
        assert!(!ErrorCode::CertificateChanged.is_sent_by_server());
    }

    /// The API document's error shape: every code, and the three fields.
    #[cfg(feature = "openapi")]
    #[test]
    fn the_schemas_list_every_code_and_field() {
        use utoipa::PartialSchema;
        let codes = serde_json::to_value(ErrorCode::schema()).unwrap();
        let values: Vec<&str> = codes["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(values, all);
        let error = serde_json::to_value(ApiError::schema()).unwrap();
        assert_eq!(
            error["required"],
            serde_json::json!(["code", "message", "request_id"])
        );
        assert_eq!(error["additionalProperties"], false, "{error}");
    }

    #[test]
    fn block_reasons() {
        use ErrorCode::*;
        assert_eq!(InvalidToken.block_reason(true), Some("authentication"));
        assert_eq!(Unauthenticated.block_reason(true), Some("authentication"));
        assert_eq!(Forbidden.block_reason(true), Some("authorization"));
        assert_eq!(RateLimited.block_reason(true), Some("rate_limit"));
        assert_eq!(NotFound.block_reason(false), Some("unknown_route"));
        assert_eq!(NotFound.block_reason(true), None);
        assert_eq!(Conflict.block_reason(true), None);
        assert_eq!(ValidationFailed.block_reason(true), None);
        assert_eq!(MalformedJson.block_reason(true), Some("bad_input"));
        assert_eq!(InvalidBody.block_reason(true), Some("bad_input"));
        assert_eq!(RequestTimeout.block_reason(true), Some("bad_input"));
        assert_eq!(RequestTimeout.status(), 408);
        for code in [InvalidToken, Forbidden, NotFound, PayloadTooLarge] {
            let reason = code.block_reason(false).unwrap();
            assert!(BLOCK_REASONS.contains(&reason), "{reason}");
        }
    }

    #[test]
    fn error_body_has_exactly_three_fields() {
        let e = ApiError {
            code: ErrorCode::Forbidden,
            message: "not permitted".into(),
            request_id: "r1".into(),
        };
        let v: serde_json::Value = serde_json::to_value(&e).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 3);
        assert_eq!(v["code"], "forbidden");
    }
}
