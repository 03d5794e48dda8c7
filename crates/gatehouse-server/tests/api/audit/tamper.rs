//! AU-2 from the attacker's side: someone with write access to the SQLite file
//! drops the append-only triggers and edits the trail; verification names the
//! first record where it shows.

use gatehouse_audit::{link, Hash, GENESIS};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::VerifyResponse;
use sqlx::SqlitePool;

use super::sqlite_pool;

async fn verify(server: &TestServer) -> VerifyResponse {
    server.client().verify_audit().await.unwrap()
}

/// A server with at least `n` records, checkpointed every `every` records.
async fn server_with_records(db: Db, n: u64, every: u64) -> TestServer {
    let server = TestServer::start_with(db, |c| c.audit.checkpoint_every_records = every).await;
    while verify(&server).await.last_seq < n {}
    server
}

async fn drop_triggers(db: &SqlitePool) {
    for t in ["audit_records_no_update", "audit_records_no_delete"] {
        sqlx::query(&format!("DROP TRIGGER {t}"))
            .execute(db)
            .await
            .unwrap();
    }
}

async fn checkpoint_seqs(db: &SqlitePool) -> Vec<u64> {
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM audit_checkpoints ORDER BY seq")
        .fetch_all(db)
        .await
        .unwrap();
    seqs.into_iter().map(|s| s as u64).collect()
}

async fn an_intact_trail_verifies(db: Db) {
    let server = server_with_records(db, 12, 4).await;
    let report = verify(&server).await;
    assert!(report.is_intact, "{report:?}");
    assert_eq!(report.finding, None);
    assert_eq!(report.records, report.last_seq);
    assert!(report.last_seq >= 12);
    assert!(report.checkpoints >= 2, "{report:?}");
    assert_eq!(report.checkpoints_matched, report.checkpoints);
    assert_eq!(report.key_ids.len(), 1);
    // And again later, with more records after the reads themselves.
    server.clock.advance(chrono::Duration::hours(1));
    let again = verify(&server).await;
    assert!(
        again.is_intact && again.last_seq > report.last_seq,
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_refuses_updates_and_deletes() {
    let server = server_with_records(Db::Sqlite, 3, 1).await;
    let db = sqlite_pool(&server).await;
    for sql in [
        "UPDATE audit_records SET action = 'x' WHERE seq = 2",
        "DELETE FROM audit_records WHERE seq = 2",
        "UPDATE audit_checkpoints SET seq = 99",
        "DELETE FROM audit_checkpoints",
    ] {
        let e = sqlx::query(sql).execute(&db).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    assert!(verify(&server).await.is_intact);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_record_is_named() {
    let server = server_with_records(Db::Sqlite, 8, 3).await;
    let db = sqlite_pool(&server).await;
    drop_triggers(&db).await;
    sqlx::query("UPDATE audit_records SET action = 'server.read' WHERE seq = 4")
        .execute(&db)
        .await
        .unwrap();
    let report = verify(&server).await;
    assert!(!report.is_intact);
    let finding = report.finding.unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.seq),
        ("modified", 4),
        "{finding:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_record_is_named() {
    let server = server_with_records(Db::Sqlite, 8, 3).await;
    let db = sqlite_pool(&server).await;
    drop_triggers(&db).await;
    sqlx::query("DELETE FROM audit_records WHERE seq = 5")
        .execute(&db)
        .await
        .unwrap();
    let finding = verify(&server).await.finding.unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.seq),
        ("deleted", 5),
        "{finding:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_newest_records_is_caught_by_a_checkpoint() {
    let server = server_with_records(Db::Sqlite, 12, 3).await;
    let db = sqlite_pool(&server).await;
    let newest_checkpoint = *checkpoint_seqs(&db).await.last().unwrap();
    assert!(newest_checkpoint >= 3);
    drop_triggers(&db).await;
    // Everything from just before the newest checkpoint on: the remaining chain
    // is internally consistent, only the checkpoint knows more existed.
    sqlx::query("DELETE FROM audit_records WHERE seq >= $1")
        .bind(newest_checkpoint as i64 - 1)
        .execute(&db)
        .await
        .unwrap();
    let report = verify(&server).await;
    assert_eq!(report.last_seq, newest_checkpoint - 2);
    let finding = report.finding.unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.seq),
        ("truncated", newest_checkpoint - 1),
        "{finding:?}"
    );
}

