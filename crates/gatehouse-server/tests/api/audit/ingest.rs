//! AU-3, AU-7: services report events in batches; each event is judged on its
//! own, ids make resending safe, and only committed events are acknowledged.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::AuditQuery;
use gatehouse_types::{ErrorCode, IngestStatus, Role, MAX_INGEST_BATCH};
use serde_json::{json, Value};

use super::{event, find, ingest, mint, records_of, send, the_record_of};
use crate::assert_error;

async fn a_batch_is_judged_event_by_event(db: Db) {
    let server = TestServer::start(db).await;
    let (service, service_id) = mint(&server, Role::Service, "orders").await;
    let with = |mut e: Value, f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        f(e.as_object_mut().unwrap());
        e
    };
    let events = vec![
        event("e1", "order.create"),
        with(event("e-missing", "x"), &|e| {
            e.remove("action");
        }),
        with(event("e-type", "x"), &|e| {
            e.insert("action".into(), json!(5));
        }),
        with(event("e-outcome", "x"), &|e| {
            e.insert("outcome".into(), json!("maybe"));
        }),
        event("e-chars", "order create!"),
        with(event("e-big", "x"), &|e| {
            e.insert("details".into(), json!({"blob": "x".repeat(16 * 1024 + 1)}));
        }),
        with(event("e-ip", "x"), &|e| {
            e.insert("source_ip".into(), json!("999.0.0.1"));
        }),
        with(event("e2", "order.ship"), &|e| {
            e.insert("source_ip".into(), json!("10.0.0.7"));
            e.insert("on_behalf_of".into(), json!("alice"));
            e.insert("occurred_at".into(), json!("2025-12-31T23:59:00Z"));
            e.insert("details".into(), json!({"carrier": "ups"}));
        }),
        with(event("e-unknown", "x"), &|e| {
            e.insert("is_admin".into(), json!(true));
        }),
        json!(42),
        with(event("e-resource", "x"), &|e| {
            e.insert("resource".into(), json!({"id": "o-1"}));
        }),
        event("", "x"),
        event(&"i".repeat(129), "x"),
        with(event("e-when", "x"), &|e| {
            e.insert("occurred_at".into(), json!("yesterday"));
        }),
        with(event("e-behalf", "x"), &|e| {
            e.insert("on_behalf_of".into(), json!("a\u{7}b"));
        }),
        // The same id again in the same batch: one record.
        event("e1", "order.create"),
        // A service cannot speak for someone else or pick its place in the chain.
        with(event("e-actor", "x"), &|e| {
            e.insert("actor".into(), json!({"kind": "user", "id": "root"}));
        }),
        with(event("e-seq", "x"), &|e| {
            e.insert("seq".into(), json!(1));
        }),
    ];
    let rejected: Vec<(usize, ErrorCode, &str)> = vec![
        (1, ErrorCode::InvalidBody, "action"),
        (2, ErrorCode::InvalidBody, "action"),
        (3, ErrorCode::ValidationFailed, "outcome"),
        (4, ErrorCode::ValidationFailed, "action"),
        (5, ErrorCode::ValidationFailed, "details"),
        (6, ErrorCode::ValidationFailed, "source_ip"),
        (8, ErrorCode::InvalidBody, "is_admin"),
        (9, ErrorCode::InvalidBody, "event"),
        (10, ErrorCode::InvalidBody, "type"),
        (11, ErrorCode::ValidationFailed, "event_id"),
        (12, ErrorCode::ValidationFailed, "event_id"),
        (13, ErrorCode::InvalidBody, "occurred_at"),
        (14, ErrorCode::ValidationFailed, "on_behalf_of"),
        (16, ErrorCode::InvalidBody, "actor"),
        (17, ErrorCode::InvalidBody, "seq"),
    ];
    let n = events.len();
    let answer = ingest(&server, &service, events).await;
    assert_eq!(answer.results.len(), n);
    assert_eq!((answer.accepted, answer.duplicates), (2, 1), "{answer:#?}");
    assert_eq!(answer.rejected, rejected.len() as u64);
    for (i, r) in answer.results.iter().enumerate() {
        assert_eq!(r.index, i as u64);
    }
    for (i, code, field) in rejected {
        let r = &answer.results[i];
        assert_eq!(r.status, IngestStatus::Rejected, "event {i}: {r:?}");
        assert_eq!(r.seq, None);
        let error = r.error.as_ref().unwrap();
        assert_eq!(error.code, code, "event {i}: {error:?}");
        assert!(
            error.message.contains(field),
            "event {i} names `{field}`: {}",
            error.message
        );
    }
    assert_eq!(answer.results[3].event_id.as_deref(), Some("e-outcome"));
    let (e1, e2, again) = (&answer.results[0], &answer.results[7], &answer.results[15]);
    assert_eq!(
        (e1.status, e2.status),
        (IngestStatus::Accepted, IngestStatus::Accepted)
    );
    assert_eq!(again.status, IngestStatus::Duplicate);
    assert_eq!(again.seq, e1.seq);
    let (s1, s2) = (e1.seq.unwrap(), e2.seq.unwrap());
    assert_eq!(s2, s1 + 1);

    // What was stored: the service as the actor, the server's time, the event's
    // own facts, and nothing for the rejected ones.
    let stored = find(
        &server,
        AuditQuery {
            actor: Some(service_id.to_string()),
            action: Some("order.ship".into()),
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(stored.len(), 1);
    let r = &stored[0];
    assert_eq!(r.seq, s2);
    assert_eq!(r.event_id.as_deref(), Some("e2"));
    assert_eq!(
        (r.actor.kind.as_str(), r.actor.name.as_str()),
        ("service", "orders")
    );
    assert_eq!(r.actor.on_behalf_of.as_deref(), Some("alice"));
    assert_eq!(
        (r.resource.kind.as_str(), r.resource.id.as_str()),
        ("order", "o-1")
    );
    assert_eq!((r.outcome.as_str(), r.status), ("success", None));
    assert_eq!(r.source_ip, "10.0.0.7");
    let details = r.details.as_ref().unwrap();
    assert_eq!(details["reported"], json!({"carrier": "ups"}));
    assert_eq!(details["occurred_at"], "2025-12-31T23:59:00Z");
    let batch = records_of(&server, &r.request_id).await;
    let mut actions: Vec<&str> = batch.iter().map(|r| r.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        ["audit.ingest", "order.create", "order.ship"],
        "rejected events left nothing"
    );
    let own = batch.iter().find(|r| r.action == "audit.ingest").unwrap();
    assert_eq!(
        own.details.as_ref().unwrap()["ingested"],
        json!({"accepted": 2, "duplicates": 1, "rejected": 15})
    );

    // Resending is safe: same seq, nothing stored twice, even if the content changed.
    let mut changed = event("e2", "order.cancel");
    changed["outcome"] = json!("failed");
    let answer = ingest(
        &server,
        &service,
        vec![event("e1", "order.create"), changed],
    )
    .await;
    assert_eq!(
        (answer.accepted, answer.duplicates, answer.rejected),
        (0, 2, 0)
    );
    assert_eq!(answer.results[0].seq, Some(s1));
    assert_eq!(answer.results[1].seq, Some(s2));
    let for_service = AuditQuery {
        actor: Some(service_id.to_string()),
        ..AuditQuery::default()
    };
    let events_only = |rs: Vec<gatehouse_types::AuditRecord>| {
        rs.into_iter().filter(|r| r.event_id.is_some()).count()
    };
    assert_eq!(events_only(find(&server, for_service.clone()).await), 2);

    // Event ids are per actor: another service cannot suppress this one's events
    // by sending their ids first.
    let (other, _) = mint(&server, Role::Service, "other").await;
    let answer = ingest(&server, &other, vec![event("e1", "order.create")]).await;
    assert_eq!(answer.accepted, 1);
    assert!(answer.results[0].seq.unwrap() > s2);
    assert_eq!(events_only(find(&server, for_service).await), 2);
    assert!(server.client().verify_audit().await.unwrap().is_intact);
}

async fn batches_are_bounded_and_only_services_ingest(db: Db) {
    let server = TestServer::start(db).await;
    let (service, _) = mint(&server, Role::Service, "svc").await;
    let (auditor, _) = mint(&server, Role::Auditor, "auditor").await;
    let raw = server.raw();
    let post = |token: &str, body: Value| {
        raw.post(server.url("/v1/audit/events"))
            .bearer_auth(token)
            .json(&body)
    };
    let many = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| event(&format!("b{i}"), "bulk.put"))
            .collect()
    };
    let before = server.client().verify_audit().await.unwrap().last_seq;
    for (body, status, code) in [
        (json!({"events": []}), 422, ErrorCode::ValidationFailed),
        (
            json!({"events": many(MAX_INGEST_BATCH + 1)}),
            422,
            ErrorCode::ValidationFailed,
        ),
        (json!({}), 422, ErrorCode::InvalidBody),
        (json!({"events": "e1"}), 422, ErrorCode::InvalidBody),
        (
            json!({"events": [], "extra": 1}),
            422,
            ErrorCode::InvalidBody,
        ),
        (json!([event("a", "b")]), 422, ErrorCode::InvalidBody),
    ] {
        let response = post(&service, body.clone()).send().await.unwrap();
        assert_error(response, status, code).await;
    }
    let response = raw
        .post(server.url("/v1/audit/events"))
        .bearer_auth(&service)
        .header("content-type", "application/json")
        .body("{\"events\": [")
        .send()
        .await
        .unwrap();
    assert_error(response, 400, ErrorCode::MalformedJson).await;
    // Each refused batch stored its own record and no event.
    let after = server.client().verify_audit().await.unwrap().last_seq;
    assert_eq!(
        after,
        before + 1 + 7,
        "the verify and the seven refused batches, nothing else"
    );

    // The largest batch is accepted whole, in one go.
    let answer = ingest(&server, &service, many(MAX_INGEST_BATCH)).await;
    assert_eq!(answer.accepted, MAX_INGEST_BATCH as u64);
    let seqs: Vec<u64> = answer.results.iter().map(|r| r.seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));

    // Auditors read, services write, and neither does the other's job.
    let (status, rid) = send(post(&auditor, json!({"events": [event("x", "y")]}))).await;
    assert_eq!(status, 403);
    let r = the_record_of(&server, &rid).await;
    assert_eq!(
        (r.action.as_str(), r.outcome.as_str()),
        ("audit.ingest", "denied")
    );
    let (status, _) = send(
        raw.post(server.url("/v1/audit/events"))
            .json(&json!({"events": []})),
    )
    .await;
    assert_eq!(status, 401);
    for path in [
        "/v1/audit/events",
        "/v1/audit/export",
        "/v1/audit/verify",
        "/v1/audit/stream",
        "/v1/blocked",
        "/v1/blocked/summary",
    ] {
        let response = raw
            .get(server.url(path))
            .bearer_auth(&service)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, ErrorCode::Forbidden).await;
    }
    // An administrator may report too; the record names it as a token, not a service.
    let answer = ingest(
        &server,
        &server.admin_token,
        vec![event("adm-1", "manual.note")],
    )
    .await;
    assert_eq!(answer.accepted, 1);
    let r = find(
        &server,
        AuditQuery {
            action: Some("manual.note".into()),
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(r[0].actor.kind, "api_token");
}

on_both_databases!(
    a_batch_is_judged_event_by_event,
    batches_are_bounded_and_only_services_ingest,
);
