//! GW-6: the requests the pipeline refused, listed and summarised, for
//! administrators and auditors only.

use chrono::Duration;
use gatehouse_client::{BlockedFilters, BlockedSummaryQuery};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{BlockedRequest, CountBy, ErrorCode, Role};
use serde_json::json;

use super::{admin_id, all_blocked, mint, send, ClockNow};
use crate::assert_error;

fn counts(pairs: &[(&str, u64)]) -> Vec<CountBy> {
    pairs
        .iter()
        .map(|(key, count)| CountBy {
            key: (*key).to_owned(),
            count: *count,
        })
        .collect()
}

async fn blocked_requests_are_listed_and_summarised(db: Db) {
    let server = TestServer::start(db).await;
    let t0 = server.clock_now();
    let admin = server.client();
    let me = admin_id(&server).await;
    let (auditor, auditor_id) = mint(&server, Role::Auditor, "auditor").await;
    let raw = server.raw();
    let info = server.url("/v1/server");
    let tokens = server.url("/v1/api-tokens");
    for _ in 0..3 {
        assert_eq!(send(raw.get(&info)).await.0, 401);
    }
    for _ in 0..2 {
        let mint = raw
            .post(&tokens)
            .bearer_auth(&auditor)
            .json(&json!({"name": "x", "role": "auditor"}));
        assert_eq!(send(mint).await.0, 403);
    }
    assert_eq!(send(raw.get(server.url("/v1/nothing"))).await.0, 404);
    let broken = raw
        .post(&tokens)
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body("{");
    assert_eq!(send(broken).await.0, 400);

    let auditor_identity = format!("auditor ({auditor_id})");
    let admin_identity = format!("initial administrator ({me})");
    let summary = admin
        .blocked_summary(&BlockedSummaryQuery::default())
        .await
        .unwrap();
    assert_eq!(summary.total, 7);
    assert_eq!(
        summary.by_reason,
        counts(&[
            ("authentication", 3),
            ("authorization", 2),
            ("bad_input", 1),
            ("unknown_route", 1)
        ])
    );
    assert_eq!(summary.top_sources, counts(&[("127.0.0.1", 7)]));
    assert_eq!(
        summary.top_identities,
        counts(&[(&auditor_identity, 2), (&admin_identity, 1)])
    );
    assert_eq!(
        summary.top_routes,
        counts(&[("/v1/api-tokens", 3), ("/v1/server", 3), ("(unknown)", 1)])
    );
    // The last 24 hours in buckets of half an hour by default; all in one bucket.
    assert_eq!(summary.to - summary.from, Duration::hours(24));
    assert!(summary.from < t0 && t0 < summary.to);
    assert_eq!(summary.bucket_seconds, 1800);
    assert_eq!(summary.buckets.len(), 4);
    let start = summary.buckets[0].start;
    assert!(start <= t0 && t0 < start + Duration::seconds(1800));
    for (bucket, by_reason) in summary.buckets.iter().zip(&summary.by_reason) {
        assert_eq!(bucket.start, start);
        assert_eq!(
            (&bucket.reason, bucket.count),
            (&by_reason.key, by_reason.count)
        );
    }

    // Two hours later, another refusal, in its own bucket.
    server.clock.advance(Duration::hours(2));
    assert_eq!(send(raw.get(&info)).await.0, 401);
    let query = BlockedSummaryQuery {
        from: Some(t0),
        to: Some(t0 + Duration::hours(3)),
        bucket_seconds: Some(3600),
        top: Some(1),
    };
    let summary = admin.blocked_summary(&query).await.unwrap();
    assert_eq!(summary.total, 8);
    let buckets: Vec<_> = summary
        .buckets
        .iter()
        .map(|b| ((b.start - t0).num_hours(), b.reason.as_str(), b.count))
        .collect();
    assert_eq!(
        buckets,
        [
            (0, "authentication", 3),
            (0, "authorization", 2),
            (0, "bad_input", 1),
            (0, "unknown_route", 1),
            (2, "authentication", 1),
        ]
    );
    assert_eq!(summary.by_reason.len(), 4, "every reason, whatever `top`");
    assert_eq!(summary.top_sources, counts(&[("127.0.0.1", 8)]));
    assert_eq!(summary.top_identities, counts(&[(&auditor_identity, 2)]));
    assert_eq!(summary.top_routes, counts(&[("/v1/server", 4)]));
    // The same summary as CSV (CO-8): one row per count, formula-like keys
    // neutralised like every other export.
    let csv = raw
        .get(server.url("/v1/blocked/summary?format=csv"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert_eq!(
        csv.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "breakdown,key,bucket_start,count");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("over_time,")).count(),
        summary.buckets.len()
    );
    assert!(lines.contains(&"reason,authentication,,4"), "{csv}");
    assert!(lines.contains(&"source,127.0.0.1,,8"), "{csv}");
    assert!(lines.contains(&"route,/v1/server,,4"), "{csv}");
    let same = admin
        .blocked_summary(&BlockedSummaryQuery::default())
        .await
        .unwrap();
    assert_eq!(
        lines.len(),
        1 + same.buckets.len()
            + same.by_reason.len()
            + same.top_sources.len()
            + same.top_identities.len()
            + same.top_routes.len()
    );
    let before = BlockedSummaryQuery {
        from: Some(t0 - Duration::hours(2)),
        to: Some(t0),
        ..BlockedSummaryQuery::default()
    };
    let empty = admin.blocked_summary(&before).await.unwrap();
    assert_eq!(
        (empty.total, empty.buckets.len(), empty.top_sources.len()),
        (0, 0, 0)
    );

    // The list, filtered.
    let list = |f: BlockedFilters| {
        let admin = admin.clone();
        async move {
            admin
                .list_blocked(&BlockedFilters {
                    limit: Some(1000),
                    ..f
                })
                .await
                .unwrap()
                .items
        }
    };
    let by_reason = list(BlockedFilters {
        reason: Some("authorization".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_reason.len(), 2);
    for b in &by_reason {
        assert_eq!(b.identity.as_deref(), Some(auditor_identity.as_str()));
        assert_eq!(
            (b.method.as_str(), b.route.as_str(), b.status),
            ("POST", "/v1/api-tokens", 403)
        );
    }
    let len = |items: Vec<BlockedRequest>| items.len();
    assert_eq!(
        len(list(BlockedFilters {
            route: Some("(unknown)".into()),
            ..Default::default()
        })
        .await),
        1
    );
    assert_eq!(
        len(list(BlockedFilters {
            source: Some("127.0.0.1".into()),
            ..Default::default()
        })
        .await),
        8
    );
    assert_eq!(
        len(list(BlockedFilters {
            source: Some("10.9.9.9".into()),
            ..Default::default()
        })
        .await),
        0
    );
    assert_eq!(
        len(list(BlockedFilters {
            identity: Some(admin_identity),
            ..Default::default()
        })
        .await),
        1
    );
    let later = list(BlockedFilters {
        from: Some(t0 + Duration::hours(1)),
        ..Default::default()
    })
    .await;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].time, t0 + Duration::hours(2));

    // Keyset pages walk every entry once, newest first.
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let f = BlockedFilters {
            limit: Some(3),
            cursor,
            ..Default::default()
        };
        let page = admin.list_blocked(&f).await.unwrap();
        ids.extend(page.items.iter().map(|b| b.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let all: Vec<i64> = all_blocked(&server).await.iter().map(|b| b.id).collect();
    assert_eq!(ids, all);
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(ids.len(), 8);

    // Administrators and auditors read it; nobody else.
    let as_auditor = admin.with_token(&auditor);
    assert_eq!(
        as_auditor
            .list_blocked(&BlockedFilters::default())
            .await
            .unwrap()
            .items
            .len(),
        8
    );
    assert!(as_auditor
        .blocked_summary(&BlockedSummaryQuery::default())
        .await
        .is_ok());
    let (service, _) = mint(&server, Role::Service, "svc").await;
    let e = admin
        .with_token(&service)
        .list_blocked(&BlockedFilters::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let e = server
        .anonymous()
        .blocked_summary(&BlockedSummaryQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unauthenticated));
}

async fn bad_blocked_queries_are_refused(db: Db) {
    let server = TestServer::start(db).await;
    let cases = [
        (
            "/v1/blocked/summary?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        (
            "/v1/blocked/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        (
            "/v1/blocked/summary?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "366 days",
        ),
        ("/v1/blocked/summary?bucket_seconds=0", "bucket_seconds"),
        ("/v1/blocked/summary?bucket_seconds=-5", "bucket_seconds"),
        (
            "/v1/blocked/summary?bucket_seconds=18446744073709551615",
            "bucket_seconds",
        ),
        (
            "/v1/blocked/summary?bucket_seconds=9223372036855",
            "bucket_seconds",
        ),
        ("/v1/blocked/summary?bucket_seconds=1", "bucket_seconds"),
        ("/v1/blocked/summary?top=0", "top"),
        ("/v1/blocked/summary?format=xlsx", "format"),
        ("/v1/blocked/summary?top=101", "top"),
        ("/v1/blocked/summary?from=monday", "from"),
        ("/v1/blocked/summary?reason=authentication", "reason"),
        ("/v1/blocked?reason=boredom", "reason"),
        ("/v1/blocked?limit=0", "limit"),
        ("/v1/blocked?limit=1001", "limit"),
        ("/v1/blocked?cursor=abc", "cursor"),
        ("/v1/blocked?cursor=-5", "cursor"),
        ("/v1/blocked?cursor=18446744073709551615", "cursor"),
        ("/v1/blocked?to=tomorrow", "to"),
        (
            "/v1/blocked?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        (
            "/v1/blocked?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "from",
        ),
        ("/v1/blocked?request_id=x", "request_id"),
    ];
    for (path, name) in cases {
        let response = server
            .raw()
            .get(server.url(path))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error = assert_error(response, 400, ErrorCode::InvalidParameter).await;
        assert!(error.message.contains(name), "{path}: {}", error.message);
    }
    // The largest bucket that fits is fine: everything in one.
    let huge = BlockedSummaryQuery {
        bucket_seconds: Some(9_223_372_036_854),
        ..BlockedSummaryQuery::default()
    };
    let summary = server.client().blocked_summary(&huge).await.unwrap();
    assert!(summary.total > 0);
    assert!(
        summary.buckets.iter().all(|b| b.start == summary.from),
        "{summary:?}"
    );
}

on_both_databases!(
    blocked_requests_are_listed_and_summarised,
    bad_blocked_queries_are_refused,
);
