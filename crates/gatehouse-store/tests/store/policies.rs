//! The policy store (AZ-5): versions append with their audit record in one
//! transaction, a stale base is refused, history reads newest first, and the
//! database refuses to rewrite a version.

use gatehouse_audit::Record;
use gatehouse_store::{PolicyVersionRow, PolicyWrite, SqliteStore, Store};

use super::{assert_verifies, pg_schema, pg_url, sealer, stores};

fn row(text: &str) -> PolicyVersionRow {
    PolicyVersionRow {
        version: 0,
        text: text.into(),
        sha256: vec![7; 32],
        author: "tester".into(),
        reason: "because".into(),
        created_at_us: 1_000,
        rolled_back_from: None,
    }
}

fn audit_of(before: Option<&PolicyVersionRow>, after: &PolicyVersionRow) -> Record {
    Record {
        time_us: after.created_at_us,
        action: "policies.versions.create".into(),
        resource_type: "policy_set".into(),
        resource_id: after.version.to_string(),
        before: before.map(|b| b.text.clone()),
        after: Some(after.text.clone()),
        ..Record::default()
    }
}

#[tokio::test]
async fn versions_append_with_their_record_and_refuse_a_stale_base() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let p = store.policies();
        assert_eq!(p.latest().await.unwrap(), None, "{b:?}");
        assert_eq!(p.latest_version().await.unwrap(), 0);
        let PolicyWrite::Created(v1) = p.create(&row("one"), 0, &audit_of, &sealer).await.unwrap()
        else {
            panic!("{b:?}: the first version is created")
        };
        assert_eq!(v1.version, 1);
        let PolicyWrite::Created(v2) = p.create(&row("two"), 1, &audit_of, &sealer).await.unwrap()
        else {
            panic!("{b:?}")
        };
        assert_eq!(v2.version, 2);
        // A change made from version 1 after version 2 exists: refused, nothing written.
        assert_eq!(
            p.create(&row("stale"), 1, &audit_of, &sealer)
                .await
                .unwrap(),
            PolicyWrite::Conflict { active: 2 },
            "{b:?}"
        );
        assert_eq!(
            p.create(&row("future"), 5, &audit_of, &sealer)
                .await
                .unwrap(),
            PolicyWrite::Conflict { active: 2 }
        );
        assert_eq!(p.latest().await.unwrap().unwrap().text, "two");
        assert_eq!(p.latest_version().await.unwrap(), 2);
        assert_eq!(p.find(1).await.unwrap().unwrap().text, "one");
        assert_eq!(p.find(3).await.unwrap(), None);
        assert_eq!(p.find(u64::MAX).await.unwrap(), None);
        let all: Vec<i64> = p
            .list(None, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(all, [2, 1], "{b:?}");
        let older: Vec<i64> = p
            .list(Some(2), 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(older, [1]);
        assert_eq!(p.list(None, 1).await.unwrap().len(), 1);

        // One audit record per version written, with before and after; the
        // refused changes left none.
        let records = store.audit().read_after(0, 100).await.unwrap();
        assert_eq!(records.len(), 2, "{b:?}");
        assert_eq!(records[0].record.before, None);
        assert_eq!(records[1].record.before.as_deref(), Some("one"));
        assert_eq!(records[1].record.after.as_deref(), Some("two"));
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_from_one_base_let_exactly_one_through() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = std::sync::Arc::new(sealer(1));
    for store in stores(dir.path()).await {
        store
            .policies()
            .create(&row("base"), 0, &audit_of, &sealer)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let (store, sealer) = (store.clone(), sealer.clone());
                tokio::spawn(async move {
                    store
                        .policies()
                        .create(&row(&format!("change {i}")), 1, &audit_of, &sealer)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                PolicyWrite::Created(r) => {
                    created += 1;
                    assert_eq!(r.version, 2);
                }
                PolicyWrite::Conflict { active } => assert_eq!(active, 2),
            }
        }
        assert_eq!(created, 1, "{:?}", store.backend());
        assert_eq!(store.policies().latest_version().await.unwrap(), 2);
    }
}

const TAMPERING: [&str; 2] = [
    "UPDATE policy_versions SET text = 'permit (principal, action, resource);'",
    "DELETE FROM policy_versions",
];

#[tokio::test]
async fn the_database_refuses_to_rewrite_a_version() {
    let sealer = sealer(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .policies()
        .create(&row("one"), 0, &audit_of, &sealer)
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
    assert_eq!(
        store.policies().latest().await.unwrap().unwrap().text,
        "one"
    );

    let Some(url) = pg_url() else { return };
    let schema = pg_schema();
    let store = gatehouse_store::PgStore::connect_in_schema(&url, &schema)
        .await
        .unwrap();
    store
        .policies()
        .create(&row("one"), 0, &audit_of, &sealer)
        .await
        .unwrap();
    let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
    let raw = sqlx::PgPool::connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    for sql in TAMPERING.into_iter().chain(["TRUNCATE policy_versions"]) {
        let e = sqlx::query(sql).execute(&raw).await.expect_err(sql);
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    raw.close().await;
    assert_eq!(
        store.policies().latest().await.unwrap().unwrap().text,
        "one"
    );
}
