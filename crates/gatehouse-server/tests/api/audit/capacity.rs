//! Readers cannot starve the writer (OP-4): appends have connections of their
//! own, reads a time limit, heavy routes a bounded number of turns, and policy
//! drafts are parsed off the async workers.

use std::time::Duration;

use gatehouse_audit::Record;
use gatehouse_server::clock::Clock;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{CreateApiTokenRequest, ErrorCode, Role};
use serde_json::json;
use tokio::time::{timeout, Instant};

use super::{event, mint};
use crate::assert_error;

/// Appends `n` records of about 1 KB each straight through the store: a trail
/// on which a free-text search has to read every row, and takes a while.
async fn seed(server: &TestServer, n: usize) {
    let sealer = gatehouse_server::audit::load_or_create_sealer(&server.config).unwrap();
    let now = server.clock.now().timestamp_micros();
    let mut start = 0;
    while start < n {
        let end = (start + 5_000).min(n);
        let records: Vec<Record> = (start..end)
            .map(|i| Record {
                time_us: now,
                actor_kind: "service".into(),
                actor_id: format!("seed-{i}"),
                actor_name: "seed".into(),
                action: "load.seed".into(),
                resource_type: "order".into(),
                resource_id: format!("o-{i}"),
                outcome: "success".into(),
                source_ip: "10.0.0.1".into(),
                request_id: format!("seed-{i}"),
                details: Some(json!({ "note": format!("{i:08x}").repeat(120) }).to_string()),
                ..Record::default()
            })
            .collect();
        server
            .store
            .audit()
            .append(&records, &[], &sealer)
            .await
            .unwrap();
        start = end;
    }
}

fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

