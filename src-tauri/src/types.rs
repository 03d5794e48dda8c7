//! IPC-only types of the console (the wire types come from gatehouse-types).

use gatehouse_types::{DatabaseBackend, IdentityResponse};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the window should do when it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StartupMode {
    /// Start (or reuse) the embedded server and connect to it.
    Embedded,
    /// Show the connect screen.
    Connect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TokenStorageKind {
    /// The OS keyring (Secret Service).
    Keyring,
    /// A file readable only by the user, where no keyring service is available.
    File,
}

/// Where the console keeps tokens, as the UI tells the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TokenStorage {
    pub kind: TokenStorageKind,
    pub location: String,
}

/// The connection the window works with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SessionInfo {
    pub server_url: String,
    /// SHA-256 of the server's certificate, pinned.
    pub fingerprint: String,
    pub is_embedded: bool,
    pub version: String,
    pub database: DatabaseBackend,
    pub identity: IdentityResponse,
    /// True for auditors: the UI shows no control that changes anything.
    pub is_read_only: bool,
    pub token_storage: TokenStorage,
}

/// A server the console has connected to before, with its pinned certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RememberedServer {
    pub url: String,
    pub fingerprint: String,
    pub first_seen_at: String,
    /// A token is kept for it (until sign-out).
    pub has_token: bool,
}
