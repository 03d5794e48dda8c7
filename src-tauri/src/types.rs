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

/// How the console verifies a remote server before any token goes to it (CO-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verification {
    /// Pin the certificate with this SHA-256 fingerprint: one the person confirmed
    /// after the console showed it, or pasted from what `gatehouse init` printed
    /// (case, colons and spaces do not matter). `null` on first contact: the console
    /// then only shows the fingerprint (`needs_confirmation`) and sends no token.
    Fingerprint { confirmed: Option<String> },
    /// Verify the certificate against the certificate authorities this system
    /// trusts, for the server's host name.
    SystemCa,
}

/// How a remembered server is verified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ServerTrust {
    /// Its certificate, by the SHA-256 fingerprint the person confirmed.
    #[default]
    Pinned,
    /// A certificate chain to a CA the system trusts, for its host name.
    SystemCa,
}

/// What `connect_server` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConnectOutcome {
    Connected {
        session: SessionInfo,
    },
    /// First contact: the server presented this certificate. Nothing was sent
    /// but a health check without a token, and nothing is remembered; show the
    /// fingerprint and connect again with it as `confirmed` if the person confirms.
    NeedsConfirmation {
        server_url: String,
        fingerprint: String,
    },
}

/// The connection the window works with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SessionInfo {
    pub server_url: String,
    /// SHA-256 of the server's certificate: the pin, or (verified with the
    /// system's CAs) the one it presented.
    pub fingerprint: String,
    pub trust: ServerTrust,
    pub is_embedded: bool,
    pub version: String,
    pub database: DatabaseBackend,
    pub identity: IdentityResponse,
    /// True for auditors: the UI shows no control that changes anything.
    pub is_read_only: bool,
    pub token_storage: TokenStorage,
}

/// A server the console has connected to before, and how it is verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RememberedServer {
    pub url: String,
    pub trust: ServerTrust,
    /// The pinned SHA-256 (`null` when verified with the system's CAs).
    pub fingerprint: Option<String>,
    pub first_seen_at: String,
    /// A token is kept for it (until sign-out).
    pub has_token: bool,
}
