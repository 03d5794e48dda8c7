//! The audit trail through the API (AU-1 to AU-9) and the blocked-request log
//! (GW-6): every request leaves exactly one record, changes carry before and after
//! and commit with their record, and what an attacker would try is caught.

mod blocked;
mod capacity;
mod concurrency;
mod export;
mod ingest;
mod offline;
mod search;
mod secrets;
mod stream;
mod tamper;

use std::collections::HashMap;

use gatehouse_client::{BlockedFilters, Client, ExportFormat};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::AuditQuery;
use gatehouse_types::{
    ApiTokenId, AuditRecord, BlockedRequest, CreateApiTokenRequest, IngestRequest, IngestResponse,
    Role, REQUEST_ID_HEADER,
};
use serde_json::{json, Value};

/// The user agent of every hand-made request, to find it in the records.
pub const UA: &str = "gatehouse-audit-test/1";

pub fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(REQUEST_ID_HEADER)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Sends a hand-made request with [`UA`]; its status and request id.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.header("user-agent", UA).send().await.unwrap();
    (response.status().as_u16(), request_id(&response))
}

/// Mints a token through the API: its secret and id.
pub async fn mint(server: &TestServer, role: Role, name: &str) -> (String, ApiTokenId) {
    let request = CreateApiTokenRequest {
        name: name.into(),
        role,
        expires_in_seconds: None,
    };
    let created = server.client().create_api_token(&request).await.unwrap();
    (created.secret, created.token.id)
}

pub async fn admin_id(server: &TestServer) -> ApiTokenId {
    server
        .client()
        .server_info()
        .await
        .unwrap()
        .identity
        .token_id
        .unwrap()
}

/// One page of up to 1000 records matching `filters`, newest first.
pub fn page(filters: AuditQuery) -> AuditQuery {
    AuditQuery {
        limit: Some(1000),
        cursor: None,
        ..filters
    }
}

pub async fn find(server: &TestServer, filters: AuditQuery) -> Vec<AuditRecord> {
    let page = server.client().search_audit(&page(filters)).await.unwrap();
    assert!(page.next_cursor.is_none(), "a test trail fits one page");
    page.items
}

/// Every record of the request with this id.
pub async fn records_of(server: &TestServer, request_id: &str) -> Vec<AuditRecord> {
    let filters = AuditQuery {
        request_id: Some(request_id.to_owned()),
        ..AuditQuery::default()
    };
    find(server, filters).await
}

/// The one record of the request with this id.
pub async fn the_record_of(server: &TestServer, request_id: &str) -> AuditRecord {
    let mut records = records_of(server, request_id).await;
    assert_eq!(
        records.len(),
        1,
        "exactly one record for {request_id}: {records:#?}"
    );
    records.remove(0)
}

/// The blocked-request entries of the request with this id.
pub async fn blocked_of(server: &TestServer, request_id: &str) -> Vec<BlockedRequest> {
    all_blocked(server)
        .await
        .into_iter()
        .filter(|b| b.request_id == request_id)
        .collect()
}

pub async fn all_blocked(server: &TestServer) -> Vec<BlockedRequest> {
    let filters = BlockedFilters {
        limit: Some(1000),
        ..BlockedFilters::default()
    };
    let page = server.client().list_blocked(&filters).await.unwrap();
    assert!(page.next_cursor.is_none());
    page.items
}

