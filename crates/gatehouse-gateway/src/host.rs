//! What the gateway asks of the server it runs in: token verification
//! (TK-3), the access decision (Cedar, with the caller's posture in its
//! context, GW-8), the record of every request (GW-6), the identity it signs
//! for the upstream (GW-10), and the time. The gateway holds no keys,
//! policies or stores of its own: one source of truth, in the host.

use std::net::IpAddr;

use serde::Serialize;

use crate::bots::BotVerdict;
use crate::config::{Classification, Exposure};
use crate::waf::{RuleMatch, WafVerdict};

/// A caller whose token the host verified.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// `user`, `client` or `api_token`.
    pub kind: String,
    pub id: String,
    pub name: String,
    /// The role or user type, when the credential carries one.
    pub role: Option<String>,
    /// Authentication methods used (`pwd`, `otp`, `mfa`, …; empty for machines).
    pub amr: Vec<String>,
    /// When the person signed in (microseconds), for fresh-sign-in policies.
    pub auth_time_us: Option<i64>,
    pub scopes: Vec<String>,
    /// What the host keeps of the caller for its own later questions (the
    /// decision), never shown.
    #[serde(skip)]
    pub host_data: Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

/// The caller's security posture (GW-8): what a policy may demand more of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Posture {
    pub amr: Vec<String>,
    pub is_mfa: bool,
    /// Seconds since the person signed in (none for machines).
    pub seconds_since_auth: Option<i64>,
    pub bot: BotVerdict,
    pub bot_score: u8,
    /// The source touched a honeypot (it would have been refused before
    /// here; kept for policies that ask).
    pub is_source_flagged: bool,
    /// The source was held by a rate limit in the last window.
    pub was_rate_limited: bool,
}

/// One question for the access policies.
#[derive(Debug, Clone, Serialize)]
pub struct Question {
    /// None on a sign-up route called without a token.
    pub caller: Option<Caller>,
    pub method: String,
    pub route: String,
    pub path_prefix: String,
    /// Served without a token (anonymous, or the sign-up).
    pub is_open: bool,
    pub exposure: Exposure,
    pub classification: Classification,
    /// The checked path.
    pub path: String,
    pub source: IpAddr,
    pub time_us: i64,
    pub posture: Posture,
}

/// Whether a call with `method` writes (`route.write`): anything but GET,
/// HEAD and OPTIONS.
pub fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The policies' answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Decision {
    pub is_allowed: bool,
    /// The policies that decided it (the forbid or the permits).
    pub determining: Vec<String>,
    /// The posture check that failed, when a policy named one.
    pub reason: Option<String>,
    pub errors: Vec<String>,
}

/// Why a request was refused (the blocked log's reasons, GW-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    BadInput,
    UnknownRoute,
    RateLimit,
    Authentication,
    Authorization,
    Waf,
    Bot,
    Honeypot,
    Timeout,
}

impl BlockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockReason::BadInput => "bad_input",
            BlockReason::UnknownRoute => "unknown_route",
            BlockReason::RateLimit => "rate_limit",
            BlockReason::Authentication => "authentication",
            BlockReason::Authorization => "authorization",
            BlockReason::Waf => "waf",
            BlockReason::Bot => "bot",
            BlockReason::Honeypot => "honeypot",
            BlockReason::Timeout => "timeout",
        }
    }
}

/// The rate limits' state for a request: what the "why" view shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateState {
    pub source_count: f64,
    pub source_quota: u32,
    pub identity_count: Option<f64>,
    pub identity_quota: Option<u32>,
}

/// Everything the gateway learned about one request: recorded once.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub request_id: String,
    pub time_us: i64,
    pub source: IpAddr,
    pub method: String,
    /// The path as checked, or as sent (lossily) when it was refused.
    pub path: String,
    pub route: Option<String>,
    pub caller: Option<Caller>,
    /// The status answered.
    pub status: u16,
    pub blocked: Option<BlockReason>,
    /// Why, in words (no secrets, no matched data).
    pub detail: String,
    pub bot: BotVerdict,
    pub bot_score: u8,
    /// Whether the bot stage ran (a request refused before it has no verdict).
    pub is_bot_checked: bool,
    /// What refused it, by reason: the WAF rule that decided, the decoy hit
    /// (the configured one, never the path as asked), the attack tool seen.
    pub matched: Option<String>,
    /// The connection's TLS hello fingerprint (see `gatehouse_listener::TlsHello`).
    pub tls_fingerprint: Option<String>,
    pub user_agent: Option<String>,
    /// The token check's failure, when there was one.
    pub token_check: Option<String>,
    pub decision: Option<Decision>,
    /// The WAF's verdict, when it was asked (detect-only matches included).
    pub waf: Option<WafVerdict>,
    pub rate: Option<RateState>,
    pub duration_us: u64,
}

impl Outcome {
    /// A request's outcome before any stage has looked at it.
    pub fn new(request_id: String, time_us: i64, source: IpAddr) -> Self {
        Outcome {
            request_id,
            time_us,
            source,
            method: String::new(),
            path: String::new(),
            route: None,
            caller: None,
            status: 0,
            blocked: None,
            detail: String::new(),
            bot: BotVerdict::Human,
            bot_score: 0,
            is_bot_checked: false,
            matched: None,
            tls_fingerprint: None,
            user_agent: None,
            token_check: None,
            decision: None,
            waf: None,
            rate: None,
            duration_us: 0,
        }
    }

    /// The WAF rules that matched, if any.
    pub fn rules(&self) -> &[RuleMatch] {
        self.waf.as_ref().map_or(&[], |w| w.matches.as_slice())
    }
}

/// The server the gateway runs in.
#[async_trait::async_trait]
pub trait Host: Send + Sync {
    /// Verifies a bearer token: the caller, or why not (said to no one but the record).
    async fn verify(&self, token: &str) -> Result<Caller, String>;
    /// Asks the access policies.
    async fn decide(&self, question: &Question) -> Decision;
    /// Records one request (every refusal once, in the audit trail and the
    /// blocked log; every pass in the audit trail). An error means it could
    /// not be recorded: the caller is then told the gateway is unavailable.
    async fn record(&self, outcome: &Outcome) -> Result<(), String>;
    /// A short-lived token naming the verified caller for `route`'s upstream.
    fn sign_identity(&self, caller: &Caller, route: &str, request_id: &str) -> Option<String>;
    /// Now, in microseconds since the epoch.
    fn now_us(&self) -> i64;
}
