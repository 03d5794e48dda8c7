//! Gatehouse identity: who a person is and how they prove it (ID-1 … ID-9).
//!
//! Users and their types (typed attributes, entitlements, status, contact
//! points), registration flows per type, passwords (Argon2id, NIST SP 800-63B
//! rules), one-time codes, TOTP with recovery codes, lockout and throttling
//! arithmetic, sessions and refresh-token families. Pure domain logic: the clock
//! and the randomness are parameters, storage is `gatehouse-store`'s, HTTP is the
//! server's.
//!
//! It must never: do HTTP or database work; read the clock or the OS's randomness
//! itself (both passed in); keep a password, a code or a secret in clear beyond
//! the call that needs it, or let one into `Debug`, an error or a log; answer in a
//! way that says whether an account exists.

pub mod code;
pub mod contact;
pub mod flow;
mod hashing;
pub mod lockout;
pub mod password;
pub mod session;
pub mod totp;
pub mod user_type;

/// Everything that can go wrong in this crate. Messages are lowercase, with no
/// final period, and never repeat a secret.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input that breaks a rule: `field` names it, `message` says why.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A password the rules refuse (ID-6).
    #[error("{0}")]
    Password(#[from] password::PasswordRejection),
    /// The hasher failed (never the password's fault: a broken stored hash or
    /// parameters out of range).
    #[error("password hashing failed")]
    Hash,
}

impl IdentityError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
