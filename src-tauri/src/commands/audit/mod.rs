//! The audit trail browser (CO-3): keyset pages crossing the IPC boundary as
//! compact rows (no before/after/details), a record's every field on demand from
//! a cache of the pages fetched, chain verification, and "follow live" on the
//! server's stream.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use gatehouse_client::{AuditFilters, AuditSearch, Client};
use gatehouse_types::{
    ApiError, AuditRecord, ErrorCode, VerifyResponse, BLOCK_REASONS, MAX_AUDIT_PAGE,
};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use super::{connected_client, parse_time};
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// The longest value a text filter may have.
const MAX_FILTER_LEN: usize = 256;
const OUTCOMES: [&str; 4] = ["success", "denied", "rejected", "failed"];
/// How many full records the console keeps for the detail pane.
const CACHE_RECORDS: usize = 20_000;

/// The audit trail's filters as the window holds them: text, empty when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    /// From (inclusive), RFC 3339.
    pub from: Option<String>,
    /// To (exclusive), RFC 3339.
    pub to: Option<String>,
    /// The actor's id.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// `success`, `denied`, `rejected` or `failed`.
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub request_id: Option<String>,
    /// Free text, anywhere in the record's text fields.
    pub q: Option<String>,
    /// Only refused requests: `any`, or a reason of the blocked-request log.
    pub blocked: Option<String>,
}

fn text(name: &str, value: &Option<String>) -> Result<Option<String>, ApiError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_FILTER_LEN || v.chars().any(char::is_control) {
        return Err(local(
            ErrorCode::InvalidInput,
            format!(
                "{name} must be at most {MAX_FILTER_LEN} characters, without control characters"
            ),
        ));
    }
    Ok(Some(v.to_owned()))
}

impl AuditQuery {
    /// The server's filters, or which filter is wrong and how.
    pub fn to_filters(&self) -> Result<AuditFilters, ApiError> {
        let from = parse_time("from", self.from.clone())?;
        let to = parse_time("to", self.to.clone())?;
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(local(
                    ErrorCode::InvalidInput,
                    "from must be earlier than to: widen the time range",
                ));
            }
        }
        let outcome = text("outcome", &self.outcome)?;
        if let Some(o) = &outcome {
            if !OUTCOMES.contains(&o.as_str()) {
                return Err(local(
                    ErrorCode::InvalidInput,
                    format!("outcome must be one of {}", OUTCOMES.join(", ")),
                ));
            }
        }
        let blocked = text("blocked", &self.blocked)?;
        if let Some(b) = &blocked {
            if b != "any" && !BLOCK_REASONS.contains(&b.as_str()) {
                return Err(local(
                    ErrorCode::InvalidInput,
                    format!("blocked must be any or one of {}", BLOCK_REASONS.join(", ")),
                ));
            }
        }
        Ok(AuditFilters {
            blocked,
            from,
            to,
            actor: text("actor", &self.actor)?,
            action: text("action", &self.action)?,
            resource_type: text("resource type", &self.resource_type)?,
            resource_id: text("resource id", &self.resource_id)?,
            outcome,
            source: text("source", &self.source)?,
            request_id: text("request id", &self.request_id)?,
            q: text("free text", &self.q)?,
        })
    }
}

/// One record as a list row: seq, time (ms since the epoch), actor kind, actor id,
/// actor name, action, resource type, resource id, outcome, HTTP status, source,
/// request id, and whether it carries a before/after change. An array, not an
/// object, so that a page of 500 crosses the IPC boundary without 500 copies of
/// the field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditRow(
    #[ts(type = "number")] pub u64,
    #[ts(type = "number")] pub i64,
    pub String,
    pub String,
    pub String,
    pub String,
    pub String,
    pub String,
    pub String,
    pub Option<u16>,
    pub String,
    pub String,
    pub bool,
);

impl From<&AuditRecord> for AuditRow {
    fn from(r: &AuditRecord) -> Self {
        Self(
            r.seq,
            r.time.timestamp_millis(),
            r.actor.kind.clone(),
            r.actor.id.clone(),
            r.actor.name.clone(),
            r.action.clone(),
            r.resource.kind.clone(),
            r.resource.id.clone(),
            r.outcome.clone(),
            r.status,
            r.source_ip.clone(),
            r.request_id.clone(),
            r.before.is_some() || r.after.is_some(),
        )
    }
}

