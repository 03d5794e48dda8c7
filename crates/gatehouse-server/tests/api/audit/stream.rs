//! The live tail: server-sent events, one per record as it commits, resumable,
//! authorized for as long as it runs, capped, and bounded in how far back it starts.

use std::pin::Pin;
use std::time::Duration;

use axum::body::Bytes;
use futures_util::{Stream, StreamExt};
use gatehouse_authz::BUILTIN_POLICIES;
use gatehouse_server::clock::Clock;
use gatehouse_store::ApiTokenRow;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::AuditQuery;
use gatehouse_types::{
    ApiError, AuditRecord, CreateApiTokenRequest, CreatePolicyVersionRequest, ErrorCode, Role,
};

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

/// What a stream yields next.
#[derive(Debug)]
enum Item {
    Audit(Box<Event>),
    /// The last event, saying why the stream stops.
    End(ApiError),
    /// The body finished.
    Closed,
}

impl Events {
    fn new(response: reqwest::Response) -> Self {
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event with data (comments and keep-alives skipped), or the end.
    async fn item(&mut self, within: Duration) -> Item {
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
                if event == "end" {
                    assert!(id.is_empty(), "the end event moves no resume point");
                    return Item::End(serde_json::from_str(&data).unwrap());
                }
                let record = serde_json::from_str(&data).unwrap();
                return Item::Audit(Box::new(Event { event, id, record }));
            }
            let chunk = tokio::time::timeout(within, self.body.next())
                .await
                .expect("an event in time");
            match chunk {
                None => return Item::Closed,
                Some(chunk) => self
                    .buffer
                    .push_str(std::str::from_utf8(&chunk.unwrap()).unwrap()),
            }
        }
    }

    /// The next record's event.
    async fn next(&mut self) -> Event {
        match self.item(Duration::from_secs(10)).await {
            Item::Audit(e) => *e,
            other => panic!("expected a record, got {other:?}"),
        }
    }

    /// Reads on (records may still come) until the stream says it ends, within
    /// `within`, then checks that it closes: the reason it gave.
    async fn ends_within(&mut self, within: Duration) -> ApiError {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.item(left).await {
                Item::Audit(_) => {}
                Item::End(error) => {
                    assert!(matches!(self.item(left).await, Item::Closed));
                    return error;
                }
                Item::Closed => panic!("the stream closed without an end event"),
            }
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
    let search = AuditQuery {
        limit: Some(1),
        ..AuditQuery::default()
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

async fn open_as(server: &TestServer, token: &str, query: &str) -> reqwest::Response {
    server
        .raw()
        .get(server.url(&format!("/v1/audit/stream{query}")))
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap()
}

/// A stream opened with `token`, read up to its own record: it is live.
async fn live(server: &TestServer, token: &str) -> Events {
    let response = open_as(server, token, "").await;
    assert_eq!(response.status(), 200);
    let own = request_id(&response);
    let mut events = Events::new(response);
    assert_eq!(events.next().await.record.request_id, own);
    events
}

/// Opens a stream with `token` once a place is free (the server gives a place
/// back when it drops the stream, a moment after the client sees it end).
async fn opens_soon(server: &TestServer, token: &str) -> Events {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let response = open_as(server, token, "").await;
        if response.status() == 200 {
            return Events::new(response);
        }
        assert_eq!(response.status(), 429);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was never given back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn forbid(action: &str) -> CreatePolicyVersionRequest {
    CreatePolicyVersionRequest {
        text: format!(
            "{BUILTIN_POLICIES}\n@id(\"no-auditor-{action}\")\n\
             forbid (principal in Role::\"auditor\", action == Action::\"{action}\", resource);\n"
        ),
        reason: format!("auditors may not {action}"),
        base_version: 1,
    }
}

/// The old tail was authorized once, when it opened, and then ran for as long as
/// the connection lived: a revoked token kept reading the trail.
// proves: TK-5, AU-9
async fn revoking_a_token_ends_its_streams_within_a_second(db: Db) {
    let server = TestServer::start(db).await;
    let (auditor, id) = mint(&server, Role::Auditor, "watcher").await;
    let mut watched = live(&server, &auditor).await;
    let mut admin = live(&server, &server.admin_token).await;
    server.client().revoke_api_token(id).await.unwrap();
    let end = watched.ends_within(Duration::from_secs(3)).await;
    assert_eq!(end.code, ErrorCode::InvalidToken);
    assert!(!end.request_id.is_empty());
    // Other streams go on.
    let (_, rid) = send(
        server
            .raw()
            .get(server.url("/v1/server"))
            .bearer_auth(&server.admin_token),
    )
    .await;
    while admin.next().await.record.request_id != rid {}
    assert_error(
        open_as(&server, &auditor, "").await,
        401,
        ErrorCode::InvalidToken,
    )
    .await;
}

/// What this process is not told about (a revocation by another replica, here
/// written straight into the store; an expiry) ends a stream at its next
/// periodic check, every `audit.stream.recheck_seconds` (1 by default).
// proves: TK-5
async fn a_revocation_elsewhere_or_an_expiry_ends_the_stream_at_the_next_check(db: Db) {
    let server = TestServer::start(db).await;
    let (auditor, id) = mint(&server, Role::Auditor, "watcher").await;
    let mut watched = live(&server, &auditor).await;
    let sealer = gatehouse_server::audit::load_or_create_sealer(&server.config).unwrap();
    let record = |_: &ApiTokenRow, _: &ApiTokenRow| gatehouse_audit::Record {
        action: "api_tokens.revoke".into(),
        request_id: "another-replica".into(),
        ..gatehouse_audit::Record::default()
    };
    let now = server.clock.now().timestamp_micros();
    server
        .store
        .api_tokens()
        .revoke(id.0, now, "administrator", &record, &sealer)
        .await
        .unwrap();
    let end = watched.ends_within(Duration::from_secs(4)).await;
    assert_eq!(end.code, ErrorCode::InvalidToken);

    let request = CreateApiTokenRequest {
        name: "short-lived".into(),
        role: Role::Auditor,
        expires_in_seconds: Some(60),
    };
    let short = server.client().create_api_token(&request).await.unwrap();
    let mut watched = live(&server, &short.secret).await;
    server.clock.advance(chrono::Duration::seconds(61));
    let end = watched.ends_within(Duration::from_secs(4)).await;
    assert_eq!(end.code, ErrorCode::InvalidToken);
}

/// A policy version that takes `audit.stream` away ends the streams it denies,
/// and only those.
// proves: AU-9
async fn a_policy_that_forbids_streaming_ends_the_stream(db: Db) {
    let server = TestServer::start(db).await;
    let (auditor, _) = mint(&server, Role::Auditor, "watcher").await;
    let mut watched = live(&server, &auditor).await;
    let mut admin = live(&server, &server.admin_token).await;
    server
        .client()
        .create_policy_version(&forbid("audit.stream"))
        .await
        .unwrap();
    let end = watched.ends_within(Duration::from_secs(3)).await;
    assert_eq!(end.code, ErrorCode::Forbidden);
    while admin.next().await.record.action != "policies.versions.create" {}
}

/// Each stream holds a connection, a task and a database poll for as long as it
/// lives: without caps one token could open them until the server gives out.
// proves: OP-4
async fn streams_are_capped_per_token_and_in_total(db: Db) {
    let server = TestServer::start_with(db, |c| {
        c.audit.stream.max_per_token = 2;
        c.audit.stream.max_total = 3;
    })
    .await;
    let (a, _) = mint(&server, Role::Auditor, "a").await;
    let (b, b_id) = mint(&server, Role::Auditor, "b").await;
    let (c, _) = mint(&server, Role::Auditor, "c").await;
    let a1 = live(&server, &a).await;
    let _a2 = live(&server, &a).await;
    let refused = |response: reqwest::Response| async move {
        let retry_after = response
            .headers()
            .get("retry-after")
            .expect("a Retry-After header")
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap();
        assert!(retry_after >= 1);
        let rid = request_id(&response);
        assert_error(response, 429, ErrorCode::RateLimited).await;
        rid
    };
    let rid = refused(open_as(&server, &a, "").await).await;
    let blocked = super::blocked_of(&server, &rid).await;
    assert_eq!(blocked[0].reason, "rate_limit");
    let mut b1 = live(&server, &b).await;
    refused(open_as(&server, &c, "").await).await;
    // A stream that ends gives its place back: one its token lost...
    server.client().revoke_api_token(b_id).await.unwrap();
    b1.ends_within(Duration::from_secs(3)).await;
    let _c1 = opens_soon(&server, &c).await;
    refused(open_as(&server, &a, "").await).await;
    // ...and one its client dropped.
    drop(a1);
    let _a3 = opens_soon(&server, &a).await;
}

/// `after=0` replayed the whole trail to anyone allowed to stream, whatever the
/// policies said about exporting it.
// proves: AU-9
async fn a_stream_replays_no_further_back_than_its_window(db: Db) {
    let server = TestServer::start_with(db, |c| c.audit.stream.max_replay_records = 20).await;
    let (auditor, _) = mint(&server, Role::Auditor, "auditor").await;
    server
        .client()
        .create_policy_version(&forbid("audit.export"))
        .await
        .unwrap();
    for _ in 0..25 {
        let request = server
            .raw()
            .get(server.url("/v1/server"))
            .bearer_auth(&server.admin_token);
        assert_eq!(send(request).await.0, 200);
    }
    let export = server
        .raw()
        .get(server.url("/v1/audit/export"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_error(export, 403, ErrorCode::Forbidden).await;
    for query in ["?after=0", "?after=1"] {
        let error = assert_error(
            open_as(&server, &auditor, query).await,
            400,
            ErrorCode::InvalidParameter,
        )
        .await;
        assert!(error.message.starts_with("after "), "{}", error.message);
    }
    let response = server
        .raw()
        .get(server.url("/v1/audit/stream"))
        .bearer_auth(&auditor)
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, ErrorCode::InvalidParameter).await;
    assert!(error.message.contains("last-event-id"), "{}", error.message);
    // Within the window it resumes as before.
    let head = newest_seq(&server).await;
    let response = open_as(&server, &auditor, &format!("?after={}", head - 10)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(Events::new(response).next().await.record.seq, head - 9);
}

on_both_databases!(
    the_live_tail_delivers_records_as_they_commit,
    bad_resume_positions_are_refused,
    revoking_a_token_ends_its_streams_within_a_second,
    a_revocation_elsewhere_or_an_expiry_ends_the_stream_at_the_next_check,
    a_policy_that_forbids_streaming_ends_the_stream,
    streams_are_capped_per_token_and_in_total,
    a_stream_replays_no_further_back_than_its_window,
);