/// 32 auditors' searches that each read the whole trail used to take every
/// connection of the one pool, and the audit writer waited behind them: every
/// request waits for its record, so `/healthz` and every write stalled.
// proves: OP-4
async fn slow_searches_leave_health_and_writes_answering(db: Db) {
    let server = TestServer::start(db).await;
    seed(&server, 150_000).await;
    let (auditor, _) = mint(&server, Role::Auditor, "reader").await;
    let (service, _) = mint(&server, Role::Service, "writer").await;
    let searches: Vec<_> = (0..32)
        .map(|i| {
            let request = server
                .raw()
                .get(server.url(&format!("/v1/audit/events?q=no-such-text-{i}&limit=10")))
                .bearer_auth(&auditor);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                (response.status().as_u16(), retry_after(&response))
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bound = Duration::from_secs(4);
    for round in 0..3 {
        let health = timeout(bound, server.raw().get(server.url("/healthz")).send())
            .await
            .unwrap_or_else(|_| panic!("round {round}: /healthz answers within {bound:?}"))
            .unwrap();
        assert_eq!(health.status(), 200, "round {round}");
        let request = CreateApiTokenRequest {
            name: format!("minted during the searches {round}"),
            role: Role::Auditor,
            expires_in_seconds: None,
        };
        timeout(bound, server.client().create_api_token(&request))
            .await
            .unwrap_or_else(|_| panic!("round {round}: a token is minted within {bound:?}"))
            .unwrap();
        let events = vec![event(&format!("during-{round}"), "load.check")];
        let ingested = timeout(
            bound,
            server
                .client()
                .with_token(&service)
                .ingest_audit_events(&gatehouse_types::IngestRequest { events }),
        )
        .await
        .unwrap_or_else(|_| panic!("round {round}: an event is ingested within {bound:?}"))
        .unwrap();
        assert_eq!(ingested.accepted, 1);
    }
    let mut served = 0;
    for search in searches {
        let (status, retry) = timeout(Duration::from_secs(120), search)
            .await
            .expect("every search is answered")
            .unwrap();
        match status {
            200 => served += 1,
            // Turned away while the route was full (with Retry-After), or
            // cancelled past the read timeout.
            503 => {}
            other => panic!("search answered {other} (Retry-After {retry:?})"),
        }
    }
    assert!(
        served >= 1,
        "the searches themselves are served, a few at a time"
    );
}

/// A read runs at most `capacity.read_timeout_ms`, then the database cancels
/// it and the request is answered 503 in the one error shape.
// proves: OP-4
async fn a_read_past_its_time_limit_is_cancelled(db: Db) {
    let server = TestServer::start_with(db, |c| c.capacity.read_timeout_ms = 100).await;
    seed(&server, 100_000).await;
    let slow = server
        .raw()
        .get(server.url("/v1/audit/events?q=no-such-text"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    let error = assert_error(slow, 503, ErrorCode::Unavailable).await;
    assert!(error.message.contains("took too long"), "{}", error.message);
    // What an index answers still is.
    let quick = server
        .raw()
        .get(server.url("/v1/audit/events?actor=seed-7"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(quick.status(), 200);
}

/// A heavy route serves `capacity.concurrency.<route>` requests at once; the
/// next waits `capacity.queue_wait_ms` for a turn, then gets 503 with
/// Retry-After. An export keeps its turn until its body is finished.
// proves: OP-4
async fn heavy_routes_take_turns(db: Db) {
    let server = TestServer::start_with(db, |c| {
        c.capacity.concurrency.audit_export = 1;
        c.capacity.queue_wait_ms = 200;
    })
    .await;
    // Far more than the connection's flow-control windows hold: an unread
    // export stays in flight.
    seed(&server, 20_000).await;
    let export = || {
        server
            .raw()
            .get(server.url("/v1/audit/export"))
            .bearer_auth(&server.admin_token)
            .send()
    };
    let held = export().await.unwrap();
    assert_eq!(held.status(), 200);
    let busy = export().await.unwrap();
    assert_eq!(retry_after(&busy), Some(1));
    let error = assert_error(busy, 503, ErrorCode::Unavailable).await;
    assert!(error.message.contains("retry"), "{}", error.message);
    // Other routes are not held up by it.
    assert_eq!(
        server
            .raw()
            .get(server.url("/v1/audit/events?limit=1"))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let next = export().await.unwrap();
        if next.status() == 200 {
            break;
        }
        assert_eq!(next.status(), 503);
        assert!(Instant::now() < deadline, "the turn was never given back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A policy draft near the body limit takes a while to parse and validate; done
/// on the async workers, a few at once stopped the server answering anything.
// proves: OP-4
async fn large_drafts_are_parsed_off_the_async_workers(db: Db) {
    let server = TestServer::start(db).await;
    let draft: String = (0..4_000)
        .map(|i| {
            format!(
                "@id(\"p{i}\")\npermit (principal in Role::\"r{i}\", action == Action::\"audit.search\", resource)\n\
                 when {{ context.source_ip.isInRange(ip(\"10.{}.{}.0/24\")) }};\n",
                i / 256,
                i % 256
            )
        })
        .collect();
    let validations: Vec<_> = (0..4)
        .map(|_| {
            let request = server
                .raw()
                .post(server.url("/v1/policies/validate"))
                .bearer_auth(&server.admin_token)
                .json(&json!({ "text": draft }));
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for round in 0..3 {
        let started = Instant::now();
        let health = timeout(
            Duration::from_secs(2),
            server.raw().get(server.url("/healthz")).send(),
        )
        .await
        .unwrap_or_else(|_| panic!("round {round}: /healthz answers within 2 s"))
        .unwrap();
        assert_eq!(health.status(), 200);
        tokio::time::sleep(Duration::from_millis(200).saturating_sub(started.elapsed())).await;
    }
    for v in validations {
        assert_eq!(v.await.unwrap(), 200);
    }
}

on_both_databases!(
    slow_searches_leave_health_and_writes_answering,
    a_read_past_its_time_limit_is_cancelled,
    heavy_routes_take_turns,
);

mod large_drafts_are_parsed_off_the_async_workers {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::large_drafts_are_parsed_off_the_async_workers(gatehouse_testkit::Db::Sqlite).await
    }
}
