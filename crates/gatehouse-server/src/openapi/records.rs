//! The audit trail and the blocked-request log. Stubs: only the attributes are
//! read. `x-gatehouse-action` names the action the route table gives the route.
#![allow(dead_code)]

use gatehouse_types::{
    AuditPage, AuditRecord, BlockedPage, BlockedSummaryResponse, IngestRequest, IngestResponse,
    VerifyResponse,
};

use super::params::{
    AuditFilterParams, BlockedFilterParams, ExportParams, PageParams, StreamParams, SummaryParams,
};

/// Report audit events
///
/// For services (AU-3): each event is checked on its own; the good ones are
/// committed (one transaction) before the answer, the bad ones named in
/// `results`. Sending an `event_id` again is acknowledged as a duplicate.
#[utoipa::path(
    post,
    path = "/v1/audit/events",
    tag = "audit",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("audit.ingest"))),
    request_body = IngestRequest,
    responses((status = 200, description = "What became of each event", body = IngestResponse))
)]
pub fn ingest_audit_events() {}

/// Search the audit trail
///
/// Newest first, in keyset pages (AU-5). The search is itself recorded, with its
/// filters (AU-9).
#[utoipa::path(
    get,
    path = "/v1/audit/events",
    tag = "audit",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("audit.search"))),
    params(AuditFilterParams, PageParams),
    responses((status = 200, description = "A page of records", body = AuditPage))
)]
pub fn search_audit() {}

/// Export the audit trail
///
/// The whole filtered view, oldest first, streamed (AU-6): CSV (formula
/// starters neutralised) or JSON lines, one `AuditRecord` a line.
#[utoipa::path(
    get,
    path = "/v1/audit/export",
    tag = "audit",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("audit.export"))),
    params(AuditFilterParams, ExportParams),
    responses((
        status = 200,
        description = "The records, as an attachment",
        content(
            (String = "text/csv; charset=utf-8"),
            (AuditRecord = "application/x-ndjson"),
        )
    ))
)]
pub fn export_audit() {}

/// Verify the audit trail
///
/// Recomputes the hash chain and checks the signed checkpoints (AU-2).
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("audit.verify"))),
    responses((status = 200, description = "Whether the trail is intact, and the first sign of tampering", body = VerifyResponse))
)]
pub fn verify_audit() {}

/// Tail the audit trail
///
/// Server-sent events: an `audit` event per record as it commits (its data an
/// `AuditRecord`, its id the sequence number), for as long as the caller stays
/// authorized; an `end` event (its data an `ApiError`) when it no longer is.
/// Streams are capped per token and in total (429).
#[utoipa::path(
    get,
    path = "/v1/audit/stream",
    tag = "audit",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("audit.stream"))),
    params(
        StreamParams,
        ("Last-Event-ID" = Option<u64>, Header, description = "The last sequence number received, sent by a reconnecting EventSource"),
    ),
    responses((status = 200, description = "The live tail", body = AuditRecord, content_type = "text/event-stream"))
)]
pub fn stream_audit() {}

/// List blocked requests
///
/// The requests the pipeline refused (GW-6), newest first, in keyset pages.
#[utoipa::path(
    get,
    path = "/v1/blocked",
    tag = "blocked",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("blocked.list"))),
    params(BlockedFilterParams, PageParams),
    responses((status = 200, description = "A page of blocked requests", body = BlockedPage))
)]
pub fn list_blocked() {}

/// Summarise blocked requests
///
/// Counts over time by reason, and the top sources, identities and routes: the
/// last 24 hours unless `from`/`to` say otherwise.
#[utoipa::path(
    get,
    path = "/v1/blocked/summary",
    tag = "blocked",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("blocked.summary"))),
    params(SummaryParams),
    responses((
        status = 200,
        description = "The summary",
        content(
            (BlockedSummaryResponse = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )
    ))
)]
pub fn summarize_blocked() {}
