//! `/v1/audit/*`: ingestion for services (AU-3), search (AU-5), export (AU-6),
//! verification (AU-2) and the live tail. Every one of them is itself recorded by
//! the pipeline, with its filters (AU-9).

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::{self, Stream};
use gatehouse_audit::redact::{redact_json, redact_text};
use gatehouse_audit::{Outcome, Record};
use gatehouse_store::{AuditFilter, Page, Store};
use gatehouse_types::{
    parse_query_cursor, parse_query_time, AuditPage, AuditQuery, ErrorCode, IngestError,
    IngestEvent, IngestRequest, IngestResponse, IngestResult, IngestStatus, QueryError, Role,
    VerifyResponse, MAX_INGEST_BATCH, OUTCOMES,
};
use http::{header, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::audit::stream::{open_stream, resume_point};
use crate::audit::{
    store_filter, to_wire, verify_trail, write_export_header, write_export_rows, ExportFormat,
};
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, ApiQuery, Audit, Caller, Principal};

const DEFAULT_PAGE: u32 = 100;
const EXPORT_PAGE: u32 = 2_000;
const MAX_ID: usize = 128;
const MAX_JSON_BYTES: usize = 16 * 1024;

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiFailure {
    ApiFailure::new(ErrorCode::InvalidParameter, message)
}

fn invalid_query(e: QueryError) -> ApiFailure {
    invalid(e.message)
}

/// An RFC 3339 time, as unix microseconds.
pub(crate) fn parse_time(name: &str, value: &str) -> Result<i64, ApiFailure> {
    parse_query_time(name, value)
        .map(to_micros)
        .map_err(invalid_query)
}

pub(crate) fn parse_cursor(value: Option<&str>) -> Result<Option<u64>, ApiFailure> {
    value
        .map(parse_query_cursor)
        .transpose()
        .map_err(invalid_query)
}

/// The audit query of a query string, and the value of the one parameter the
/// route takes besides it (`format`), set aside.
fn audit_query(raw: Option<&str>, extra: &str) -> Result<(AuditQuery, Option<String>), ApiFailure> {
    let mut other = None;
    let mut pairs = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key != extra {
            pairs.push((key, value));
        } else if other.replace(value.into_owned()).is_some() {
            return Err(invalid(format!("{extra} is given twice")));
        }
    }
    let query = AuditQuery::from_pairs(pairs).map_err(invalid_query)?;
    Ok((query, other))
}

/// `GET /v1/audit/events`: newest first, keyset pages.
pub async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, ApiFailure> {
    let (query, format) = audit_query(raw.as_deref(), "format")?;
    if format.is_some() {
        return Err(invalid("format applies to /v1/audit/export only"));
    }
    let query = query.validate().map_err(invalid_query)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let page = Page::Newest {
        before: query.cursor,
    };
    let filter = store_filter(query, page);
    let rows = state.store.audit().search(&filter, limit).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() == limit as usize => Some(last.seq.to_string()),
        _ => None,
    };
    Ok(Json(AuditPage {
        items: rows.into_iter().map(to_wire).collect(),
        next_cursor,
    }))
}

