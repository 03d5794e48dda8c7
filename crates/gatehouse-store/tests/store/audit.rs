//! The audit trail's storage: the chain, idempotent ingestion, checkpoints, search,
//! the blocked-request log, append-only enforcement and concurrent appenders.

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_audit::{CheckpointPolicy, CheckpointSigner, Record, Sealer, Tamper};
use gatehouse_store::{
    Appended, AuditFilter, AuditStore, BlockedFilter, BlockedRow, BlockedSummary, Page, PgStore,
    SqliteStore, Store,
};

use crate::{assert_verifies, pg_schema, pg_url, record, sealer, stores, verify};

fn new(seq: u64) -> Appended {
    Appended {
        seq,
        is_duplicate: false,
    }
}

fn dup(seq: u64) -> Appended {
    Appended {
        seq,
        is_duplicate: true,
    }
}

fn with_event(actor: &str, event_id: &str, time_us: i64) -> Record {
    Record {
        event_id: Some(event_id.into()),
        ..record(actor, "event.ingest", time_us)
    }
}

/// Every matching sequence number, oldest first, in one page.
async fn matching(audit: &dyn AuditStore, filter: AuditFilter) -> Vec<u64> {
    let filter = AuditFilter {
        page: Page::Oldest { after: None },
        ..filter
    };
    let found = audit.search(&filter, 1_000).await.unwrap();
    found.iter().map(|r| r.seq).collect()
}

#[tokio::test]
async fn append_assigns_consecutive_seqs_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(4);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        assert_eq!(audit.last_seq().await.unwrap(), 0);
        assert!(audit.append(&[], &[], &sealer).await.unwrap().is_empty());
        assert_eq!(assert_verifies(store.as_ref(), &sealer).await.records, 0);

        // Every field, including the optional ones, round-trips.
        let full = Record {
            event_id: Some("evt-1".into()),
            on_behalf_of: Some("user-7".into()),
            before: Some(r#"{"name":"old"}"#.into()),
            after: Some(r#"{"name":"new"}"#.into()),
            details: Some(r#"{"note":"ünïcode ✓"}"#.into()),
            status: 201,
            ..record("tok-1", "api_tokens.create", 1_000)
        };
        let mut sent = vec![full];
        assert_eq!(audit.append(&sent, &[], &sealer).await.unwrap(), [new(1)]);
        let batch: Vec<_> = (0..3)
            .map(|i| record("tok-2", "server.read", 2_000 + i))
            .collect();
        assert_eq!(
            audit.append(&batch, &[], &sealer).await.unwrap(),
            [new(2), new(3), new(4)],
            "{b:?}"
        );
        sent.extend(batch);
        for i in 0..6 {
            let r = record("tok-3", "server.read", 3_000 + i);
            let seq = 5 + u64::try_from(i).unwrap();
            assert_eq!(
                audit.append(&[r.clone()], &[], &sealer).await.unwrap(),
                [new(seq)]
            );
            sent.push(r);
        }
        assert_eq!(audit.last_seq().await.unwrap(), 10);

        let all = audit.read_after(0, 100).await.unwrap();
        assert_eq!(
            all.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        let records: Vec<_> = all.iter().map(|r| r.record.clone()).collect();
        assert_eq!(records, sent, "{b:?}");
        let page = audit.read_after(7, 2).await.unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [8, 9]);
        assert!(audit.read_after(10, 5).await.unwrap().is_empty());

        let report = assert_verifies(store.as_ref(), &sealer).await;
        assert_eq!((report.records, report.last_seq), (10, 10));
        assert_eq!(
            report.checkpoints_matched, 2,
            "{b:?}: checkpoints at 4 and 8"
        );
        // The checkpoints really are signed by the sealer's key.
        let stranger = CheckpointSigner::from_secret(&[1; 32]).verifying_key();
        let forged = verify(audit, &[stranger]).await.finding.unwrap();
        assert_eq!(forged.kind, Tamper::ForgedCheckpoint);
    }
}

#[tokio::test]
async fn duplicate_event_ids_are_reported_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        let first = audit
            .append(&[with_event("svc-a", "e1", 100)], &[], &sealer)
            .await
            .unwrap();
        assert_eq!(first, [new(1)]);
        let batch = [
            with_event("svc-a", "e1", 200), // stored earlier
            with_event("svc-a", "e2", 200),
            with_event("svc-a", "e2", 201), // earlier in this batch
            with_event("svc-b", "e1", 202), // another actor's e1 is its own
            record("svc-a", "no.event.id", 203),
            record("svc-a", "no.event.id", 203),
        ];
        assert_eq!(
            audit.append(&batch, &[], &sealer).await.unwrap(),
            [dup(1), new(2), dup(2), new(3), new(4), new(5)],
            "{b:?}"
        );
        assert_eq!(
            audit.append(&batch[..3], &[], &sealer).await.unwrap(),
            [dup(1), dup(2), dup(2)],
            "{b:?}: a retried batch writes nothing"
        );
        let stored = audit.read_after(0, 100).await.unwrap();
        let ids: Vec<_> = stored
            .iter()
            .map(|r| (r.record.actor_id.as_str(), r.record.event_id.as_deref()))
            .collect();
        assert_eq!(
            ids,
            [
                ("svc-a", Some("e1")),
                ("svc-a", Some("e2")),
                ("svc-b", Some("e1")),
                ("svc-a", None),
                ("svc-a", None),
            ]
        );
        assert_eq!(stored[0].record.time_us, 100, "the original is kept");
        assert_eq!(stored[1].record.time_us, 200);
        assert_eq!(assert_verifies(store.as_ref(), &sealer).await.records, 5);
    }
}