/// The attacker who also deletes the checkpoints that vouch for the deleted
/// records: the witness outside the database still vouches for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_records_with_their_checkpoints_is_caught_by_the_witness() {
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.audit.checkpoint_every_records = 1_000_000;
        c.audit.checkpoint_every_seconds = 1;
    })
    .await;
    while verify(&server).await.last_seq < 6 {}
    let path = server.config.data_dir.join("audit-witness.json");
    let witnessed = |path: &std::path::Path| -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["seq"].as_u64())
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while witnessed(&path) < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the witness follows the checkpoints"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let w = witnessed(&path);
    let db = sqlite_pool(&server).await;
    drop_triggers(&db).await;
    for t in ["audit_checkpoints_no_update", "audit_checkpoints_no_delete"] {
        sqlx::query(&format!("DROP TRIGGER {t}"))
            .execute(&db)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM audit_records WHERE seq >= 3")
        .execute(&db)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_checkpoints WHERE seq >= 3")
        .execute(&db)
        .await
        .unwrap();
    let report = verify(&server).await;
    let finding = report.finding.unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.seq),
        ("truncated", 3),
        "{finding:?}"
    );
    // The server keeps sealing the shortened chain, but never moves the witness back.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(witnessed(&path), w);
    let finding = verify(&server).await.finding.unwrap();
    assert_eq!(finding.kind, "truncated", "{finding:?}");
}

/// The attacker who knows the chain: edits a record and recomputes every hash
/// after it. The hashes agree with each other, but not with the next signed
/// checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recomputed_chain_is_caught_by_a_checkpoint() {
    let server = server_with_records(Db::Sqlite, 12, 3).await;
    let db = sqlite_pool(&server).await;
    let checkpoints = checkpoint_seqs(&db).await;
    let (first, second) = (checkpoints[0], checkpoints[1]);
    let target = second; // covered by the second checkpoint, not the first
    drop_triggers(&db).await;
    let records = server.store.audit().read_after(0, 10_000).await.unwrap();
    let mut prev: Hash = GENESIS;
    for stored in records {
        let mut record = stored.record;
        if stored.seq == target {
            record.action = "server.read".into();
            record.outcome = "success".into();
            sqlx::query("UPDATE audit_records SET action = $1, outcome = $2 WHERE seq = $3")
                .bind(&record.action)
                .bind(&record.outcome)
                .bind(stored.seq as i64)
                .execute(&db)
                .await
                .unwrap();
        }
        let hash = link(&prev, stored.seq, &record.canonical());
        if stored.seq >= target {
            sqlx::query("UPDATE audit_records SET hash = $1 WHERE seq = $2")
                .bind(hash.to_vec())
                .bind(stored.seq as i64)
                .execute(&db)
                .await
                .unwrap();
        }
        prev = hash;
    }
    let finding = verify(&server).await.finding.unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.seq),
        ("rewritten", first + 1),
        "the first record after the last checkpoint that still matches: {finding:?}"
    );
}

/// A checkpoint slipped into the table without the key is a forgery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_checkpoint_is_named() {
    let server = server_with_records(Db::Sqlite, 4, 1000).await;
    let db = sqlite_pool(&server).await;
    let report = verify(&server).await;
    let key_id = report.key_ids[0].clone();
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, head, time_us, key_id, signature) \
         VALUES (1000000, $1, 0, $2, $3)",
    )
    .bind(vec![0u8; 32])
    .bind(&key_id)
    .bind(vec![0u8; 64])
    .execute(&db)
    .await
    .unwrap();
    let finding = verify(&server).await.finding.unwrap();
    assert_eq!(
        (finding.kind.as_str(), finding.seq),
        ("forged_checkpoint", 1_000_000)
    );
}

on_both_databases!(an_intact_trail_verifies);
