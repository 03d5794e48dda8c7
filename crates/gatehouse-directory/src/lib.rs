//! Directory sign-in (ID-4): checks a login and password against an LDAP directory or
//! Active Directory with a simple bind over TLS (ldaps:// or StartTLS, rustls, the
//! configured CA, host name verified), finds the entry with a service account, and maps
//! its attributes and groups to a `DirectoryUser` with a user type and entitlements.
//! It does the directory part only: no HTTP, no database; the server creates or updates
//! the user. It must never log, print or keep a password; never bind with an empty
//! password (an empty simple bind is anonymous and succeeds); never build a filter from
//! unescaped input; never answer an unknown login differently from a wrong password;
//! and never wait on the directory longer than the configured bound.

mod config;
mod diagnostic;
mod directory;
mod error;
mod mapping;

#[cfg(feature = "harness")]
pub mod harness;

pub use config::{DirectoryConfig, GroupRule, MAX_TIMEOUT_MS};
pub use directory::{Directory, MAX_LOGIN_BYTES, MAX_PASSWORD_BYTES};
pub use error::DirectoryError;
pub use mapping::DirectoryUser;