/// The whole trail, oldest first, through the JSON Lines export.
pub async fn whole_trail(client: &Client) -> Vec<AuditRecord> {
    let bytes = client
        .export_audit(ExportFormat::JsonLines, &AuditQuery::default())
        .await
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// An ingestible event: valid unless the test changes it.
pub fn event(event_id: &str, action: &str) -> Value {
    json!({
        "event_id": event_id,
        "action": action,
        "outcome": "success",
        "resource": {"type": "order", "id": "o-1"},
    })
}

pub async fn ingest(server: &TestServer, secret: &str, events: Vec<Value>) -> IngestResponse {
    server
        .client()
        .with_token(secret)
        .ingest_audit_events(&IngestRequest { events })
        .await
        .unwrap()
}

/// What the one record (and the blocked entry, if any) of a request must say.
struct Expect {
    status: u16,
    outcome: &'static str,
    action: &'static str,
    actor: Option<ApiTokenId>,
    /// The blocked-request reason, if the pipeline refused it.
    blocked: Option<&'static str>,
    error: Option<&'static str>,
    method: &'static str,
    path: String,
}

fn expect(
    status: u16,
    outcome: &'static str,
    action: &'static str,
    method: &'static str,
    path: &str,
) -> Expect {
    Expect {
        status,
        outcome,
        action,
        actor: None,
        blocked: None,
        error: None,
        method,
        path: path.to_owned(),
    }
}

async fn every_request_is_recorded_exactly_once(db: Db) {
    let server = TestServer::start(db).await;
    let raw = server.raw();
    let admin = admin_id(&server).await;
    let admin_token = server.admin_token.clone();
    let (auditor, auditor_id) = mint(&server, Role::Auditor, "auditor").await;
    let url = |p: &str| server.url(p);
    let mint_with = |body: &'static str| {
        raw.post(url("/v1/api-tokens"))
            .bearer_auth(&admin_token)
            .header("content-type", "application/json")
            .body(body)
    };
    let info = "/v1/server";
    let tokens = "/v1/api-tokens";
    let unknown_id = format!("/v1/api-tokens/{}", uuid::Uuid::new_v4());
    let cases: Vec<(&str, reqwest::RequestBuilder, Expect)> = vec![
        (
            "success",
            raw.get(url(info)).bearer_auth(&admin_token),
            Expect {
                actor: Some(admin),
                ..expect(200, "success", "server.read", "GET", info)
            },
        ),
        (
            "public route",
            raw.get(url("/healthz")),
            expect(200, "success", "health.read", "GET", "/healthz"),
        ),
        (
            "no token",
            raw.get(url(info)),
            Expect {
                blocked: Some("authentication"),
                error: Some("unauthenticated"),
                ..expect(401, "denied", "server.read", "GET", info)
            },
        ),
        (
            "unknown token",
            raw.get(url(info))
                .bearer_auth(format!("gh_{}", "A".repeat(43))),
            Expect {
                blocked: Some("authentication"),
                error: Some("invalid_token"),
                ..expect(401, "denied", "server.read", "GET", info)
            },
        ),
        (
            "not a bearer token",
            raw.get(url(info)).header("authorization", "Basic YTpi"),
            Expect {
                blocked: Some("authentication"),
                error: Some("invalid_token"),
                ..expect(401, "denied", "server.read", "GET", info)
            },
        ),
        (
            "auditor mints",
            raw.post(url(tokens))
                .bearer_auth(&auditor)
                .json(&json!({"name": "x", "role": "administrator"})),
            Expect {
                actor: Some(auditor_id),
                blocked: Some("authorization"),
                error: Some("forbidden"),
                ..expect(403, "denied", "api_tokens.create", "POST", tokens)
            },
        ),
        (
            "malformed json",
            mint_with("{\"name\": "),
            Expect {
                actor: Some(admin),
                blocked: Some("bad_input"),
                error: Some("malformed_json"),
                ..expect(400, "rejected", "api_tokens.create", "POST", tokens)
            },
        ),
        (
            "wrong shape",
            mint_with("{\"role\": \"auditor\"}"),
            Expect {
                actor: Some(admin),
                blocked: Some("bad_input"),
                error: Some("invalid_body"),
                ..expect(422, "rejected", "api_tokens.create", "POST", tokens)
            },
        ),
        // A handler's own rule refusing a well-formed request is an outcome, not a block.
        (
            "validation",
            mint_with("{\"name\": \"\", \"role\": \"auditor\"}"),
            Expect {
                actor: Some(admin),
                error: Some("validation_failed"),
                ..expect(422, "rejected", "api_tokens.create", "POST", tokens)
            },
        ),
        (
            "unknown route",
            raw.get(url("/v1/nothing")).bearer_auth(&admin_token),
            Expect {
                blocked: Some("unknown_route"),
                error: Some("not_found"),
                ..expect(404, "rejected", "route.unknown", "GET", "/v1/nothing")
            },
        ),
        (
            "wrong method",
            raw.delete(url(info)).bearer_auth(&admin_token),
            Expect {
                blocked: Some("bad_input"),
                error: Some("method_not_allowed"),
                ..expect(405, "rejected", "route.method_not_allowed", "DELETE", info)
            },
        ),
        (
            "unknown token id",
            raw.delete(url(&unknown_id)).bearer_auth(&admin_token),
            Expect {
                actor: Some(admin),
                error: Some("not_found"),
                ..expect(404, "rejected", "api_tokens.revoke", "DELETE", &unknown_id)
            },
        ),
    ];

    let mut blocks = 0;
    for (what, request, c) in cases {
        let (status, rid) = send(request).await;
        assert_eq!(status, c.status, "{what}");
        let r = the_record_of(&server, &rid).await;
        assert_eq!(r.status, Some(c.status), "{what}");
        assert_eq!(r.outcome, c.outcome, "{what}");
        assert_eq!(r.action, c.action, "{what}");
        match c.actor {
            Some(id) => {
                assert_eq!(r.actor.kind, "api_token", "{what}");
                assert_eq!(r.actor.id, id.to_string(), "{what}");
            }
            None => assert_eq!(
                (r.actor.kind.as_str(), r.actor.id.as_str()),
                ("anonymous", ""),
                "{what}"
            ),
        }
        assert_eq!(r.source_ip, "127.0.0.1", "{what}");
        assert_eq!(r.user_agent, UA, "{what}");
        assert_eq!(r.request_id, rid, "{what}");
        assert_eq!(
            r.time,
            server.clock_now(),
            "{what}: the injected clock's time"
        );
        let details = r.details.as_ref().unwrap();
        assert_eq!(details["method"], c.method, "{what}");
        assert_eq!(details["path"], c.path.as_str(), "{what}");
        assert_eq!(
            details.get("error").and_then(Value::as_str),
            c.error,
            "{what}"
        );
        assert!(r.before.is_none() && r.after.is_none(), "{what}: no change");

        let blocked = blocked_of(&server, &rid).await;
        match c.blocked {
            None => assert!(blocked.is_empty(), "{what} is not a block: {blocked:?}"),
            Some(reason) => {
                blocks += 1;
                assert_eq!(blocked.len(), 1, "{what}");
                let b = &blocked[0];
                assert_eq!(b.reason, reason, "{what}");
                // Counted by the route's template; every unknown path under one key.
                let route = if reason == "unknown_route" {
                    "(unknown)".to_owned()
                } else if c.path.starts_with("/v1/api-tokens/") {
                    "/v1/api-tokens/{id}".to_owned()
                } else {
                    c.path.clone()
                };
                assert_eq!(
                    (b.method.as_str(), b.route.as_str()),
                    (c.method, route.as_str()),
                    "{what}"
                );
                assert_eq!(b.status, c.status, "{what}");
                assert_eq!(b.source_ip, "127.0.0.1", "{what}");
                assert_eq!(b.time, server.clock_now(), "{what}");
                match c.actor {
                    Some(id) => assert!(
                        b.identity
                            .as_deref()
                            .is_some_and(|i| i.contains(&id.to_string())),
                        "{what}: {:?}",
                        b.identity
                    ),
                    None => assert_eq!(b.identity, None, "{what}"),
                }
            }
        }
    }
    assert_eq!(
        all_blocked(&server).await.len(),
        blocks,
        "nothing else was blocked"
    );

    // Across the whole trail, every request id appears exactly once, and the
    // sequence has no gap.
    let trail = whole_trail(&server.client()).await;
    let mut seen: HashMap<&str, u32> = HashMap::new();
    for r in &trail {
        *seen.entry(r.request_id.as_str()).or_default() += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    let seqs: Vec<u64> = trail.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=trail.len() as u64).collect::<Vec<_>>());
}

