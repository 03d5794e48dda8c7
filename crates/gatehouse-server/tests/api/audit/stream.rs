//! The live tail: server-sent events, one per record as it commits, resumable.

use std::pin::Pin;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use gatehouse_client::{AuditFilters, AuditSearch};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{AuditRecord, ErrorCode, Role};

use super::{mint, request_id, send};
use crate::assert_error;

/// A reader of `text/event-stream`.
struct Events {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: String,
}

#[derive(Debug)]
struct Event {
    event: String,
    id: String,
    record: AuditRecord,
}

impl Events {
    fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event with data (comments and keep-alives skipped).
    async fn next(&mut self) -> Event {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => event = value.to_owned(),
                        "id" => id = value.to_owned(),
                        "data" => data.push_str(value),
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue;
                }
                let record = serde_json::from_str(&data).unwrap();
                return Event { event, id, record };
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.body.next())
                .await
                .expect("an event within 10 s")
                .expect("the stream stays open")
                .unwrap();
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

async fn open(server: &TestServer, query: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = server
        .raw()
        .get(server.url(&format!("/v1/audit/stream{query}")))
        .bearer_auth(&server.admin_token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

async fn newest_seq(server: &TestServer) -> u64 {
    let search = AuditSearch {
        filters: AuditFilters::default(),
        limit: Some(1),
        cursor: None,
    };
    server.client().search_audit(&search).await.unwrap().items[0].seq
}

async fn the_live_tail_delivers_records_as_they_commit(db: Db) {
    let server = TestServer::start(db).await;
    let last = newest_seq(&server).await;
    let response = open(&server, &format!("?after={last}"), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let stream_rid = request_id(&response);
    let mut events = Events::new(response);

    let (status, rid) = send(
        server
            .raw()
            .get(server.url("/v1/server"))
            .bearer_auth(&server.admin_token),
    )
    .await;
    assert_eq!(status, 200);
    // Every record after `last`, in order, no gap, up to the new request's.
    let mut received: Vec<AuditRecord> = Vec::new();
    let mut expected = last + 1;
    loop {
        let e = events.next().await;
        assert_eq!(e.event, "audit");
        assert_eq!(
            e.id,
            e.record.seq.to_string(),
            "the event id is the record's seq"
        );
        assert_eq!(e.record.seq, expected, "{received:#?}");
        expected += 1;
        let is_it = e.record.request_id == rid;
        received.push(e.record);
        if is_it {
            break;
        }
    }
    assert!(received
        .iter()
        .any(|r| r.request_id == stream_rid && r.action == "audit.stream"));
    assert_eq!(received.last().unwrap().action, "server.read");

    // A change committed with its record (not through the writer) shows up too.
    let (_, token_id) = mint(&server, Role::Auditor, "live").await;
    loop {
        let e = events.next().await;
        assert_eq!(e.record.seq, expected);
        expected += 1;
        if e.record.action == "api_tokens.create" {
            assert_eq!(e.record.resource.id, token_id.to_string());
            break;
        }
    }

    // Resuming with Last-Event-ID starts right after it, with the same records.
    let response = open(&server, "", Some(&received[0].seq.to_string())).await;
    assert_eq!(response.status(), 200);
    let mut resumed = Events::new(response);
    assert_eq!(resumed.next().await.record, received[1]);
    assert_eq!(resumed.next().await.record, received[2]);

    // Without a position, the tail starts at the newest record: the first event is
    // the stream's own.
    let response = open(&server, "", None).await;
    let own = request_id(&response);
    let first = Events::new(response).next().await;
    assert_eq!(
        (
            first.record.request_id.as_str(),
            first.record.action.as_str()
        ),
        (own.as_str(), "audit.stream")
    );
}

async fn bad_resume_positions_are_refused(db: Db) {
    let server = TestServer::start(db).await;
    for id in ["abc", "-1", "1.5", ""] {
        let response = open(&server, "", Some(id)).await;
        let error = assert_error(response, 400, ErrorCode::InvalidParameter).await;
        assert!(
            error.message.contains("last-event-id"),
            "{id:?}: {}",
            error.message
        );
    }
    for query in ["?after=abc", "?after=-1", "?from=1"] {
        let response = open(&server, query, None).await;
        assert_error(response, 400, ErrorCode::InvalidParameter).await;
    }
    let (auditor, _) = mint(&server, Role::Auditor, "auditor").await;
    let response = server
        .raw()
        .get(server.url("/v1/audit/stream?after=1"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "auditors may watch");
    let first = Events::new(response).next().await;
    assert_eq!(first.record.seq, 2);
}

on_both_databases!(
    the_live_tail_delivers_records_as_they_commit,
    bad_resume_positions_are_refused,
);
