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
use gatehouse_store::{AuditFilter, Page, Store};
use gatehouse_types::{
    parse_query_cursor, parse_query_time, AuditPage, AuditQuery, ErrorCode, IngestRequest,
    IngestResponse, QueryError, VerifyResponse,
};
use http::{header, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::audit::stream::{open_stream, resume_point};
use crate::audit::{
    store_filter, to_wire, verify_trail, write_export_header, write_export_rows, ExportFormat,
};
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, ApiQuery, Audit, Caller};

const DEFAULT_PAGE: u32 = 100;
const EXPORT_PAGE: u32 = 2_000;

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
    let now = to_micros(state.clock.now());
    let response =
        crate::audit::ingest::ingest(&state.audit, &caller, &audit.facts, now, request).await?;
    audit.detail(
        "ingested",
        json!({"accepted": response.accepted, "duplicates": response.duplicates, "rejected": response.rejected}),
    );
    Ok(Json(response))
}