async fn token_changes_carry_before_and_after(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let me = admin_id(&server).await;
    let by_resource = |action: &str, id: ApiTokenId| AuditQuery {
        action: Some(action.into()),
        resource_id: Some(id.to_string()),
        ..AuditQuery::default()
    };

    // `gatehouse init` recorded the first token.
    let init = find(&server, by_resource("api_tokens.create", me)).await;
    assert_eq!(init.len(), 1);
    assert_eq!(init[0].actor.kind, "operator");
    assert_eq!(init[0].after.as_ref().unwrap()["id"], me.to_string());

    let request = CreateApiTokenRequest {
        name: "ci".into(),
        role: Role::Auditor,
        expires_in_seconds: Some(3600),
    };
    let created = admin.create_api_token(&request).await.unwrap();
    let id = created.token.id;
    let records = find(&server, by_resource("api_tokens.create", id)).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!((r.outcome.as_str(), r.status), ("success", Some(201)));
    assert_eq!(r.actor.id, me.to_string());
    assert_eq!(r.resource.kind, "api_token");
    assert_eq!(r.before, None);
    assert_eq!(r.after, Some(serde_json::to_value(&created.token).unwrap()));
    assert!(r.after.as_ref().unwrap().get("secret").is_none());
    let text = serde_json::to_string(r).unwrap();
    assert!(
        !text.contains(&created.secret),
        "the secret is not in the record"
    );
    assert!(!text.contains(&created.secret["gh_".len()..]));

    server.clock.advance(chrono::Duration::seconds(5));
    let revoked = admin.revoke_api_token(id).await.unwrap();
    let records = find(&server, by_resource("api_tokens.revoke", id)).await;
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!((r.outcome.as_str(), r.status), ("success", Some(200)));
    assert_eq!(
        r.before,
        Some(serde_json::to_value(&created.token).unwrap())
    );
    assert_eq!(r.after, Some(serde_json::to_value(&revoked).unwrap()));
    assert_eq!(r.before.as_ref().unwrap()["revoked_at"], Value::Null);
    assert!(r.after.as_ref().unwrap()["revoked_at"].is_string());

    // Revoking again changes nothing, and its record says so: before == after.
    server.clock.advance(chrono::Duration::seconds(5));
    admin.revoke_api_token(id).await.unwrap();
    let records = find(&server, by_resource("api_tokens.revoke", id)).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].before, records[0].after);

    // A refused change is recorded without before/after values.
    let response = server
        .raw()
        .delete(server.url(&format!("/v1/api-tokens/{me}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let r = the_record_of(&server, &request_id(&response)).await;
    assert_eq!((r.outcome.as_str(), r.status), ("rejected", Some(409)));
    assert_eq!((r.before, r.after), (None, None));
    assert!(server.client().verify_audit().await.unwrap().is_intact);
}

/// Database access an attacker (or a broken disk) would have: the SQLite file.
pub async fn sqlite_pool(server: &TestServer) -> sqlx::SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(server.config.data_dir.join("gatehouse.db"))
        .busy_timeout(std::time::Duration::from_secs(10));
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap()
}

/// A change and its record commit together or not at all: when either write
/// fails, neither is kept (the failure itself is still recorded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_and_its_record_commit_together() {
    let server = TestServer::start(Db::Sqlite).await;
    let db = sqlite_pool(&server).await;
    let admin = server.client();
    let (victim, victim_id) = mint(&server, Role::Auditor, "victim").await;
    let tokens_before = admin.list_api_tokens().await.unwrap();
    let successes = |action: &'static str| AuditQuery {
        action: Some(action.into()),
        outcome: Some("success".into()),
        ..AuditQuery::default()
    };
    let created_before = find(&server, successes("api_tokens.create")).await.len();
    let mint_request = || {
        server
            .raw()
            .post(server.url("/v1/api-tokens"))
            .bearer_auth(&server.admin_token)
            .json(&json!({"name": "lost", "role": "auditor"}))
    };
    let injected = [
        // The record cannot be written: the token must not stay.
        "CREATE TRIGGER injected BEFORE INSERT ON audit_records \
         WHEN NEW.action = 'api_tokens.create' AND NEW.outcome = 'success' \
         BEGIN SELECT RAISE(ABORT, 'injected'); END",
        // The token cannot be written: no record may claim it was.
        "CREATE TRIGGER injected BEFORE INSERT ON api_tokens \
         BEGIN SELECT RAISE(ABORT, 'injected'); END",
    ];
    for trigger in injected {
        sqlx::query(trigger).execute(&db).await.unwrap();
        let (status, rid) = send(mint_request()).await;
        assert_eq!(status, 500, "{trigger}");
        sqlx::query("DROP TRIGGER injected")
            .execute(&db)
            .await
            .unwrap();
        let r = the_record_of(&server, &rid).await;
        assert_eq!((r.outcome.as_str(), r.status), ("failed", Some(500)));
        assert_eq!(r.after, None);
        assert_eq!(
            admin.list_api_tokens().await.unwrap(),
            tokens_before,
            "{trigger}"
        );
        assert_eq!(
            find(&server, successes("api_tokens.create")).await.len(),
            created_before
        );
    }

    sqlx::query(
        "CREATE TRIGGER injected BEFORE INSERT ON audit_records \
         WHEN NEW.action = 'api_tokens.revoke' AND NEW.outcome = 'success' \
         BEGIN SELECT RAISE(ABORT, 'injected'); END",
    )
    .execute(&db)
    .await
    .unwrap();
    let e = admin.revoke_api_token(victim_id).await.unwrap_err();
    assert_eq!(e.code(), Some(gatehouse_types::ErrorCode::Internal));
    sqlx::query("DROP TRIGGER injected")
        .execute(&db)
        .await
        .unwrap();
    assert!(
        admin.with_token(&victim).server_info().await.is_ok(),
        "still active"
    );
    assert!(find(&server, successes("api_tokens.revoke"))
        .await
        .is_empty());

    let report = admin.verify_audit().await.unwrap();
    assert!(report.is_intact, "{report:?}");
    db.close().await;
}

/// The testkit's clock, read through the server's `Clock` trait.
trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}

impl ClockNow for TestServer {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        gatehouse_server::clock::Clock::now(self.clock.as_ref())
    }
}

on_both_databases!(
    every_request_is_recorded_exactly_once,
    token_changes_carry_before_and_after,
);
