//! AU-5 and AU-9: filtered, keyset-paginated search, and every read of the trail
//! is itself in the trail, with its filters.

use chrono::{DateTime, Duration, Utc};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::AuditQuery;
use gatehouse_types::{AuditRecord, ErrorCode, Role};
use serde_json::{json, Value};

use super::{blocked_of, event, find, ingest, mint, send, the_record_of, ClockNow};
use crate::assert_error;

fn seqs(records: &[AuditRecord]) -> Vec<u64> {
    records.iter().map(|r| r.seq).collect()
}

/// Three events an hour apart, each in its own batch.
struct Fixture {
    server: TestServer,
    service: String,
    service_id: String,
    t0: DateTime<Utc>,
    /// The three events, oldest first.
    events: Vec<AuditRecord>,
}

async fn fixture(db: Db) -> Fixture {
    let server = TestServer::start(db).await;
    let t0 = server.clock_now();
    let (service, service_id) = mint(&server, Role::Service, "orders").await;
    let specs = [
        (
            "a1",
            "order.create",
            "success",
            "o-1",
            "10.0.0.1",
            json!({"note": "Needle-Alpha"}),
        ),
        (
            "a2",
            "order.delete",
            "denied",
            "o-2",
            "10.0.0.2",
            json!({"note": "beta"}),
        ),
        (
            "a3",
            "order.create",
            "failed",
            "o-3",
            "10.0.0.1",
            json!({"note": "gamma"}),
        ),
    ];
    for (id, action, outcome, resource, ip, details) in specs {
        server.clock.advance(Duration::hours(1));
        let mut e = event(id, action);
        e["outcome"] = json!(outcome);
        e["resource"]["id"] = json!(resource);
        e["source_ip"] = json!(ip);
        e["details"] = details;
        assert_eq!(ingest(&server, &service, vec![e]).await.accepted, 1);
    }
    let service_id = service_id.to_string();
    let mut events = find(
        &server,
        AuditQuery {
            actor: Some(service_id.clone()),
            resource_type: Some("order".into()),
            ..AuditQuery::default()
        },
    )
    .await;
    events.reverse();
    assert_eq!(events.len(), 3);
    Fixture {
        server,
        service,
        service_id,
        t0,
        events,
    }
}