/// A page of the list, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditRows {
    pub rows: Vec<AuditRow>,
    /// Where the next (older) page starts; none on the last page.
    pub next_cursor: Option<String>,
    /// How long the server took to answer, so that the window can tell the
    /// IPC crossing from the search (microseconds).
    #[ts(type = "number")]
    pub server_micros: u64,
}

/// The full records of the rows the window was sent, for the detail pane.
#[derive(Default)]
pub struct RecordCache {
    server: String,
    records: HashMap<u64, AuditRecord>,
    order: VecDeque<u64>,
}

impl RecordCache {
    fn put(&mut self, server: &str, records: Vec<AuditRecord>) {
        if self.server != server {
            *self = Self {
                server: server.to_owned(),
                ..Self::default()
            };
        }
        for r in records {
            let seq = r.seq;
            if self.records.insert(seq, r).is_none() {
                self.order.push_back(seq);
            }
        }
        while self.order.len() > CACHE_RECORDS {
            if let Some(old) = self.order.pop_front() {
                self.records.remove(&old);
            }
        }
    }

    fn get(&self, server: &str, seq: u64) -> Option<AuditRecord> {
        (self.server == server)
            .then(|| self.records.get(&seq).cloned())
            .flatten()
    }
}

/// Keeps fetched records for the detail pane, unless the session changed while
/// they were being fetched.
fn remember(state: &ConsoleState, epoch: u64, client: &Client, records: Vec<AuditRecord>) {
    if let Ok(mut cache) = state.records.lock() {
        if state.epoch() == epoch {
            cache.put(client.base_url(), records);
        }
    }
}

#[tauri::command]
pub async fn search_audit(
    state: State<'_, ConsoleState>,
    query: AuditQuery,
    cursor: Option<String>,
    limit: u32,
) -> Result<AuditRows, ApiError> {
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(local(
            ErrorCode::InvalidInput,
            format!("a page holds 1 to {MAX_AUDIT_PAGE} records"),
        ));
    }
    let search = AuditSearch {
        filters: query.to_filters()?,
        limit: Some(limit),
        cursor: cursor.filter(|c| !c.is_empty()),
    };
    let epoch = state.epoch();
    let client = connected_client(&state).await?;
    let started = std::time::Instant::now();
    let page = client.search_audit(&search).await.map_err(from_client)?;
    let server_micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    let rows = page.items.iter().map(AuditRow::from).collect();
    // The records move into the cache (no copy) for the detail pane.
    remember(&state, epoch, &client, page.items);
    Ok(AuditRows {
        rows,
        next_cursor: page.next_cursor,
        server_micros,
    })
}

/// Every field of one record: from the pages already fetched, else the server.
#[tauri::command]
pub async fn get_audit_record(
    state: State<'_, ConsoleState>,
    seq: u64,
) -> Result<AuditRecord, ApiError> {
    let epoch = state.epoch();
    let client = connected_client(&state).await?;
    let cached = state
        .records
        .lock()
        .ok()
        .and_then(|c| c.get(client.base_url(), seq));
    if let Some(record) = cached {
        return Ok(record);
    }
    // Pages run newest first and a cursor is "older than seq", so the record is
    // the first of the page that starts just above it.
    let search = AuditSearch {
        filters: AuditFilters::default(),
        limit: Some(1),
        cursor: Some(seq.saturating_add(1).to_string()),
    };
    let page = client.search_audit(&search).await.map_err(from_client)?;
    let record = page
        .items
        .into_iter()
        .find(|r| r.seq == seq)
        .ok_or_else(|| {
            local(
                ErrorCode::NotFound,
                format!("there is no audit record {seq}"),
            )
        })?;
    remember(&state, epoch, &client, vec![record.clone()]);
    Ok(record)
}

#[tauri::command]
pub async fn verify_audit_chain(
    state: State<'_, ConsoleState>,
) -> Result<VerifyResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.verify_audit().await.map_err(from_client)
}

/// What "follow live" sends the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FollowEvent {
    /// New records matching the filters, newest first.
    Rows { rows: Vec<AuditRow> },
    /// The stream ended; `error` says why when it was not asked to.
    Stopped { error: Option<ApiError> },
}

