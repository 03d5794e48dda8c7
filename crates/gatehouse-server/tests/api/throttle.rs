//! Anonymous traffic cannot grow the database without bound (OP-4): requests
//! without a valid credential are limited per source, answered 429 with
//! `Retry-After` past the limit, and recorded once per window.

use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;

use crate::assert_error;
use crate::audit::all_blocked;

const LIMIT: u32 = 50;

async fn records(server: &TestServer) -> u64 {
    // Each verification is itself a record: count what was there before it.
    server.client().verify_audit().await.unwrap().records
}

/// Sends `n` requests to random unknown paths, 32 at a time; their statuses. A
/// new connection every 500 requests: HTTP/2 closes a connection on which the
/// server has reset more than 1,024 streams (an answer before the client's end
/// of stream is such a reset), which guards it against reset floods.
async fn flood(server: &TestServer, n: usize, token: Option<&str>) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let batch = left.min(500);
        left -= batch;
        let raw = Arc::new(server.raw());
        let answered: Vec<u16> = stream::iter(0..batch)
            .map(|_| {
                let raw = raw.clone();
                let mut request = raw.get(server.url(&format!("/{}", uuid::Uuid::new_v4())));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                async move { request.send().await.unwrap().status().as_u16() }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        statuses.extend(answered);
    }
    statuses
}

// proves: OP-4
async fn random_unknown_paths_add_a_bounded_number_of_rows(db: Db) {
    let server = TestServer::start_with(db, |c| {
        c.anonymous.requests_per_window = LIMIT;
        c.anonymous.window_seconds = 60;
    })
    .await;
    let before = records(&server).await;
    let blocked_before = all_blocked(&server).await.len();

    let statuses = flood(&server, 10_000, None).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        LIMIT as usize
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        10_000 - LIMIT as usize
    );
    // The limit's requests and one refusal: not 10,000 rows (the blocked
    // listing's and the verification's own records are the other two).
    let added = records(&server).await - before;
    assert_eq!(added, u64::from(LIMIT) + 1 + 2, "{added} records added");
    let blocked = all_blocked(&server).await;
    assert_eq!(blocked.len() - blocked_before, LIMIT as usize + 1);
    // Every unknown path is counted under one route key.
    assert!(blocked
        .iter()
        .filter(|b| b.reason == "unknown_route")
        .all(|b| b.route == "(unknown)"));
    assert_eq!(
        blocked.iter().filter(|b| b.reason == "rate_limit").count(),
        1
    );

    // The refusal is in the one error shape with Retry-After.
    let response = server
        .raw()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["retry-after"].to_str().unwrap(),
        "60",
        "the manual clock has not moved"
    );
    assert_error(response, 429, ErrorCode::RateLimited).await;

    // A valid token from the same source is neither counted nor refused.
    let admin = server.client();
    assert!(admin.server_info().await.is_ok());
    // A failed one is: refused, unrecorded.
    let bad = flood(
        &server,
        20,
        Some("gh_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    )
    .await;
    assert!(bad.iter().all(|s| *s == 429), "{bad:?}");

    // The next window lets the limit through again; its first refusal is
    // recorded with how many went unrecorded before it.
    server.clock.advance(chrono::Duration::seconds(61));
    let before = records(&server).await;
    let statuses = flood(&server, LIMIT as usize + 10, None).await;
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10);
    assert_eq!(records(&server).await - before, u64::from(LIMIT) + 2);
    let limited = all_blocked(&server)
        .await
        .into_iter()
        .filter(|b| b.reason == "rate_limit")
        .count();
    assert_eq!(limited, 2);
    let page = admin
        .search_audit(&crate::audit::page(gatehouse_types::AuditQuery {
            outcome: Some("rejected".into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    let throttled: Vec<_> = page
        .items
        .iter()
        .filter(|r| r.status == Some(429))
        .collect();
    assert_eq!(throttled.len(), 2);
    let unrecorded = throttled[0].details.as_ref().unwrap()["throttle"]
        ["refused_unrecorded_before"]
        .as_u64()
        .unwrap();
    // 10,000 - 50 refused in the first window, one recorded; the 20 bad tokens
    // and the health check too.
    assert_eq!(unrecorded, 10_000 - u64::from(LIMIT) - 1 + 20 + 1);
    assert!(admin.verify_audit().await.unwrap().is_intact);
}

on_both_databases!(random_unknown_paths_add_a_bounded_number_of_rows);