async fn filters_find_exactly_what_they_name(db: Db) {
    let Fixture {
        server,
        service_id,
        t0,
        events,
        ..
    } = fixture(db).await;
    let (a1, a2, a3) = (events[0].seq, events[1].seq, events[2].seq);
    let by_actor = |f: AuditQuery| AuditQuery {
        actor: Some(service_id.clone()),
        ..f
    };
    let none = AuditQuery::default;
    let at = |hours: i64, minutes: i64| t0 + Duration::hours(hours) + Duration::minutes(minutes);

    let all = find(&server, by_actor(none())).await;
    assert_eq!(
        all.len(),
        6,
        "three events and the three batches' own records"
    );
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    let ingest_b = all
        .iter()
        .find(|r| r.action == "audit.ingest" && r.request_id == events[1].request_id)
        .unwrap();

    let cases: Vec<(&str, AuditQuery, Vec<u64>)> = vec![
        (
            "action",
            by_actor(AuditQuery {
                action: Some("order.create".into()),
                ..none()
            }),
            vec![a3, a1],
        ),
        (
            "outcome",
            by_actor(AuditQuery {
                outcome: Some("denied".into()),
                ..none()
            }),
            vec![a2],
        ),
        (
            "source",
            AuditQuery {
                source: Some("10.0.0.1".into()),
                ..none()
            },
            vec![a3, a1],
        ),
        (
            "resource",
            AuditQuery {
                resource_type: Some("order".into()),
                resource_id: Some("o-2".into()),
                ..none()
            },
            vec![a2],
        ),
        (
            "request id",
            AuditQuery {
                request_id: Some(events[1].request_id.clone()),
                ..none()
            },
            vec![ingest_b.seq, a2],
        ),
        (
            "free text, any case",
            by_actor(AuditQuery {
                q: Some("needle-ALPHA".into()),
                ..none()
            }),
            vec![a1],
        ),
        // LIKE wildcards in the text are literal characters.
        (
            "wildcard _",
            AuditQuery {
                q: Some("o-_".into()),
                ..none()
            },
            vec![],
        ),
        (
            "wildcard %",
            AuditQuery {
                q: Some("needle%alpha".into()),
                ..none()
            },
            vec![],
        ),
        (
            "time range",
            AuditQuery {
                from: Some(at(1, 30).to_rfc3339()),
                to: Some(at(2, 30).to_rfc3339()),
                ..none()
            },
            vec![ingest_b.seq, a2],
        ),
        (
            "from inclusive, to exclusive",
            AuditQuery {
                from: Some(at(2, 0).to_rfc3339()),
                to: Some(at(3, 0).to_rfc3339()),
                ..none()
            },
            vec![ingest_b.seq, a2],
        ),
        (
            "future",
            AuditQuery {
                from: Some(at(100, 0).to_rfc3339()),
                ..none()
            },
            vec![],
        ),
        (
            "unknown actor",
            AuditQuery {
                actor: Some("nobody".into()),
                ..none()
            },
            vec![],
        ),
    ];
    for (what, filters, expected) in cases {
        assert_eq!(seqs(&find(&server, filters).await), expected, "{what}");
    }
    let early = find(
        &server,
        AuditQuery {
            to: Some(at(1, 0).to_rfc3339()),
            ..none()
        },
    )
    .await;
    assert!(!early.is_empty() && early.iter().all(|r| r.time < at(1, 0)));
    let late = find(
        &server,
        AuditQuery {
            from: Some(at(3, 0).to_rfc3339()),
            ..none()
        },
    )
    .await;
    assert!(late.iter().all(|r| r.time >= at(3, 0)) && late.iter().any(|r| r.seq == a3));
}

async fn pages_walk_everything_once(db: Db) {
    let Fixture {
        server, service_id, ..
    } = fixture(db).await;
    let admin = server.client();
    let walk = |filters: AuditQuery| {
        let admin = admin.clone();
        async move {
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let search = AuditQuery {
                    limit: Some(2),
                    cursor,
                    ..filters.clone()
                };
                let page = admin.search_audit(&search).await.unwrap();
                assert!(page.items.len() <= 2);
                all.extend(page.items);
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break all,
                }
            }
        }
    };
    let everything = walk(AuditQuery::default()).await;
    let top = everything[0].seq;
    assert_eq!(
        seqs(&everything),
        (1..=top).rev().collect::<Vec<_>>(),
        "every record once, in order"
    );
    let actor = AuditQuery {
        actor: Some(service_id),
        ..AuditQuery::default()
    };
    let walked = walk(actor.clone()).await;
    assert_eq!(walked.len(), 6);
    assert_eq!(seqs(&walked), seqs(&find(&server, actor).await));
}

