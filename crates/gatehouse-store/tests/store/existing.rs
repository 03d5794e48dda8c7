//! Opening an existing database as it is (the offline commands): nothing is
//! created or migrated, and a schema other than this build's is refused with
//! the fix named.

use gatehouse_store::{AuditFilter, PgStore, SqliteStore, Store, StoreError};

use crate::{assert_verifies, pg_schema, pg_url, record, sealer};

/// Appends through the chain lock and reads back: the store works as usual.
async fn appends_and_reads(store: &dyn Store) {
    let sealer = sealer(1);
    let appended = store
        .audit()
        .append(&[record("cli", "audit.verify", 10)], &[], &sealer)
        .await
        .unwrap();
    assert_eq!(appended[0].seq, 1);
    let found = store
        .audit()
        .search(&AuditFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_verifies(store, &sealer).await;
}

fn assert_behind(e: &StoreError) {
    assert!(matches!(e, StoreError::SchemaBehind { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("run `gatehouse serve` or `gatehouse init` once"),
        "{e}"
    );
}

#[tokio::test]
async fn sqlite_existing_is_never_created_or_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let e = SqliteStore::open_existing(&path).await.err().unwrap();
    assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
    assert!(e.to_string().contains("run `gatehouse init`"), "{e}");
    assert!(!path.exists(), "nothing created");

    SqliteStore::open(&path).await.unwrap().close().await;
    let store = SqliteStore::open_existing(&path).await.unwrap();
    appends_and_reads(&store).await;
    store.close().await;

    // One migration short (a database an older release left): refused, and
    // still one short afterwards.
    let raw =
        sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&path))
            .await
            .unwrap();
    let newest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&raw)
        .await
        .unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(newest)
        .execute(&raw)
        .await
        .unwrap();
    assert_behind(&SqliteStore::open_existing(&path).await.err().unwrap());
    let after: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(after, newest - 1, "not migrated");

    // Newer than this build.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'x', TRUE, X'00', 0), ($2, 'from the future', TRUE, X'00', 0)",
    )
    .bind(newest)
    .bind(newest + 100)
    .execute(&raw)
    .await
    .unwrap();
    let e = SqliteStore::open_existing(&path).await.err().unwrap();
    assert!(matches!(e, StoreError::SchemaAhead { .. }), "{e:?}");
    raw.close().await;

    // A file that is not a migrated database.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    assert_behind(&SqliteStore::open_existing(&empty).await.err().unwrap());
}

#[tokio::test]
async fn postgres_existing_is_never_migrated() {
    let Some(url) = pg_url() else { return };
    // A schema with no tables: refused, and still without tables.
    let empty = pg_schema();
    let raw = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {empty}"))
        .execute(&raw)
        .await
        .unwrap();
    let e = PgStore::connect_existing_in_schema(&url, &empty)
        .await
        .err()
        .unwrap();
    assert_behind(&e);
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&empty)
    .fetch_one(&raw)
    .await
    .unwrap();
    assert_eq!(tables, 0, "not migrated");

    let schema = pg_schema();
    PgStore::connect_in_schema(&url, &schema)
        .await
        .unwrap()
        .close()
        .await;
    let store = PgStore::connect_existing_in_schema(&url, &schema)
        .await
        .unwrap();
    // Transactions are read-only by default; the chain lock's appends.
    appends_and_reads(&store).await;
    store.close().await;

    sqlx::query(&format!(
        "DELETE FROM {schema}._sqlx_migrations \
         WHERE version = (SELECT MAX(version) FROM {schema}._sqlx_migrations)"
    ))
    .execute(&raw)
    .await
    .unwrap();
    assert_behind(
        &PgStore::connect_existing_in_schema(&url, &schema)
            .await
            .err()
            .unwrap(),
    );
    raw.close().await;
}
