//! The gateway on the wire (GW-7, GW-9): its API inventory with live rates
//! and the WAF's state, the sources its honeypots flagged, and the one view
//! of why a request was blocked.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One route of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GatewayRoute {
    pub name: String,
    pub path_prefix: String,
    pub upstreams: Vec<String>,
    /// `internal`, `partner` or `public`.
    pub exposure: String,
    /// `public`, `internal`, `confidential` or `restricted`.
    pub classification: String,
    pub description: String,
    pub is_signup: bool,
    pub is_anonymous: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub max_body_bytes: u64,
    pub content_types: Vec<String>,
    /// Requests a minute per source, and per identity, before 429.
    pub rate_per_minute: u32,
    pub identity_rate_per_minute: u32,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub requests_last_minute: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub blocked_last_minute: u64,
}

/// A rule switched off for one route (a false positive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WafExclusion {
    pub path_prefix: String,
    pub rule_id: u32,
    #[serde(default)]
    pub note: String,
}

/// The WAF's settings in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WafStatus {
    /// The engine and its rule set (`ModSecurity v3.0.9 (Linux) with the OWASP Core Rule Set`).
    pub engine: String,
    /// `off`, `detect_only` or `blocking`.
    pub mode: String,
    pub paranoia_level: u8,
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    /// Counts up with each configuration that loaded.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub generation: u64,
    pub exclusions: Vec<WafExclusion>,
}

/// `GET /v1/gateway/routes`: the API inventory and the WAF (GW-7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GatewayResponse {
    /// Whether this server runs a gateway (`[gateway]` configured).
    pub is_running: bool,
    /// Where it listens.
    pub listen: Option<String>,
    pub routes: Vec<GatewayRoute>,
    pub waf: Option<WafStatus>,
    /// The honeypots' decoy paths.
    pub decoys: Vec<String>,
    /// TLS hello fingerprints refused as bad bots (`gateway.bots`).
    #[serde(default)]
    pub denied_tls_fingerprints: Vec<String>,
}

/// `PUT /v1/gateway/waf`: the WAF's next settings (a new generation; one that
/// does not load changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateWafRequest {
    /// `off`, `detect_only` or `blocking`.
    pub mode: String,
    pub paranoia_level: u8,
    pub inbound_threshold: u32,
    pub outbound_threshold: u32,
    pub exclusions: Vec<WafExclusion>,
    /// The generation the change was made from: a change made meanwhile is a conflict.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub base_generation: u64,
}

/// A source a honeypot flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlaggedSource {
    pub source: String,
    /// The decoy it asked for.
    pub path: String,
    pub flagged_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Requests refused since.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub refused: u64,
}

/// `GET /v1/gateway/sources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlaggedSourcesResponse {
    pub items: Vec<FlaggedSource>,
}

/// A WAF rule that matched (never what it matched).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhyRule {
    pub id: u32,
    pub message: String,
    pub severity: Option<u8>,
    /// Where it matched (`ARGS:id`).
    pub variable: Option<String>,
}

/// The access decision behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhyDecision {
    /// `allow` or `deny`.
    pub decision: String,
    /// The policies that decided (open each in the policy editor).
    pub policies: Vec<String>,
    /// The `@reason` of the forbid that decided, if it gave one.
    pub reason: Option<String>,
    pub errors: Vec<String>,
    /// The policy version that decided, when known.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub policy_version: Option<u64>,
}

/// `GET /v1/blocked/{request_id}/why` (GW-9): everything that decided a
/// request's fate, stage by stage, from its audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedWhyResponse {
    pub request_id: String,
    pub time: DateTime<Utc>,
    /// `true` for a request through the gateway, `false` for the API's own.
    pub is_gateway: bool,
    pub source_ip: String,
    pub method: String,
    pub path: String,
    /// The route (a gateway route's name, or the API's action).
    pub route: String,
    pub status: Option<u16>,
    /// The blocked log's reason, when it was refused.
    pub reason: Option<String>,
    /// The refusal in words.
    pub detail: Option<String>,
    /// Who called (`anonymous` without a credential).
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    /// Why the credential was refused, when it was.
    pub token_check: Option<String>,
    pub decision: Option<WhyDecision>,
    /// The WAF's verdict: `blocked`, `would_block` (detect-only) or `passed`.
    pub waf_verdict: Option<String>,
    pub waf_anomaly_score: Option<u32>,
    pub waf_rules: Vec<WhyRule>,
    /// The bot verdict (`human`, `bot`, `bad_bot`) and its score.
    pub bot: Option<String>,
    pub bot_score: Option<u8>,
    /// The connection's TLS hello fingerprint (what `gateway.bots.
    /// deny_tls_fingerprints` lists).
    #[serde(default)]
    pub tls_fingerprint: Option<String>,
    /// What refused it: the WAF rule that decided, the decoy, the attack tool
    /// or the denied fingerprint.
    #[serde(default)]
    pub matched: Option<String>,
    /// The rate limits' counts against their quotas when the request came.
    pub rate_source_count: Option<f64>,
    pub rate_source_quota: Option<u32>,
    pub rate_identity_count: Option<f64>,
    pub rate_identity_quota: Option<u32>,
    /// The audit record's sequence number (open it in the trail).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub audit_seq: u64,
}