async fn bad_filters_are_named(db: Db) {
    let server = TestServer::start(db).await;
    let cases = [
        ("nope=1", "nope"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=-1", "cursor"),
        ("outcome=maybe", "outcome"),
        ("blocked=boredom", "blocked"),
        ("blocked=", "blocked"),
        ("actor=", "actor"),
        ("format=csv", "format"),
    ];
    let long_q = format!("q={}", "q".repeat(257));
    for (query, name) in cases.iter().copied().chain([(long_q.as_str(), "q")]) {
        let response = server
            .raw()
            .get(server.url(&format!("/v1/audit/events?{query}")))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        let rid = super::request_id(&response);
        let error = assert_error(response, 400, ErrorCode::InvalidParameter).await;
        assert!(error.message.contains(name), "{query}: {}", error.message);
        let r = the_record_of(&server, &rid).await;
        assert_eq!(
            (r.action.as_str(), r.outcome.as_str()),
            ("audit.search", "rejected")
        );
        assert_eq!(blocked_of(&server, &rid).await[0].reason, "bad_input");
    }
}

async fn reading_the_trail_is_recorded_with_its_filters(db: Db) {
    let Fixture {
        server, service, ..
    } = fixture(db).await;
    let raw = server.raw();
    let get = |path: &str| raw.get(server.url(path)).bearer_auth(&server.admin_token);
    let query_of = |r: &AuditRecord| r.details.as_ref().unwrap()["query"].clone();

    let (status, rid) = send(get(
        "/v1/audit/events?actor=svc-1&action=order.create&q=zzz&limit=5",
    ))
    .await;
    assert_eq!(status, 200);
    let r = the_record_of(&server, &rid).await;
    assert_eq!(
        (r.action.as_str(), r.outcome.as_str()),
        ("audit.search", "success")
    );
    assert_eq!(
        query_of(&r),
        json!({"actor": "svc-1", "action": "order.create", "q": "zzz", "limit": "5"})
    );

    let (status, rid) = send(get(
        "/v1/audit/export?format=csv&action=order.create&from=2026-01-01T00:00:00Z",
    ))
    .await;
    assert_eq!(status, 200);
    let r = the_record_of(&server, &rid).await;
    assert_eq!(r.action, "audit.export");
    assert_eq!(
        query_of(&r),
        json!({"format": "csv", "action": "order.create", "from": "2026-01-01T00:00:00Z"})
    );

    for (path, action) in [
        ("/v1/audit/verify", "audit.verify"),
        ("/v1/blocked?reason=authentication", "blocked.list"),
        ("/v1/blocked/summary?top=3", "blocked.summary"),
    ] {
        let (status, rid) = send(get(path)).await;
        assert_eq!(status, 200, "{path}");
        let r = the_record_of(&server, &rid).await;
        assert_eq!(r.action, action);
        assert_eq!(
            r.details.as_ref().unwrap()["path"],
            path.split('?').next().unwrap()
        );
        if path.contains('?') {
            assert!(query_of(&r).is_object(), "{path}: {r:?}");
        } else {
            assert_eq!(query_of(&r), Value::Null);
        }
    }

    // A refused read is recorded too, with what it asked for.
    let (status, rid) = send(
        raw.get(server.url("/v1/audit/events?actor=someone"))
            .bearer_auth(&service),
    )
    .await;
    assert_eq!(status, 403);
    let r = the_record_of(&server, &rid).await;
    assert_eq!(
        (r.action.as_str(), r.outcome.as_str()),
        ("audit.search", "denied")
    );
    assert_eq!(query_of(&r), json!({"actor": "someone"}));
}

/// A clock stepped back (by NTP, or by someone on the host) cannot put a record
/// before an older one, or hide it from a time range.
async fn record_time_never_goes_backwards(db: Db) {
    let server = TestServer::start(db).await;
    let t0 = server.clock_now();
    let get = || {
        server
            .raw()
            .get(server.url("/v1/server"))
            .bearer_auth(&server.admin_token)
    };
    server.clock.advance(Duration::hours(1));
    let (_, first) = send(get()).await;
    server.clock.advance(Duration::hours(-2));
    let (_, second) = send(get()).await;
    let (a, b) = (
        the_record_of(&server, &first).await,
        the_record_of(&server, &second).await,
    );
    assert!(b.seq > a.seq);
    assert_eq!(
        (a.time, b.time),
        (t0 + Duration::hours(1), t0 + Duration::hours(1))
    );
    let since = find(
        &server,
        AuditQuery {
            from: Some((t0 + Duration::hours(1)).to_rfc3339()),
            ..AuditQuery::default()
        },
    )
    .await;
    assert!(since.iter().any(|r| r.seq == b.seq));
    let trail = super::whole_trail(&server.client()).await;
    assert!(trail.windows(2).all(|w| w[0].time <= w[1].time));
}

on_both_databases!(
    record_time_never_goes_backwards,
    filters_find_exactly_what_they_name,
    pages_walk_everything_once,
    bad_filters_are_named,
    reading_the_trail_is_recorded_with_its_filters,
);
