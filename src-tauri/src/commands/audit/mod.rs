//! The audit trail browser (CO-3): keyset pages crossing the IPC boundary as
//! compact rows (no before/after/details), a record's every field on demand from
//! a cache of the pages fetched, chain verification, and "follow live" on the
//! server's stream (`follow`). The filters are `gatehouse_types::AuditQuery`,
//! checked by its own `validate`.

pub mod follow;

use std::collections::{HashMap, VecDeque};

use gatehouse_client::Client;
use gatehouse_types::{
    ApiError, AuditQuery, AuditRecord, CheckedAuditQuery, ErrorCode, VerifyResponse,
};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

pub use follow::FollowEvent;

use super::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// How many full records the console keeps for the detail pane.
const CACHE_RECORDS: usize = 20_000;

/// The window's audit query, tidied (white space trimmed, empty fields unset)
/// and put through the one check, `AuditQuery::validate`.
pub(crate) fn checked(query: AuditQuery) -> Result<(AuditQuery, CheckedAuditQuery), ApiError> {
    let query = query.tidy();
    let checked = query
        .validate()
        .map_err(|e| local(ErrorCode::InvalidInput, e.message))?;
    Ok((query, checked))
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
pub(crate) fn remember(
    state: &ConsoleState,
    epoch: u64,
    client: &Client,
    records: Vec<AuditRecord>,
) {
    if let Ok(mut cache) = state.records.lock() {
        if state.epoch() == epoch {
            cache.put(client.base_url(), records);
        }
    }
}

/// The window's filters, tidied, or the first one that is wrong, named: the
/// window checks a query here before it puts it in its address.
#[tauri::command]
pub async fn check_audit_query(query: AuditQuery) -> Result<AuditQuery, ApiError> {
    checked(query).map(|(query, _)| query)
}

/// One page of the list: `limit` rows older than `cursor`, matching `query`.
#[tauri::command]
pub async fn search_audit(
    state: State<'_, ConsoleState>,
    query: AuditQuery,
    cursor: Option<String>,
    limit: u32,
) -> Result<AuditRows, ApiError> {
    let (search, _) = checked(AuditQuery {
        limit: Some(limit),
        cursor,
        ..query
    })?;
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
    let search = AuditQuery {
        limit: Some(1),
        cursor: Some(seq.saturating_add(1).to_string()),
        ..AuditQuery::default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_filters_are_tidied_and_checked_before_they_reach_the_server() {
        let bad = |q: AuditQuery| checked(q).expect_err("should be refused");
        for (field, q) in [
            (
                "from",
                AuditQuery {
                    from: Some("yesterday".into()),
                    ..Default::default()
                },
            ),
            (
                "from",
                AuditQuery {
                    from: Some("2026-02-01T00:00:00Z".into()),
                    to: Some("2026-01-01T00:00:00Z".into()),
                    ..Default::default()
                },
            ),
            (
                "outcome",
                AuditQuery {
                    outcome: Some("ok".into()),
                    ..Default::default()
                },
            ),
            (
                "blocked",
                AuditQuery {
                    blocked: Some("boredom".into()),
                    ..Default::default()
                },
            ),
            (
                "actor",
                AuditQuery {
                    actor: Some("x".repeat(300)),
                    ..Default::default()
                },
            ),
            (
                "q",
                AuditQuery {
                    q: Some("a\u{0}b".into()),
                    ..Default::default()
                },
            ),
            (
                "limit",
                AuditQuery {
                    limit: Some(0),
                    ..Default::default()
                },
            ),
        ] {
            let error = bad(q);
            assert_eq!(error.code, ErrorCode::InvalidInput);
            assert!(
                error.message.starts_with(field),
                "{field}: {}",
                error.message
            );
        }
        // A hand-edited address says what a date must look like.
        assert!(bad(AuditQuery {
            from: Some("yesterday".into()),
            ..Default::default()
        })
        .message
        .contains("from must be a date"));
        let (ok, _) = checked(AuditQuery {
            actor: Some("  alice ".into()),
            action: Some(String::new()),
            cursor: Some(String::new()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(ok.actor.as_deref(), Some("alice"));
        assert_eq!(ok.action, None);
        assert_eq!(ok.cursor, None);
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
