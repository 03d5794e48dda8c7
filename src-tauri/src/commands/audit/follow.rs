//! "Follow live": a task reading the server's audit stream after the newest
//! record the window has, keeping the records the window's filters match
//! (`CheckedAuditQuery::matches`, the search's own rules) and sending them over a
//! channel as list rows.

use std::time::Duration;

use gatehouse_client::Client;
use gatehouse_types::{ApiError, AuditQuery, AuditRecord, CheckedAuditQuery, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use super::{checked, remember, AuditRow};
use crate::commands::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// What "follow live" sends the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FollowEvent {
    /// New records matching the filters, newest first.
    Rows { rows: Vec<AuditRow> },
    /// The stream ended; `error` says why when it was not asked to.
    Stopped { error: Option<ApiError> },
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
    filters: CheckedAuditQuery,
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
            if filters.matches(&record) {
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
    let (_, filters) = checked(query)?;
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
}
