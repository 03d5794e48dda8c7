//! The WAF stage (GW-4): a [`WafEngine`] inspects a request (its line, its
//! headers, its body) and answers which rules matched and whether it is
//! blocked. [`modsec::ModSecurityWaf`] is the engine: the OWASP Core Rule
//! Set run by libmodsecurity 3. The trait is what lets another engine be
//! measured against it.
//!
//! The engine must never run on the async workers (evaluation is CPU work of
//! a millisecond or more), never see a request the earlier stages refused,
//! and never record what a rule matched: a match is kept as the rule's id,
//! message and the variable it matched in, the matched data redacted.

mod conf;
pub mod modsec;

use std::net::SocketAddr;

use bytes::Bytes;

pub use conf::{parse_matches, RuleExclusion, RuleMatch, WafMode, WafSettings};

/// A request as the WAF sees it: already normalised and within its limits.
#[derive(Debug, Clone)]
pub struct WafRequest {
    pub method: String,
    /// The checked path, re-encoded, with the query as sent.
    pub uri: String,
    /// `1.1` or `2.0`.
    pub http_version: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub request_id: String,
}

/// What the WAF made of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct WafVerdict {
    /// Refused (in detect-only mode: never; see `would_block`).
    pub is_blocked: bool,
    /// The status the rules asked for when blocked.
    pub status: u16,
    /// In any mode: the anomaly score crossed the threshold.
    pub would_block: bool,
    /// The inbound anomaly score, when the rules reported it.
    pub anomaly_score: Option<u32>,
    /// Every rule that matched, in order, the matched data redacted.
    pub matches: Vec<RuleMatch>,
    /// The configuration generation that judged it.
    pub generation: u64,
}

/// Why the WAF could not judge a request (the gateway then refuses it:
/// a request is never passed uninspected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WafError {
    #[error("the WAF is overloaded: {0} requests are waiting")]
    Overloaded(usize),
    #[error("the WAF could not inspect the request: {0}")]
    Failed(String),
    #[error("the WAF configuration does not load: {0}")]
    Config(String),
}

/// An engine that judges requests. `inspect` may block the calling thread:
/// callers run it off the async workers (see [`modsec::ModSecurityWaf`],
/// whose `inspect` hands the work to its own threads).
#[async_trait::async_trait]
pub trait WafEngine: Send + Sync {
    /// The engine's name and version, for the record.
    fn name(&self) -> String;
    /// Judges one request.
    async fn inspect(&self, request: WafRequest) -> Result<WafVerdict, WafError>;
    /// Loads new settings as the next generation; on failure the current
    /// generation stays and the error says why.
    async fn reconfigure(&self, settings: WafSettings) -> Result<u64, WafError>;
    /// The settings in force and their generation.
    fn settings(&self) -> (WafSettings, u64);
    /// The mode in force (asked for every request: no copy of the settings).
    fn mode(&self) -> WafMode;
}
