//! The query parameters of the GET routes, as documented. The routes' own query
//! structs (in `routes/`) refuse unknown parameters; an API test holds these to
//! them (every documented parameter is one the route knows, and every one it
//! knows is documented or refused by the route).
#![allow(dead_code)]

use utoipa::IntoParams;

/// The filters of the audit trail (`GET /v1/audit/events` and its export).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilterParams {
    /// Records at or after this RFC 3339 time.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Records before this RFC 3339 time (later than `from`).
    #[param(format = DateTime)]
    to: Option<String>,
    /// The actor's id or name, 1 to 256 characters.
    actor: Option<String>,
    /// The action (`audit.search`, an ingested event's action), 1 to 256 characters.
    action: Option<String>,
    /// The resource's type, 1 to 256 characters.
    resource_type: Option<String>,
    /// The resource's id, 1 to 256 characters.
    resource_id: Option<String>,
    /// `success`, `denied`, `rejected` or `failed`.
    outcome: Option<String>,
    /// The source IP address, 1 to 256 characters.
    source: Option<String>,
    /// The request id, 1 to 256 characters.
    request_id: Option<String>,
    /// Free text, searched in every text column, 1 to 256 characters.
    q: Option<String>,
    /// Only requests the pipeline blocked: `any`, or a reason of the blocked log
    /// (`authentication`, `authorization`, `rate_limit`, `bad_input`, `unknown_route`).
    blocked: Option<String>,
}

/// A page of the audit trail or the blocked log, newest first.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 1000 (100 by default).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// `GET /v1/audit/export`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `csv` (the default) or `jsonl`.
    format: Option<String>,
}

/// `GET /v1/audit/stream`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this record's sequence number (else after the
    /// `Last-Event-ID` header's; else at the newest record), within the server's
    /// replay window.
    after: Option<u64>,
}

/// `GET /v1/blocked`'s filters.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlockedFilterParams {
    /// Requests at or after this RFC 3339 time.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Requests before this RFC 3339 time.
    #[param(format = DateTime)]
    to: Option<String>,
    /// `authentication`, `authorization`, `rate_limit`, `bad_input` or `unknown_route`.
    reason: Option<String>,
    /// The source IP address.
    source: Option<String>,
    /// Who it was, when the request carried a valid credential.
    identity: Option<String>,
    /// The matched route template (`GET /v1/server`), or the unknown-route key.
    route: Option<String>,
}

/// `GET /v1/blocked/summary`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// The range's start, RFC 3339 (24 hours before `to` by default).
    #[param(format = DateTime)]
    from: Option<String>,
    /// The range's end, RFC 3339 (now by default); at most 366 days after `from`.
    #[param(format = DateTime)]
    to: Option<String>,
    /// Seconds per bucket; by default about 48 buckets over the range, at most 10,000.
    #[param(minimum = 1)]
    bucket_seconds: Option<u64>,
    /// How many sources, identities and routes to list, 1 to 100 (10 by default).
    #[param(minimum = 1, maximum = 100)]
    top: Option<u32>,
    /// `json` (the default) or `csv`: one row per count (`breakdown`, `key`,
    /// `bucket_start`, `count`).
    format: Option<String>,
}

/// `GET /v1/policies/versions`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionsParams {
    /// Versions per page, 1 to 500 (50 by default).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// `GET /v1/policies/diff`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The version to compare from (required).
    #[param(minimum = 1)]
    from: u64,
    /// The version to compare to (the active one by default).
    #[param(minimum = 1)]
    to: Option<u64>,
}

/// `GET /v1/policies/matrix`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatrixParams {
    /// `json` (the default) or `csv`: one row per action, one column per role.
    format: Option<String>,
}