/// `GET /v1/audit/export?format=csv|jsonl`: the whole filtered view, oldest first,
/// streamed page by page.
pub async fn export(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiFailure> {
    let (query, format) = audit_query(raw.as_deref(), "format")?;
    let format = match format.as_deref() {
        None => ExportFormat::Csv,
        Some(f) => ExportFormat::parse(f).ok_or_else(|| invalid("format must be csv or jsonl"))?,
    };
    let query = query.validate_export().map_err(invalid_query)?;
    let filter = store_filter(query, Page::default());
    let mut header = Vec::new();
    write_export_header(format, &mut header).map_err(|_| ApiFailure::internal())?;
    let body = export_stream(state.store.clone(), filter, format, header);
    let disposition = format!(
        "attachment; filename=\"audit-{}.{}\"",
        state.clock.now().format("%Y%m%dT%H%M%SZ"),
        format.extension()
    );
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

fn export_stream(
    store: Arc<dyn Store>,
    filter: AuditFilter,
    format: ExportFormat,
    header: Vec<u8>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let start = (Some(header), Some(0u64));
    stream::unfold(start, move |(header, after)| {
        let store = store.clone();
        let mut filter = filter.clone();
        async move {
            if let Some(h) = header.filter(|h| !h.is_empty()) {
                return Some((Ok(Bytes::from(h)), (None, after)));
            }
            let after = after?;
            filter.page = Page::Oldest { after: Some(after) };
            let rows = match store.audit().search(&filter, EXPORT_PAGE).await {
                Ok(rows) => rows,
                Err(e) => {
                    // Headers are gone; ending the body early is the only signal left.
                    tracing::error!(error = %e, "audit export failed mid-stream");
                    return Some((Err(std::io::Error::other("export failed")), (None, None)));
                }
            };
            let last = rows.last().map(|r| r.seq);
            let next = if rows.len() == EXPORT_PAGE as usize {
                last
            } else {
                None
            };
            if rows.is_empty() {
                return None;
            }
            let mut chunk = Vec::with_capacity(rows.len() * 512);
            if let Err(e) = write_export_rows(format, rows, &mut chunk) {
                return Some((Err(e), (None, None)));
            }
            Some((Ok(Bytes::from(chunk)), (None, next)))
        }
    })
}

/// `GET /v1/audit/verify`: recomputes the chain and checks the checkpoints.
pub async fn verify(State(state): State<AppState>) -> Result<Json<VerifyResponse>, ApiFailure> {
    let key = state.audit.sealer().signer.verifying_key();
    let witness = state.audit.witness().map_err(|e| {
        tracing::error!(error = %e, "audit witness unreadable");
        ApiFailure::internal()
    })?;
    Ok(Json(
        verify_trail(state.store.as_ref(), &[key], witness).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    after: Option<u64>,
}

/// `GET /v1/audit/stream`: server-sent events, one per record as it commits, each
/// with its sequence number as the event id, for as long as the caller stays
/// authorized (`audit::stream`). Resumes after `?after=N` or the `Last-Event-ID`
/// header; without either, starts at the newest record.
pub async fn stream(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Response, ApiFailure> {
    let from = resume_point(query.after, &headers)?;
    let events = open_stream(&state, caller, &audit.facts, from).await?;
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// `POST /v1/audit/events`: each event is checked on its own; the good ones are
/// committed (one transaction) before the answer, the bad ones named.
pub async fn ingest(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<IngestRequest>,
) -> Result<Json<IngestResponse>, ApiFailure> {
    let n = request.events.len();
    if n == 0 || n > MAX_INGEST_BATCH {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!("events must hold 1 to {MAX_INGEST_BATCH} events"),
        ));
    }
    let now = to_micros(state.clock.now());
    let mut results: Vec<IngestResult> = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    let mut positions = Vec::with_capacity(n);
    for (index, value) in request.events.into_iter().enumerate() {
        let event_id = value
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match to_record(value, &caller, &audit, now) {
            Ok(record) => {
                positions.push(index);
                records.push(record);
                results.push(IngestResult {
                    index: index as u64,
                    event_id,
                    status: IngestStatus::Accepted,
                    seq: None,
                    error: None,
                });
            }
            Err(error) => results.push(IngestResult {
                index: index as u64,
                event_id,
                status: IngestStatus::Rejected,
                seq: None,
                error: Some(error),
            }),
        }
    }
    if !records.is_empty() {
        let appended = state.audit.append(records, Vec::new()).await.map_err(|_| {
            ApiFailure::new(
                ErrorCode::Unavailable,
                "the audit trail cannot be written, retry later",
            )
        })?;
        for (index, a) in positions.into_iter().zip(appended) {
            if let Some(r) = results.get_mut(index) {
                r.seq = Some(a.seq);
                if a.is_duplicate {
                    r.status = IngestStatus::Duplicate;
                }
            }
        }
    }
    let count = |s: IngestStatus| results.iter().filter(|r| r.status == s).count() as u64;
    let response = IngestResponse {
        accepted: count(IngestStatus::Accepted),
        duplicates: count(IngestStatus::Duplicate),
        rejected: count(IngestStatus::Rejected),
        results,
    };
    audit.detail(
        "ingested",
        json!({"accepted": response.accepted, "duplicates": response.duplicates, "rejected": response.rejected}),
    );
    Ok(Json(response))
}

fn reject(code: ErrorCode, message: String) -> IngestError {
    IngestError { code, message }
}

fn check_len(name: &str, value: &str, min: usize, max: usize) -> Result<(), IngestError> {
    let n = value.chars().count();
    if n < min || n > max || value.chars().any(char::is_control) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            format!("`{name}` must be {min} to {max} characters with no control characters"),
        ));
    }
    Ok(())
}

fn json_text(name: &str, value: Option<Value>) -> Result<Option<String>, IngestError> {
    let Some(mut value) = value else {
        return Ok(None);
    };
    redact_json(&mut value);
    let text = value.to_string();
    if text.len() > MAX_JSON_BYTES {
        return Err(reject(
            ErrorCode::ValidationFailed,
            format!("`{name}` must be at most {MAX_JSON_BYTES} bytes of JSON"),
        ));
    }
    Ok(Some(text))
}

/// One reported event as a record, or why it cannot be one.
fn to_record(
    value: Value,
    caller: &Principal,
    audit: &Audit,
    now: i64,
) -> Result<Record, IngestError> {
    let event: IngestEvent = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." {
            format!("event: {inner}")
        } else {
            format!("field `{path}`: {inner}")
        };
        reject(ErrorCode::InvalidBody, message)
    })?;
    check_len("event_id", &event.event_id, 1, MAX_ID)?;
    // Redacting an id would make different events duplicates of each other.
    if matches!(redact_text(&event.event_id), std::borrow::Cow::Owned(_)) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "`event_id` must not hold a credential".into(),
        ));
    }
    check_len("action", &event.action, 1, MAX_ID)?;
    if !event
        .action
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
    {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "`action` may hold only letters, digits, `.`, `_`, `-` and `:`".into(),
        ));
    }
    let outcome = Outcome::parse(&event.outcome).ok_or_else(|| {
        reject(
            ErrorCode::ValidationFailed,
            format!("`outcome` must be one of {}", OUTCOMES.join(", ")),
        )
    })?;
    check_len("resource.type", &event.resource.kind, 1, MAX_ID)?;
    check_len("resource.id", &event.resource.id, 0, 256)?;
    if let Some(who) = &event.on_behalf_of {
        check_len("on_behalf_of", who, 1, 256)?;
    }
    let source_ip = match &event.source_ip {
        Some(ip) => ip
            .parse::<std::net::IpAddr>()
            .map_err(|_| {
                reject(
                    ErrorCode::ValidationFailed,
                    "`source_ip` must be an IP address".into(),
                )
            })?
            .to_string(),
        None => audit.facts.source_ip.clone(),
    };
    let mut details = serde_json::Map::new();
    if let Some(t) = event.occurred_at {
        details.insert("occurred_at".into(), json!(t));
    }
    if let Some(d) = event.details {
        details.insert("reported".into(), d);
    }
    Ok(Record {
        time_us: now,
        event_id: Some(event.event_id),
        actor_kind: if caller.role == Role::Service {
            "service"
        } else {
            "api_token"
        }
        .into(),
        actor_id: caller.token_id.to_string(),
        actor_name: caller.name.clone(),
        on_behalf_of: event.on_behalf_of.map(|w| redact_text(&w).into_owned()),
        action: redact_text(&event.action).into_owned(),
        resource_type: redact_text(&event.resource.kind).into_owned(),
        resource_id: redact_text(&event.resource.id).into_owned(),
        outcome: outcome.as_str().into(),
        status: 0,
        source_ip,
        user_agent: audit.facts.user_agent.clone(),
        request_id: audit.facts.request_id.clone(),
        before: json_text("before", event.before)?,
        after: json_text("after", event.after)?,
        details: json_text(
            "details",
            (!details.is_empty()).then_some(Value::Object(details)),
        )?,
    })
}
