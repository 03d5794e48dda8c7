//! Readers cannot starve the writer (OP-4): reads run under a time limit and
//! appends on connections of their own.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_audit::Verifier;
use gatehouse_store::{
    AuditFilter, BlockedRow, PgStore, SqliteStore, Store, StoreError, StoreOptions,
};

use super::{pg_schema, pg_url, record, sealer};

/// One store per backend with a read limit far below what a full scan of the
/// trail below takes.
async fn limited_stores(dir: &std::path::Path) -> Vec<Arc<dyn Store>> {
    let options = StoreOptions {
        writer_connections: 1,
        read_timeout: Some(Duration::from_millis(1)),
        ..StoreOptions::default()
    };
    let mut stores: Vec<Arc<dyn Store>> = vec![Arc::new(
        SqliteStore::open_with(&dir.join("g.db"), &options)
            .await
            .unwrap(),
    )];
    if let Some(url) = pg_url() {
        stores.push(Arc::new(
            PgStore::connect_in_schema_with(&url, &pg_schema(), &options)
                .await
                .unwrap(),
        ));
    }
    stores
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_past_their_time_limit_are_cancelled_and_appends_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(100_000);
    for store in limited_stores(dir.path()).await {
        let b = store.backend();
        let audit = store.audit();
        // A trail of 20,000 records of about 1 KB, and as many refusals in one hour.
        let hour = 3_600_000_000_i64;
        for chunk in 0..4 {
            let records: Vec<_> = (0..5_000)
                .map(|i| gatehouse_audit::Record {
                    details: Some(format!(
                        "{{\"note\":\"{}\"}}",
                        format!("{i:08x}").repeat(120)
                    )),
                    ..record(&format!("actor-{chunk}-{i}"), "load.seed", hour + 10)
                })
                .collect();
            let blocked: Vec<_> = (0..5_000)
                .map(|i| BlockedRow {
                    time_us: hour + 10,
                    reason: "authentication".into(),
                    source_ip: format!("10.{chunk}.{}.{}", i / 256, i % 256),
                    method: "GET".into(),
                    route: format!("/r/{i}"),
                    status: 401,
                    request_id: format!("b-{chunk}-{i}"),
                    ..BlockedRow::default()
                })
                .collect();
            audit.append(&records, &blocked, &sealer).await.unwrap();
        }
        // A free-text search reads every row (rusqlite on SQLite)...
        let search = AuditFilter {
            text: Some("no such text".into()),
            ..AuditFilter::default()
        };
        let e = audit.search(&search, 10).await.unwrap_err();
        assert!(matches!(e, StoreError::Timeout), "{b:?}: {e:?}");
        // ...and so does a summary inside one hour (sqlx on SQLite).
        let e = audit
            .blocked_summary(hour + 1, hour + 100, 10, 10)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Timeout), "{b:?}: {e:?}");
        // Appends have no limit, and the connections that timed out are fine.
        let more = [record("after", "load.after", hour + 20)];
        assert_eq!(
            audit.append(&more, &[], &sealer).await.unwrap()[0].seq,
            20_001
        );
        if b == gatehouse_store::Backend::Sqlite {
            // Verification walks the whole trail in one statement: exempt.
            let keys = [sealer.signer.verifying_key()];
            let verifier = Verifier::new(Vec::new(), &keys);
            let report = audit.verify_chain(verifier).await.unwrap().finish();
            assert_eq!(report.finding, None);
            assert_eq!(report.records, 20_001);
        }
        store.close().await;
    }
}
