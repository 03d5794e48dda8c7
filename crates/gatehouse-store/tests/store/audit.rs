//! The audit trail's storage: the chain, idempotent ingestion, checkpoints,
//! append-only enforcement and concurrent appenders.

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_audit::{CheckpointPolicy, CheckpointSigner, Record, Sealer, Tamper, Verifier};
use gatehouse_store::{
    Appended, AuditFilter, BlockedFilter, BlockedRow, Page, PgStore, SqliteStore, Store,
    StoredRecord,
};

use crate::{assert_verifies, pg_schema, pg_url, record, sealer, stores, verify};

pub(crate) fn new(seq: u64) -> Appended {
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
                audit
                    .append(std::slice::from_ref(&r), &[], &sealer)
                    .await
                    .unwrap(),
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

/// A record whose every column holds a value of its own, so a column written,
/// read or hashed in another's place shows.
fn distinct(i: i64) -> Record {
    Record {
        time_us: 1_000 + i,
        event_id: Some(format!("event_id-{i}")),
        actor_kind: format!("actor_kind-{i}"),
        actor_id: format!("actor_id-{i}"),
        actor_name: format!("actor_name-{i}"),
        on_behalf_of: Some(format!("on_behalf_of-{i}")),
        action: format!("action-{i}"),
        resource_type: format!("resource_type-{i}"),
        resource_id: format!("resource_id-{i}"),
        outcome: format!("outcome-{i}"),
        status: 200 + i32::try_from(i).unwrap(),
        source_ip: format!("source_ip-{i}"),
        user_agent: format!("user_agent-{i}"),
        request_id: format!("request_id-{i}"),
        before: Some(format!(r#"{{"before":{i}}}"#)),
        after: Some(format!(r#"{{"after":{i}}}"#)),
        details: Some(format!(r#"{{"details":{i}}}"#)),
    }
}

/// The record's columns have one order (item 13): every write and every read
/// path (pages, search, the verifier's own reader) keeps each column's value.
#[tokio::test]
async fn every_column_keeps_its_value_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(2);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        let sent: Vec<Record> = (1..=3).map(distinct).collect();
        audit.append(&sent, &[], &sealer).await.unwrap();
        let records = |found: Vec<StoredRecord>| -> Vec<Record> {
            found.into_iter().map(|s| s.record).collect()
        };
        assert_eq!(
            records(audit.read_after(0, 10).await.unwrap()),
            sent,
            "{b:?}"
        );
        let oldest = AuditFilter {
            page: Page::Oldest { after: None },
            ..AuditFilter::default()
        };
        assert_eq!(
            records(audit.search(&oldest, 10).await.unwrap()),
            sent,
            "{b:?}"
        );
        for (i, r) in sent.iter().enumerate() {
            let by_actor = AuditFilter {
                actor: Some(r.actor_id.clone()),
                text: Some(r.user_agent.clone()),
                ..oldest.clone()
            };
            let found = audit.search(&by_actor, 10).await.unwrap();
            assert_eq!(records(found), std::slice::from_ref(r), "{b:?} {i}");
        }
        // The backend's own verification reader hashes what was hashed on append.
        let keys = [sealer.signer.verifying_key()];
        let verifier = Verifier::new(audit.checkpoints().await.unwrap(), &keys);
        let report = audit.verify_chain(verifier).await.unwrap().finish();
        assert_eq!(report.finding, None, "{b:?}");
        assert_eq!(
            (report.records, report.checkpoints_matched),
            (3, 1),
            "{b:?}"
        );
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

/// Statements that would rewrite the trail or the blocked-request log; each must
/// be refused by the database.
const TAMPERING: [&str; 6] = [
    "UPDATE audit_records SET action = 'x'",
    "DELETE FROM audit_records WHERE seq = 1",
    "UPDATE audit_checkpoints SET time_us = 0",
    "DELETE FROM audit_checkpoints",
    "UPDATE blocked_requests SET source_ip = '10.0.0.1'",
    "DELETE FROM blocked_requests",
];

/// One refused request from 9.9.9.9.
fn blocked_row() -> BlockedRow {
    BlockedRow {
        id: 0,
        time_us: 1,
        reason: "authentication".into(),
        source_ip: "9.9.9.9".into(),
        identity: None,
        method: "GET".into(),
        route: "/v1/server".into(),
        status: 401,
        request_id: "r-blocked".into(),
        bot: Some("bad_bot".into()),
        matched: Some("sqlmap".into()),
    }
}

/// The blocked-request log is still as appended, and its counts still kept.
async fn assert_blocked_intact(store: &dyn Store) {
    let rows = store
        .audit()
        .search_blocked(&BlockedFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].source_ip, "9.9.9.9");
    let summary = store
        .audit()
        .blocked_summary(0, 7_200_000_000, 3_600_000_000, 10)
        .await
        .unwrap();
    assert_eq!(summary.top_sources, [("9.9.9.9".to_owned(), 1)]);
}

// proves: AU-2 (the audit trail, its checkpoints and the blocked-request log)
#[tokio::test]
async fn the_database_refuses_updates_and_deletes() {
    let sealer = sealer(1);
    let records = [record("tok", "a", 1), record("tok", "b", 2)];

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .audit()
        .append(&records, &[blocked_row()], &sealer)
        .await
        .unwrap();
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
    assert_blocked_intact(&store).await;

    let Some(url) = pg_url() else { return };
    let schema = pg_schema();
    let store = PgStore::connect_in_schema(&url, &schema).await.unwrap();
    store
        .audit()
        .append(&records, &[blocked_row()], &sealer)
        .await
        .unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let raw = sqlx::PgPool::connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    let truncations = [
        "TRUNCATE audit_records",
        "TRUNCATE audit_checkpoints",
        "TRUNCATE blocked_requests",
    ];
    for sql in TAMPERING.into_iter().chain(truncations) {
        let e = sqlx::query(sql).execute(&raw).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    raw.close().await;
    assert_eq!(assert_verifies(&store, &sealer).await.records, 2);
    assert_blocked_intact(&store).await;
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
