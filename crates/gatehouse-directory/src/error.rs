//! The one error of this crate. `code()` is what clients branch on; `reason` fields are
//! for the audit trail and the logs, and never hold a password.

/// Why a directory sign-in did not produce a user.
///
/// An unknown login and a wrong password are the same `InvalidCredentials`, by design.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// Wrong password, unknown login, or a login or password that could never be valid.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The directory says the account is locked out (AD `data 775`, ppolicy `accountLocked`).
    #[error("the directory account is locked")]
    AccountLocked,
    /// The password (or, with AD `data 701`, the account) has expired.
    #[error("the directory password has expired: {reason}")]
    PasswordExpired { reason: String },
    /// The password was reset and must be changed at the directory before signing in.
    #[error("the directory password must be changed")]
    MustChangePassword,
    /// The directory account is disabled (AD `data 533`).
    #[error("the directory account is disabled")]
    AccountDisabled,
    /// The credentials are right but this user may not sign in here: no group maps to a
    /// user type (and no default), or AD's logon hours or workstations forbid it.
    #[error("not permitted: {reason}")]
    NotPermitted { reason: String },
    /// The directory could not be reached, its certificate was not trusted, or it did
    /// not answer within the configured time.
    #[error("the directory is unavailable: {reason}")]
    Unavailable { reason: String },
    /// The configuration is wrong: a bad key, the service account's bind refused, the
    /// search base missing.
    #[error("the directory is misconfigured: {reason}")]
    Misconfigured { reason: String },
}

impl DirectoryError {
    /// The stable snake_case code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountLocked => "account_locked",
            Self::PasswordExpired { .. } => "password_expired",
            Self::MustChangePassword => "must_change_password",
            Self::AccountDisabled => "account_disabled",
            Self::NotPermitted { .. } => "not_permitted",
            Self::Unavailable { .. } => "directory_unavailable",
            Self::Misconfigured { .. } => "directory_misconfigured",
        }
    }

    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
        }
    }

    pub(crate) fn misconfigured(reason: impl Into<String>) -> Self {
        Self::Misconfigured {
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_snake_case() {
        let all = [
            DirectoryError::InvalidCredentials,
            DirectoryError::AccountLocked,
            DirectoryError::PasswordExpired {
                reason: String::new(),
            },
            DirectoryError::MustChangePassword,
            DirectoryError::AccountDisabled,
            DirectoryError::NotPermitted {
                reason: String::new(),
            },
            DirectoryError::Unavailable {
                reason: String::new(),
            },
            DirectoryError::Misconfigured {
                reason: String::new(),
            },
        ];
        let mut codes: Vec<&str> = all.iter().map(DirectoryError::code).collect();
        assert!(codes
            .iter()
            .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(all[6].code(), "directory_unavailable");
    }
}
