use serde::{Deserialize, Serialize};

/// The one error shape, on every HTTP response and every IPC error alike.
///
/// Clients branch on `code`, never on `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiError {
    pub code: ErrorCode,
    /// Lowercase, no final period, never anything internal.
    pub message: String,
    pub request_id: String,
}

/// Every error code the API can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No credential was presented to a private route.
    Unauthenticated,
    /// A credential was presented but is not valid (malformed, unknown, expired or
    /// revoked: deliberately indistinguishable).
    InvalidToken,
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
    /// A request field is well-formed but not acceptable (too long, out of range).
    ValidationFailed,
    Conflict,
    BadRequest,
    Internal,
    /// A dependency (the database) is not available right now.
    Unavailable,
    /// Any other client error, named by its HTTP status only.
    RequestRejected,
}

impl ErrorCode {
    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidToken => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::InvalidBody | Self::ValidationFailed => 422,
            Self::MalformedJson | Self::InvalidParameter | Self::BadRequest => 400,
            Self::RequestRejected => 400,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }

    /// The code's wire name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken => "invalid_token",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::MalformedJson => "malformed_json",
            Self::InvalidBody => "invalid_body",
            Self::InvalidParameter => "invalid_parameter",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ValidationFailed => "validation_failed",
            Self::Conflict => "conflict",
            Self::BadRequest => "bad_request",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::RequestRejected => "request_rejected",
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
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::MalformedJson,
            ErrorCode::InvalidBody,
            ErrorCode::InvalidParameter,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::PayloadTooLarge,
            ErrorCode::ValidationFailed,
            ErrorCode::Conflict,
            ErrorCode::BadRequest,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
            ErrorCode::RequestRejected,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
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
