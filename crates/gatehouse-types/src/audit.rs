//! The audit trail and the blocked-request log on the wire (AU-1 to AU-9, GW-6).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;

/// The most records one page of `GET /v1/audit/events` returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;
/// The most events one `POST /v1/audit/events` batch may carry.
pub const MAX_INGEST_BATCH: usize = 1000;

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditActor {
    /// `api_token`, `user`, `service`, `operator` (the local CLI) or `anonymous`.
    pub kind: String,
    pub id: String,
    pub name: String,
    /// Whose behalf it acted on, when not its own.
    pub on_behalf_of: Option<String>,
}

/// What it was done to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// One record of the audit trail, as stored and hash-chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// The chain hash, hex.
    pub hash: String,
    pub time: DateTime<Utc>,
    /// The client-supplied id of an ingested event.
    pub event_id: Option<String>,
    pub actor: AuditActor,
    pub action: String,
    pub resource: AuditResource,
    /// `success`, `denied`, `rejected` or `failed`.
    pub outcome: String,
    /// The HTTP status, for records of requests.
    pub status: Option<u16>,
    pub source_ip: String,
    pub user_agent: String,
    pub request_id: String,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub before: Option<Value>,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub after: Option<Value>,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub details: Option<Value>,
}

/// A page of `GET /v1/audit/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// One event a service reports (`POST /v1/audit/events`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IngestEvent {
    /// The service's own id for the event, 1 to 128 characters: sending the same
    /// id again is acknowledged without storing it twice.
    pub event_id: String,
    /// What happened, such as `order.create`: 1 to 128 characters of letters,
    /// digits, `.`, `_`, `-` and `:`.
    pub action: String,
    /// `success`, `denied`, `rejected` or `failed`.
    pub outcome: String,
    pub resource: AuditResource,
    /// The user (or other party) the service acted for.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// When it happened, by the service's clock (the record's time is the server's).
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub before: Option<Value>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub after: Option<Value>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub details: Option<Value>,
}

/// `POST /v1/audit/events`: events are validated one by one (`IngestEvent`), so one
/// bad event does not sink the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    #[cfg_attr(feature = "ts", ts(type = "Array<unknown>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<IngestEvent>))]
    pub events: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IngestStatus {
    /// Stored (committed) now.
    Accepted,
    /// Stored earlier under the same event id; not stored again.
    Duplicate,
    /// Not stored; see `error`.
    Rejected,
}

/// Why one event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestError {
    pub code: ErrorCode,
    pub message: String,
}

/// What became of the event at `index` of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestResult {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub index: u64,
    pub event_id: Option<String>,
    pub status: IngestStatus,
    /// The record that holds the event (accepted or duplicate).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub seq: Option<u64>,
    pub error: Option<IngestError>,
}

/// Sent only after every accepted event is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestResponse {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub accepted: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duplicates: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rejected: u64,
    pub results: Vec<IngestResult>,
}

/// The first sign of tampering verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyFinding {
    /// The first record at which it shows.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// `modified`, `deleted`, `inserted`, `reordered`, `rewritten`, `truncated` or
    /// `forged_checkpoint`.
    pub kind: String,
    pub detail: String,
}

/// `GET /v1/audit/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyResponse {
    pub is_intact: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub last_seq: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub checkpoints: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub checkpoints_matched: u64,
    /// The checkpoint keys trusted (their ids).
    pub key_ids: Vec<String>,
    pub finding: Option<VerifyFinding>,
}

/// One request the pipeline refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedRequest {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub time: DateTime<Utc>,
    /// One of [`crate::BLOCK_REASONS`]: `authentication`, `authorization`,
    /// `rate_limit`, `bad_input`, `unknown_route`, `waf`, `bot`, `honeypot`, `timeout`.
    pub reason: String,
    pub source_ip: String,
    /// Who it was, when the request carried a valid credential.
    pub identity: Option<String>,
    pub method: String,
    pub route: String,
    pub status: u16,
    pub request_id: String,
    /// The gateway's bot verdict (`human`, `bot`, `bad_bot`); absent for the
    /// API's own refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub bot: Option<String>,
    /// What refused it: the WAF rule that decided a `waf` block, the decoy of
    /// a `honeypot` block, the tool a `bot` block recognised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub matched: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedPage {
    pub items: Vec<BlockedRequest>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedBucket {
    pub start: DateTime<Utc>,
    pub reason: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountBy {
    pub key: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// `GET /v1/blocked/summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockedSummaryResponse {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bucket_seconds: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total: u64,
    pub buckets: Vec<BlockedBucket>,
    pub by_reason: Vec<CountBy>,
    pub top_sources: Vec<CountBy>,
    pub top_identities: Vec<CountBy>,
    pub top_routes: Vec<CountBy>,
    /// The gateway's refusals by bot verdict (`human`, `bot`, `bad_bot`).
    #[serde(default)]
    pub by_bot: Vec<CountBy>,
    /// The WAF rules (CRS ids) that decided the most `waf` blocks.
    #[serde(default)]
    pub top_waf_rules: Vec<CountBy>,
    /// The honeypot decoys hit the most.
    #[serde(default)]
    pub top_decoys: Vec<CountBy>,
}

/// What a Core Rule Set rule id guards against, by its file's range (the CRS
/// numbers its rules by file: 942xxx are SQL injection, and so on).
pub fn crs_rule_family(rule_id: &str) -> Option<&'static str> {
    let id: u32 = rule_id.trim().parse().ok()?;
    Some(match id / 1000 {
        911 => "method enforcement",
        913 => "scanner detection",
        920 => "protocol enforcement",
        921 => "protocol attack",
        930 => "path traversal / file access",
        931 => "remote file inclusion",
        932 => "command injection",
        933 => "PHP injection",
        934 => "Node.js / SSRF injection",
        941 => "cross-site scripting",
        942 => "SQL injection",
        943 => "session fixation",
        944 => "Java injection",
        949 | 959 => "anomaly threshold",
        950..=956 => "data leakage",
        980 => "correlation",
        _ => return None,
    })
}