#[tokio::test]
async fn time_never_goes_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let audit = store.audit();
        let one = |t| vec![record("tok", "a", t)];
        audit.append(&one(1_000), &[], &sealer).await.unwrap();
        audit.append(&one(500), &[], &sealer).await.unwrap();
        audit.append(&one(2_000), &[], &sealer).await.unwrap();
        let batch = [
            record("tok", "b", 3_000),
            record("tok", "b", 2_500),
            record("tok", "b", 3_001),
        ];
        audit.append(&batch, &[], &sealer).await.unwrap();
        let times: Vec<_> = audit
            .read_after(0, 100)
            .await
            .unwrap()
            .iter()
            .map(|r| r.record.time_us)
            .collect();
        assert_eq!(
            times,
            [1_000, 1_000, 2_000, 3_000, 3_000, 3_001],
            "{:?}",
            store.backend()
        );
        // The hash covers the time as stored.
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn checkpoints_follow_the_policy_and_seal_signs_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(5);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        assert_eq!(
            audit.seal(10, &sealer).await.unwrap(),
            None,
            "an empty trail"
        );
        for i in 1..=12 {
            audit
                .append(&[record("tok", "a", i * 10)], &[], &sealer)
                .await
                .unwrap();
        }
        let seqs =
            |cps: &[gatehouse_audit::Checkpoint]| cps.iter().map(|c| c.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&audit.checkpoints().await.unwrap()), [5, 10], "{b:?}");
        // A batch that crosses the threshold is sealed once, at its end.
        let batch: Vec<_> = (13..=19).map(|i| record("tok", "a", i * 10)).collect();
        audit.append(&batch, &[], &sealer).await.unwrap();
        assert_eq!(
            seqs(&audit.checkpoints().await.unwrap()),
            [5, 10, 19],
            "{b:?}"
        );
        assert_eq!(
            audit.seal(1_000, &sealer).await.unwrap(),
            None,
            "nothing new since 19"
        );

        audit
            .append(&[record("tok", "a", 200)], &[], &sealer)
            .await
            .unwrap();
        assert_eq!(
            audit.checkpoints().await.unwrap().len(),
            3,
            "1 record is not due"
        );
        let sealed = audit
            .seal(1_000, &sealer)
            .await
            .unwrap()
            .expect("a new record to seal");
        let head = audit.read_after(19, 10).await.unwrap();
        assert_eq!(head.len(), 1);
        assert_eq!(
            (sealed.seq, sealed.head, sealed.time_us),
            (20, head[0].hash, 1_000)
        );
        assert_eq!(
            audit.seal(2_000, &sealer).await.unwrap(),
            None,
            "{b:?}: sealed twice"
        );
        // Sealing with a clock behind the newest record uses the record's time.
        audit
            .append(&[record("tok", "a", 5_000)], &[], &sealer)
            .await
            .unwrap();
        assert_eq!(
            audit.seal(3_000, &sealer).await.unwrap().unwrap().time_us,
            5_000
        );

        let cps = audit.checkpoints().await.unwrap();
        assert_eq!(seqs(&cps), [5, 10, 19, 20, 21]);
        let stored = audit.read_after(0, 100).await.unwrap();
        for cp in &cps {
            let at = &stored[usize::try_from(cp.seq).unwrap() - 1];
            assert_eq!((at.seq, at.hash), (cp.seq, cp.head), "{b:?}");
        }
        assert_eq!(
            assert_verifies(store.as_ref(), &sealer)
                .await
                .checkpoints_matched,
            5
        );
    }

    // By time: due `every_us` after the last checkpoint, if anything is new.
    let dir = tempfile::tempdir().unwrap();
    let sealer = Sealer {
        policy: CheckpointPolicy {
            every_records: u64::MAX,
            every_us: 1_000,
        },
        ..sealer
    };
    for store in stores(dir.path()).await {
        let audit = store.audit();
        audit
            .append(&[record("tok", "a", 100)], &[], &sealer)
            .await
            .unwrap();
        assert_eq!(audit.seal(150, &sealer).await.unwrap().unwrap().seq, 1);
        audit
            .append(&[record("tok", "a", 900)], &[], &sealer)
            .await
            .unwrap();
        assert_eq!(audit.checkpoints().await.unwrap().len(), 1);
        audit
            .append(&[record("tok", "a", 1_150)], &[], &sealer)
            .await
            .unwrap();
        let cps = audit.checkpoints().await.unwrap();
        assert_eq!(
            cps.iter().map(|c| (c.seq, c.time_us)).collect::<Vec<_>>(),
            [(1, 150), (3, 1_150)],
            "{:?}",
            store.backend()
        );
        audit
            .append(&[record("tok", "a", 1_200)], &[], &sealer)
            .await
            .unwrap();
        assert_eq!(audit.checkpoints().await.unwrap().len(), 2);
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

/// Six records that differ in every filterable field.
fn search_fixture() -> Vec<Record> {
    let r = |time_us, actor_id: &str, actor_name: &str, action: &str| Record {
        actor_name: actor_name.into(),
        ..record(actor_id, action, time_us)
    };
    vec![
        Record {
            resource_id: "r-1".into(),
            source_ip: "10.0.0.1".into(),
            request_id: "req-1".into(),
            details: Some(r#"{"note":"quota 100% used"}"#.into()),
            ..r(1_000, "tok-1", "alice", "api_tokens.create")
        },
        Record {
            resource_id: "r-2".into(),
            outcome: "denied".into(),
            status: 403,
            source_ip: "10.0.0.2".into(),
            request_id: "req-2".into(),
            details: Some(r#"{"note":"quota 1000 used"}"#.into()),
            ..r(2_000, "tok-2", "bob", "api_tokens.revoke")
        },
        Record {
            resource_type: "server".into(),
            resource_id: "a_b".into(),
            source_ip: "10.0.0.1".into(),
            request_id: "req-3".into(),
            ..r(2_000, "tok-1", "alice", "server.read")
        },
        Record {
            resource_type: "server".into(),
            resource_id: "axb".into(),
            outcome: "rejected".into(),
            status: 422,
            source_ip: "10.0.0.3".into(),
            request_id: "req-4".into(),
            ..r(3_000, "tok-3", "carol", "server.read")
        },
        Record {
            resource_id: "r-3".into(),
            outcome: "failed".into(),
            status: 500,
            source_ip: "10.0.0.2".into(),
            user_agent: "Mozilla/5.0 ALICEbot".into(),
            request_id: "req-5".into(),
            ..r(4_000, "tok-2", "bob", "api_tokens.list")
        },
        Record {
            actor_kind: "user".into(),
            resource_type: "user".into(),
            resource_id: "u-9".into(),
            source_ip: "10.0.0.4".into(),
            request_id: "req-6".into(),
            after: Some(r#"{"home":"C:\\temp"}"#.into()),
            ..r(5_000, "alice", "Alice Admin", "users.update")
        },
    ]
}

#[tokio::test]
async fn search_filters() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        audit.append(&search_fixture(), &[], &sealer).await.unwrap();
        let s = |v: &str| Some(v.to_owned());
        let cases: Vec<(AuditFilter, Vec<u64>)> = vec![
            (AuditFilter::default(), vec![1, 2, 3, 4, 5, 6]),
            (
                AuditFilter {
                    actor: s("tok-1"),
                    ..Default::default()
                },
                vec![1, 3],
            ),
            (
                AuditFilter {
                    actor: s("alice"),
                    ..Default::default()
                },
                vec![1, 3, 6],
            ),
            (
                AuditFilter {
                    actor: s("Alice Admin"),
                    ..Default::default()
                },
                vec![6],
            ),
            (
                AuditFilter {
                    actor: s("ali"),
                    ..Default::default()
                },
                vec![],
            ),
            (
                AuditFilter {
                    action: s("server.read"),
                    ..Default::default()
                },
                vec![3, 4],
            ),
            (
                AuditFilter {
                    resource_type: s("server"),
                    ..Default::default()
                },
                vec![3, 4],
            ),
            (
                AuditFilter {
                    resource_type: s("server"),
                    resource_id: s("axb"),
                    ..Default::default()
                },
                vec![4],
            ),
            (
                AuditFilter {
                    resource_id: s("r-2"),
                    ..Default::default()
                },
                vec![2],
            ),
            (
                AuditFilter {
                    outcome: s("denied"),
                    ..Default::default()
                },
                vec![2],
            ),
            (
                AuditFilter {
                    outcome: s("success"),
                    ..Default::default()
                },
                vec![1, 3, 6],
            ),
            (
                AuditFilter {
                    source_ip: s("10.0.0.2"),
                    ..Default::default()
                },
                vec![2, 5],
            ),
            (
                AuditFilter {
                    request_id: s("req-4"),
                    ..Default::default()
                },
                vec![4],
            ),
            // Free text: case-insensitive, in any text field.
            (
                AuditFilter {
                    text: s("ALICE"),
                    ..Default::default()
                },
                vec![1, 3, 5, 6],
            ),
            (
                AuditFilter {
                    text: s("QUOTA"),
                    ..Default::default()
                },
                vec![1, 2],
            ),
            (
                AuditFilter {
                    text: s("temp"),
                    ..Default::default()
                },
                vec![6],
            ),
            // LIKE wildcards in the text are literal.
            (
                AuditFilter {
                    text: s("0%"),
                    ..Default::default()
                },
                vec![1],
            ),
            (
                AuditFilter {
                    text: s("%"),
                    ..Default::default()
                },
                vec![1],
            ),
            (
                AuditFilter {
                    text: s("a_b"),
                    ..Default::default()
                },
                vec![3],
            ),
            (
                AuditFilter {
                    text: s("_"),
                    ..Default::default()
                },
                vec![1, 2, 3, 5],
            ),
            // The stored JSON text holds two backslashes.
            (
                AuditFilter {
                    text: s("c:\\\\temp"),
                    ..Default::default()
                },
                vec![6],
            ),
            (
                AuditFilter {
                    text: s("c:\\temp"),
                    ..Default::default()
                },
                vec![],
            ),
            (
                AuditFilter {
                    text: s("nowhere"),
                    ..Default::default()
                },
                vec![],
            ),
            // Time: from inclusive, to exclusive.
            (
                AuditFilter {
                    from_us: Some(2_000),
                    ..Default::default()
                },
                vec![2, 3, 4, 5, 6],
            ),
            (
                AuditFilter {
                    from_us: Some(2_001),
                    ..Default::default()
                },
                vec![4, 5, 6],
            ),
            (
                AuditFilter {
                    to_us: Some(3_000),
                    ..Default::default()
                },
                vec![1, 2, 3],
            ),
            (
                AuditFilter {
                    to_us: Some(3_001),
                    ..Default::default()
                },
                vec![1, 2, 3, 4],
            ),
            (
                AuditFilter {
                    from_us: Some(2_000),
                    to_us: Some(4_000),
                    ..Default::default()
                },
                vec![2, 3, 4],
            ),
            (
                AuditFilter {
                    from_us: Some(3_000),
                    to_us: Some(3_000),
                    ..Default::default()
                },
                vec![],
            ),
            (
                AuditFilter {
                    from_us: Some(4_000),
                    to_us: Some(2_000),
                    ..Default::default()
                },
                vec![],
            ),
            (
                AuditFilter {
                    from_us: Some(5_001),
                    ..Default::default()
                },
                vec![],
            ),
            (
                AuditFilter {
                    to_us: Some(1_000),
                    ..Default::default()
                },
                vec![],
            ),
            // Filters combine.
            (
                AuditFilter {
                    from_us: Some(2_000),
                    actor: s("alice"),
                    ..Default::default()
                },
                vec![3, 6],
            ),
            (
                AuditFilter {
                    action: s("server.read"),
                    outcome: s("success"),
                    ..Default::default()
                },
                vec![3],
            ),
            (
                AuditFilter {
                    text: s("alice"),
                    source_ip: s("10.0.0.2"),
                    ..Default::default()
                },
                vec![5],
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(
                matching(audit, filter.clone()).await,
                expected,
                "{b:?} {filter:?}"
            );
        }
        // Newest first is the default order, and results carry the whole record.
        let newest = audit
            .search(
                &AuditFilter {
                    outcome: s("success"),
                    ..Default::default()
                },
                10,
            )
            .await
            .unwrap();
        assert_eq!(newest.iter().map(|r| r.seq).collect::<Vec<_>>(), [6, 3, 1]);
        assert_eq!(newest[0].record, search_fixture()[5]);
        let head = audit.read_after(5, 1).await.unwrap();
        assert_eq!(newest[0].hash, head[0].hash);
    }
}

/// Walks every page of `filter` in `first`'s direction; returns the pages.
async fn walk(
    audit: &dyn AuditStore,
    filter: &AuditFilter,
    first: Page,
    size: u32,
) -> Vec<Vec<u64>> {
    let mut pages = Vec::new();
    let mut page = first;
    loop {
        let found = audit
            .search(
                &AuditFilter {
                    page,
                    ..filter.clone()
                },
                size,
            )
            .await
            .unwrap();
        let seqs: Vec<u64> = found.iter().map(|r| r.seq).collect();
        let Some(&last) = seqs.last() else { break };
        assert!(seqs.len() <= size as usize);
        page = match first {
            Page::Newest { .. } => Page::Newest { before: Some(last) },
            Page::Oldest { .. } => Page::Oldest { after: Some(last) },
        };
        pages.push(seqs);
        assert!(pages.len() < 100, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn keyset_pagination_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        // 30 records, two per time, every third one denied.
        let records: Vec<_> = (0..30i64)
            .map(|i| Record {
                outcome: if i % 3 == 0 { "denied" } else { "success" }.into(),
                ..record("tok", "server.read", 1_000 + (i / 2) * 10)
            })
            .collect();
        audit.append(&records, &[], &sealer).await.unwrap();
        let denied = AuditFilter {
            outcome: Some("denied".into()),
            ..Default::default()
        };
        let expected: Vec<u64> = (1..=30).filter(|s| (s - 1) % 3 == 0).collect();

        let newest = walk(audit, &denied, Page::Newest { before: None }, 3).await;
        assert_eq!(
            newest,
            [vec![28, 25, 22], vec![19, 16, 13], vec![10, 7, 4], vec![1]],
            "{b:?}"
        );
        let oldest = walk(audit, &denied, Page::Oldest { after: None }, 4).await;
        assert_eq!(oldest.concat(), expected, "{b:?}: no duplicates, no gaps");
        assert_eq!(oldest.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);

        // Unfiltered, every size walks all 30 exactly once in order.
        for size in [1, 7, 30, 31] {
            let all = walk(
                audit,
                &AuditFilter::default(),
                Page::Newest { before: None },
                size,
            )
            .await;
            assert_eq!(
                all.concat(),
                (1..=30).rev().collect::<Vec<_>>(),
                "{b:?} size {size}"
            );
            let all = walk(
                audit,
                &AuditFilter::default(),
                Page::Oldest { after: None },
                size,
            )
            .await;
            assert_eq!(
                all.concat(),
                (1..=30).collect::<Vec<_>>(),
                "{b:?} size {size}"
            );
        }
        // With a time window (times 1_050..1_100 are records 11..=20).
        let window = AuditFilter {
            from_us: Some(1_050),
            to_us: Some(1_100),
            ..Default::default()
        };
        let pages = walk(audit, &window, Page::Newest { before: None }, 4).await;
        assert_eq!(pages.concat(), (11..=20).rev().collect::<Vec<_>>(), "{b:?}");
        let pages = walk(audit, &window, Page::Oldest { after: Some(14) }, 4).await;
        assert_eq!(pages.concat(), (15..=20).collect::<Vec<_>>(), "{b:?}");

        // A page cursor stays valid while records are appended.
        let first = audit
            .search(
                &AuditFilter {
                    page: Page::Newest { before: None },
                    ..denied.clone()
                },
                2,
            )
            .await
            .unwrap();
        assert_eq!(first.iter().map(|r| r.seq).collect::<Vec<_>>(), [28, 25]);
        let more = [Record {
            outcome: "denied".into(),
            ..record("tok", "late", 2_000)
        }];
        audit.append(&more, &[], &sealer).await.unwrap();
        let rest = walk(audit, &denied, Page::Newest { before: Some(25) }, 2).await;
        assert_eq!(rest.concat(), [22, 19, 16, 13, 10, 7, 4, 1], "{b:?}");
        let tail = walk(audit, &denied, Page::Oldest { after: Some(28) }, 2).await;
        assert_eq!(
            tail.concat(),
            [31],
            "{b:?}: the new record follows the old end"
        );
    }
}

fn blocked(
    time_us: i64,
    reason: &str,
    source_ip: &str,
    identity: Option<&str>,
    route: &str,
) -> BlockedRow {
    BlockedRow {
        id: 0,
        time_us,
        reason: reason.into(),
        source_ip: source_ip.into(),
        identity: identity.map(Into::into),
        method: "GET".into(),
        route: route.into(),
        status: 403,
        request_id: format!("req-{time_us}"),
    }
}

#[tokio::test]
async fn blocked_requests_search_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        let rows = [
            blocked(100, "authentication", "1.1.1.1", None, "/v1/users"),
            blocked(500, "authorization", "1.1.1.1", Some("tok-1"), "/v1/keys"),
            blocked(1_200, "authentication", "2.2.2.2", None, "/v1/users"),
            blocked(1_500, "rate_limit", "1.1.1.1", Some("tok-2"), "/v1/users"),
            blocked(2_500, "authorization", "3.3.3.3", Some("tok-1"), "/v1/keys"),
            blocked(3_000, "authentication", "1.1.1.1", None, "/v1/users"),
        ];
        // Blocked rows ride along with records in one append, or alone.
        let appended = audit
            .append(&[record("tok", "server.read", 50)], &rows[..3], &sealer)
            .await
            .unwrap();
        assert_eq!(appended, [new(1)]);
        assert!(audit
            .append(&[], &rows[3..], &sealer)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            audit.last_seq().await.unwrap(),
            1,
            "blocked rows are not chain records"
        );

        let all = audit
            .search_blocked(&BlockedFilter::default(), 100)
            .await
            .unwrap();
        assert_eq!(all.len(), 6, "{b:?}");
        assert!(
            all.windows(2).all(|w| w[0].id > w[1].id),
            "{b:?}: newest first"
        );
        let without_ids: Vec<_> = all
            .iter()
            .rev()
            .map(|r| BlockedRow { id: 0, ..r.clone() })
            .collect();
        assert_eq!(without_ids, rows, "{b:?}");

        let times = |found: Vec<BlockedRow>| found.iter().map(|r| r.time_us).collect::<Vec<_>>();
        let s = |v: &str| Some(v.to_owned());
        let cases: Vec<(BlockedFilter, Vec<i64>)> = vec![
            (
                BlockedFilter {
                    reason: s("authentication"),
                    ..Default::default()
                },
                vec![3_000, 1_200, 100],
            ),
            (
                BlockedFilter {
                    source_ip: s("1.1.1.1"),
                    ..Default::default()
                },
                vec![3_000, 1_500, 500, 100],
            ),
            (
                BlockedFilter {
                    identity: s("tok-1"),
                    ..Default::default()
                },
                vec![2_500, 500],
            ),
            (
                BlockedFilter {
                    route: s("/v1/keys"),
                    ..Default::default()
                },
                vec![2_500, 500],
            ),
            (
                BlockedFilter {
                    from_us: Some(500),
                    to_us: Some(2_500),
                    ..Default::default()
                },
                vec![1_500, 1_200, 500],
            ),
            (
                BlockedFilter {
                    reason: s("authentication"),
                    source_ip: s("1.1.1.1"),
                    ..Default::default()
                },
                vec![3_000, 100],
            ),
            (
                BlockedFilter {
                    reason: s("bad_input"),
                    ..Default::default()
                },
                vec![],
            ),
        ];
        for (filter, expected) in cases {
            let found = audit.search_blocked(&filter, 100).await.unwrap();
            assert_eq!(times(found), expected, "{b:?} {filter:?}");
        }
        // Keyset pages by id.
        let mut before_id = None;
        let mut pages = Vec::new();
        loop {
            let page = audit
                .search_blocked(
                    &BlockedFilter {
                        before_id,
                        ..Default::default()
                    },
                    4,
                )
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            before_id = Some(last.id);
            pages.push(times(page));
        }
        assert_eq!(
            pages,
            [vec![3_000, 2_500, 1_500, 1_200], vec![500, 100]],
            "{b:?}"
        );

        // [0, 3_000): the row at 3_000 is outside.
        let summary = audit.blocked_summary(0, 3_000, 1_000, 2).await.unwrap();
        let owned = |v: &[(&str, u64)]| {
            v.iter()
                .map(|(k, n)| ((*k).to_owned(), *n))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            summary,
            BlockedSummary {
                total: 5,
                buckets: vec![
                    (0, "authentication".into(), 1),
                    (0, "authorization".into(), 1),
                    (1_000, "authentication".into(), 1),
                    (1_000, "rate_limit".into(), 1),
                    (2_000, "authorization".into(), 1),
                ],
                // Every reason, not only the top ones.
                by_reason: owned(&[
                    ("authentication", 2),
                    ("authorization", 2),
                    ("rate_limit", 1)
                ]),
                top_sources: owned(&[("1.1.1.1", 3), ("2.2.2.2", 1)]),
                top_identities: owned(&[("tok-1", 2), ("tok-2", 1)]),
                top_routes: owned(&[("/v1/users", 3), ("/v1/keys", 2)]),
            },
            "{b:?}"
        );
        // Buckets start at `from_us`.
        let shifted = audit.blocked_summary(500, 3_001, 1_000, 10).await.unwrap();
        assert_eq!(shifted.total, 5);
        assert_eq!(
            shifted.buckets,
            [
                (500, "authentication".to_owned(), 1),
                (500, "authorization".to_owned(), 1),
                (1_500, "rate_limit".to_owned(), 1),
                (2_500, "authentication".to_owned(), 1),
                (2_500, "authorization".to_owned(), 1),
            ],
            "{b:?}"
        );
        assert_eq!(
            audit
                .blocked_summary(10_000, 20_000, 1_000, 5)
                .await
                .unwrap(),
            BlockedSummary::default()
        );
    }
}

/// Statements that would rewrite the trail; each must be refused by the database.
const TAMPERING: [&str; 4] = [
    "UPDATE audit_records SET action = 'x'",
    "DELETE FROM audit_records WHERE seq = 1",
    "UPDATE audit_checkpoints SET time_us = 0",
    "DELETE FROM audit_checkpoints",
];

#[tokio::test]
async fn the_database_refuses_updates_and_deletes() {
    let sealer = sealer(1);
    let records = [record("tok", "a", 1), record("tok", "b", 2)];

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store.audit().append(&records, &[], &sealer).await.unwrap();
    let raw =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&path))
            .await
            .unwrap();
    for sql in TAMPERING {
        let e = sqlx::query(sql).execute(&raw).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    raw.close().await;
    assert_eq!(assert_verifies(&store, &sealer).await.records, 2);

    let Some(url) = pg_url() else { return };
    let schema = pg_schema();
    let store = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    store.audit().append(&records, &[], &sealer).await.unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let raw = sqlx::PgPool::connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    let truncations = ["TRUNCATE audit_records", "TRUNCATE audit_checkpoints"];
    for sql in TAMPERING.into_iter().chain(truncations) {
        let e = sqlx::query(sql).execute(&raw).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    raw.close().await;
    assert_eq!(assert_verifies(&store, &sealer).await.records, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_appenders_keep_one_chain() {
    const TASKS: u64 = 8;
    const EACH: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    let sealer = Arc::new(sealer(100));
    for store in stores(dir.path()).await {
        let b = store.backend();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let (store, sealer) = (store.clone(), sealer.clone());
                tokio::spawn(async move {
                    let mut seqs = Vec::new();
                    for i in 0..EACH {
                        let r = record(&format!("task-{t}"), "a", i64::try_from(i).unwrap());
                        let appended = store.audit().append(&[r], &[], &sealer).await.unwrap();
                        assert!(!appended[0].is_duplicate);
                        seqs.push(appended[0].seq);
                    }
                    seqs
                })
            })
            .collect();
        let mut all = BTreeSet::new();
        for task in tasks {
            let seqs = task.await.unwrap();
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "{b:?}: one task's appends are ordered"
            );
            all.extend(seqs);
        }
        let n = TASKS * EACH;
        assert_eq!(all, (1..=n).collect::<BTreeSet<_>>(), "{b:?}");
        assert_eq!(store.audit().last_seq().await.unwrap(), n);

        let stored = store.audit().read_after(0, 10_000).await.unwrap();
        assert!(stored
            .windows(2)
            .all(|w| w[0].record.time_us <= w[1].record.time_us));
        let checkpoints = store.audit().checkpoints().await.unwrap();
        let every_100: Vec<u64> = (1..=n / 100).map(|k| k * 100).collect();
        assert_eq!(
            checkpoints.iter().map(|c| c.seq).collect::<Vec<_>>(),
            every_100,
            "{b:?}"
        );
        let report = assert_verifies(store.as_ref(), &sealer).await;
        assert_eq!((report.records, report.checkpoints_matched), (n, n / 100));
    }
}