fn contains(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}

/// The server's filters, applied to one streamed record (free text over the same
/// fields the server searches).
fn matches(f: &AuditFilters, r: &AuditRecord) -> bool {
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    f.from.is_none_or(|t| r.time >= t)
        && f.to.is_none_or(|t| r.time < t)
        && eq(&f.actor, &r.actor.id)
        && eq(&f.action, &r.action)
        && eq(&f.resource_type, &r.resource.kind)
        && eq(&f.resource_id, &r.resource.id)
        && eq(&f.outcome, &r.outcome)
        && eq(&f.source, &r.source_ip)
        && eq(&f.request_id, &r.request_id)
        && f.blocked.as_deref().is_none_or(|b| refused_for(b, r))
        && f.q.as_deref().is_none_or(|q| {
            let q = q.to_lowercase();
            [
                r.actor.id.as_str(),
                r.actor.name.as_str(),
                r.actor.on_behalf_of.as_deref().unwrap_or(""),
                r.action.as_str(),
                r.resource.kind.as_str(),
                r.resource.id.as_str(),
                r.source_ip.as_str(),
                r.user_agent.as_str(),
                r.request_id.as_str(),
            ]
            .iter()
            .any(|field| contains(field, &q))
                || [&r.details, &r.before, &r.after]
                    .iter()
                    .any(|v| v.as_ref().is_some_and(|v| contains(&v.to_string(), &q)))
        })
}

/// Whether a streamed record is of a request blocked for this reason. The stream
/// does not carry the blocked log, but the record names the error it ended with
/// (`details.error`), which the pipeline classifies the same way.
fn refused_for(reason: &str, r: &AuditRecord) -> bool {
    let code = r
        .details
        .as_ref()
        .and_then(|d| d.get("error"))
        .and_then(|e| serde_json::from_value::<ErrorCode>(e.clone()).ok());
    let Some(kind) = code.and_then(|c| c.block_reason(r.action != "route.unknown")) else {
        return false;
    };
    reason == "any" || reason == kind
}

/// Splits complete server-sent events off the front of `buffer` (bytes, carriage
/// returns already dropped), returning the `data` of each `audit` event. Events
/// end at a blank line, which is ASCII, so a character split across two chunks
/// is only decoded once whole.
fn take_events(buffer: &mut Vec<u8>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
        let block: Vec<u8> = buffer.drain(..end + 2).collect();
        let block = String::from_utf8_lossy(&block);
        let mut event = "message";
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                event = if v.trim() == "audit" {
                    "audit"
                } else {
                    "other"
                };
            } else if let Some(v) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(v.strip_prefix(' ').unwrap_or(v));
            }
        }
        if event == "audit" && !data.is_empty() {
            out.push(data);
        }
    }
    out
}

async fn follow(
    client: Client,
    filters: AuditFilters,
    after: Option<u64>,
    channel: &Channel<FollowEvent>,
    state: &ConsoleState,
    epoch: u64,
) -> Result<(), ApiError> {
    let query: Vec<(&str, String)> = after
        .map(|a| ("after", a.to_string()))
        .into_iter()
        .collect();
    let mut stream = client
        .download(
            "/v1/audit/stream",
            &query,
            Duration::from_secs(7 * 24 * 3600),
        )
        .await
        .map_err(from_client)?;
    let mut buffer: Vec<u8> = Vec::new();
    // The server sends a keep-alive every 15 s: a minute of silence is a
    // connection that died without closing.
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), stream.chunk())
        .await
        .map_err(|_| {
            local(
                ErrorCode::Timeout,
                "the live stream went silent; turn Follow live on again to resume",
            )
        })?
        .map_err(from_client)?
    {
        buffer.extend(chunk.iter().filter(|b| **b != b'\r'));
        let mut fresh = Vec::new();
        for data in take_events(&mut buffer) {
            let record: AuditRecord = serde_json::from_str(&data).map_err(|e| {
                local(
                    ErrorCode::BadServerResponse,
                    format!("the audit stream sent a record the console cannot read: {e}"),
                )
            })?;
            if matches(&filters, &record) {
                fresh.push(record);
            }
        }
        if !fresh.is_empty() {
            if state.epoch() != epoch {
                return Ok(()); // another session now: say nothing more
            }
            let rows = fresh.iter().rev().map(AuditRow::from).collect();
            remember(state, epoch, &client, fresh);
            if channel.send(FollowEvent::Rows { rows }).is_err() {
                return Ok(()); // the window went away
            }
        }
    }
    Err(local(
        ErrorCode::ServerUnreachable,
        "the server closed the live stream; turn Follow live on again to resume",
    ))
}

/// Starts following the trail after record `after` (the newest the window has),
/// replacing any earlier follow. Records arrive on `channel`.
#[tauri::command]
pub async fn follow_audit(
    app: tauri::AppHandle,
    state: State<'_, ConsoleState>,
    query: AuditQuery,
    after: Option<u64>,
    channel: Channel<FollowEvent>,
) -> Result<(), ApiError> {
    let filters = query.to_filters()?;
    let epoch = state.epoch();
    let client = connected_client(&state).await?;
    let task = tauri::async_runtime::spawn(async move {
        use tauri::Manager;
        let state = app.state::<ConsoleState>();
        let error = follow(client, filters, after, &channel, &state, epoch)
            .await
            .err();
        if state.epoch() == epoch {
            let _ = channel.send(FollowEvent::Stopped { error });
        }
    });
    let mut slot = state.follow.lock().await;
    if state.epoch() != epoch {
        task.abort(); // the session ended while this one was starting
        return Err(local(
            ErrorCode::NotConnected,
            "the session ended; sign in again",
        ));
    }
    if let Some(old) = slot.replace(task) {
        old.abort();
    }
    Ok(())
}

#[tauri::command]
pub async fn stop_follow_audit(state: State<'_, ConsoleState>) -> Result<(), ApiError> {
    if let Some(task) = state.follow.lock().await.take() {
        task.abort();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked_before_they_reach_the_server() {
        let bad = |q: AuditQuery| q.to_filters().expect_err("should be refused").message;
        assert!(bad(AuditQuery {
            from: Some("yesterday".into()),
            ..Default::default()
        })
        .contains("from must be a date"));
        assert!(bad(AuditQuery {
            from: Some("2026-02-01T00:00:00Z".into()),
            to: Some("2026-01-01T00:00:00Z".into()),
            ..Default::default()
        })
        .contains("earlier than to"));
        assert!(bad(AuditQuery {
            outcome: Some("ok".into()),
            ..Default::default()
        })
        .contains("outcome must be one of"));
        assert!(bad(AuditQuery {
            actor: Some("x".repeat(300)),
            ..Default::default()
        })
        .contains("at most 256"));
        assert!(bad(AuditQuery {
            q: Some("a\u{0}b".into()),
            ..Default::default()
        })
        .contains("control characters"));
        let ok = AuditQuery {
            actor: Some("  alice ".into()),
            action: Some(String::new()),
            ..Default::default()
        }
        .to_filters()
        .expect("valid");
        assert_eq!(ok.actor.as_deref(), Some("alice"));
        assert_eq!(ok.action, None);
    }

    #[test]
    fn server_sent_events_are_split_whole_and_only_audit_ones_kept() {
        let mut buffer = b"id: 1\nevent: audit\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 2\nevent: audit\ndata: {\"a\"".to_vec();
        assert_eq!(take_events(&mut buffer), vec!["{\"a\":1}".to_owned()]);
        buffer.extend_from_slice(b":2}\n\n");
        assert_eq!(take_events(&mut buffer), vec!["{\"a\":2}".to_owned()]);
        assert!(buffer.is_empty());
        // A character split across two chunks arrives whole.
        let event = "event: audit\ndata: {\"name\":\"Zoë\"}\n\n".as_bytes();
        let cut = event
            .iter()
            .position(|b| *b >= 0x80)
            .expect("a multi-byte character")
            + 1;
        let mut buffer = event[..cut].to_vec();
        assert!(take_events(&mut buffer).is_empty());
        buffer.extend_from_slice(&event[cut..]);
        assert_eq!(
            take_events(&mut buffer),
            vec!["{\"name\":\"Zoë\"}".to_owned()]
        );
    }

    /// A plain successful record with this seq.
    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            seq,
            hash: String::new(),
            time: chrono::DateTime::UNIX_EPOCH,
            event_id: None,
            actor: gatehouse_types::AuditActor {
                kind: "api_token".into(),
                id: "t".into(),
                name: "n".into(),
                on_behalf_of: None,
            },
            action: "a".into(),
            resource: gatehouse_types::AuditResource {
                kind: "r".into(),
                id: "1".into(),
            },
            outcome: "success".into(),
            status: Some(200),
            source_ip: "127.0.0.1".into(),
            user_agent: String::new(),
            request_id: "req".into(),
            before: None,
            after: None,
            details: None,
        }
    }

    #[test]
    fn the_blocked_filter_follows_the_error_each_record_ended_with() {
        let failed = |action: &str, status: u16, error: &str| AuditRecord {
            action: action.into(),
            status: Some(status),
            outcome: "denied".into(),
            details: Some(serde_json::json!({ "error": error })),
            ..record(1)
        };
        let blocked = |b: &str| {
            AuditQuery {
                blocked: Some(b.into()),
                ..Default::default()
            }
            .to_filters()
            .expect("valid")
        };
        let token = failed("audit.search", 401, "invalid_token");
        let forbidden = failed("policies.create", 403, "forbidden");
        let unknown = failed("route.unknown", 404, "not_found");
        let missing = failed("api_tokens.revoke", 404, "not_found");
        let invalid = failed("policies.create", 422, "invalid_body");
        let rule = failed("policies.create", 422, "validation_failed");
        assert!(matches(&blocked("authentication"), &token));
        assert!(!matches(&blocked("authorization"), &token));
        assert!(matches(&blocked("authorization"), &forbidden));
        assert!(matches(&blocked("unknown_route"), &unknown));
        assert!(matches(&blocked("bad_input"), &invalid));
        for r in [&token, &forbidden, &unknown, &invalid] {
            assert!(matches(&blocked("any"), r), "{r:?}");
        }
        // A handler's own refusals, and successes, were not blocked.
        for r in [&missing, &rule, &record(2)] {
            assert!(!matches(&blocked("any"), r), "{r:?}");
        }
        let refused = AuditQuery {
            blocked: Some("boredom".into()),
            ..Default::default()
        }
        .to_filters()
        .expect_err("an unknown reason");
        assert!(refused.message.contains("blocked must be any or one of"));
    }

    #[test]
    fn the_cache_forgets_the_oldest_and_another_servers_records() {
        let mut cache = RecordCache::default();
        let many: Vec<_> = (1..=(CACHE_RECORDS as u64 + 5)).map(record).collect();
        cache.put("https://a", many);
        assert!(cache.get("https://a", 1).is_none());
        assert!(cache.get("https://a", 6).is_some());
        assert!(cache.get("https://b", 6).is_none());
        cache.put("https://b", vec![record(3)]);
        assert!(cache.get("https://a", 6).is_none());
        assert_eq!(cache.get("https://b", 3).map(|r| r.seq), Some(3));
        let filters = AuditQuery {
            q: Some("REQ".into()),
            outcome: Some("success".into()),
            ..Default::default()
        }
        .to_filters()
        .expect("valid");
        assert!(matches(&filters, &record(1)));
        let other = AuditQuery {
            actor: Some("u".into()),
            ..Default::default()
        }
        .to_filters()
        .expect("valid");
        assert!(!matches(&other, &record(1)));
    }

    #[tokio::test]
    async fn a_new_session_starts_without_the_last_ones_records() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = ConsoleState::open(dir.path().join("console")).expect("state");
        let record = record(7);
        state
            .records
            .lock()
            .expect("lock")
            .put("https://a", vec![record.clone()]);
        assert!(state
            .records
            .lock()
            .expect("lock")
            .get("https://a", 7)
            .is_some());
        let before = state.epoch();
        state.forget_session_data().await;
        let cached = |url: &str| state.records.lock().expect("lock").get(url, 7).is_some();
        assert!(!cached("https://a"));
        // A search that started under the last session answers late: not kept.
        let client = Client::builder("https://a.test").build().expect("client");
        remember(&state, before, &client, vec![record.clone()]);
        assert!(!cached(client.base_url()));
        remember(&state, state.epoch(), &client, vec![record]);
        assert!(cached(client.base_url()));
        assert!(state
            .export_cancelled
            .load(std::sync::atomic::Ordering::SeqCst));
    }
}
