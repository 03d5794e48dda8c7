//! The same store tests on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use gatehouse_store::{ApiTokenRow, Backend, PgStore, SqliteStore, Store, StoreError};

/// One fresh store per backend that is available; PostgreSQL is required when
/// `GATEHOUSE_TEST_REQUIRE_POSTGRES=1`.
async fn stores(dir: &std::path::Path) -> Vec<Arc<dyn Store>> {
    let mut stores: Vec<Arc<dyn Store>> = vec![Arc::new(
        SqliteStore::open(&dir.join("nested/dir/g.db"))
            .await
            .unwrap(),
    )];
    match std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            stores.push(Arc::new(
                PgStore::connect_in_schema(&url, &schema).await.unwrap(),
            ));
        }
        _ if std::env::var("GATEHOUSE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("GATEHOUSE_TEST_REQUIRE_POSTGRES=1 but GATEHOUSE_TEST_DATABASE_URL is unset")
        }
        _ => eprintln!("skipped PostgreSQL: GATEHOUSE_TEST_DATABASE_URL is unset"),
    }
    stores
}

fn row(name: &str, role: &str, hash_byte: u8, expires_at_us: i64) -> ApiTokenRow {
    ApiTokenRow {
        id: uuid::Uuid::new_v4(),
        name: name.into(),
        role: role.into(),
        secret_hash: vec![hash_byte; 32],
        created_at_us: 1_000,
        expires_at_us,
        revoked_at_us: None,
        created_by: None,
    }
}

#[tokio::test]
async fn create_find_list_revoke_count() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let tokens = store.api_tokens();
        let a = row("a", "administrator", 1, 10_000);
        let mut b = row("b", "auditor", 2, 10_000);
        b.created_by = Some(a.id);
        b.created_at_us = 2_000;
        tokens.create(&a).await.unwrap();
        tokens.create(&b).await.unwrap();

        assert_eq!(tokens.find(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(tokens.find(uuid::Uuid::new_v4()).await.unwrap(), None);
        assert_eq!(
            tokens.find_by_secret_hash(&[2; 32]).await.unwrap(),
            Some(b.clone())
        );
        assert_eq!(tokens.find_by_secret_hash(&[3; 32]).await.unwrap(), None);
        assert_eq!(tokens.list().await.unwrap(), vec![a.clone(), b.clone()]);

        assert_eq!(
            tokens.count_active("administrator", 5_000).await.unwrap(),
            1
        );
        assert_eq!(
            tokens.count_active("administrator", 10_000).await.unwrap(),
            0,
            "expired at its expiry"
        );
        let revoked = tokens.update_revoked(a.id, 3_000).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at_us, Some(3_000));
        let again = tokens.update_revoked(a.id, 4_000).await.unwrap().unwrap();
        assert_eq!(
            again.revoked_at_us,
            Some(3_000),
            "first revocation time is kept"
        );
        assert_eq!(
            tokens.count_active("administrator", 5_000).await.unwrap(),
            0
        );
        assert_eq!(
            tokens
                .update_revoked(uuid::Uuid::new_v4(), 1)
                .await
                .unwrap(),
            None
        );
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn duplicates_and_dangling_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let tokens = store.api_tokens();
        let a = row("a", "administrator", 1, 10_000);
        tokens.create(&a).await.unwrap();
        let same_hash = row("b", "auditor", 1, 10_000);
        assert!(matches!(
            tokens.create(&same_hash).await,
            Err(StoreError::Conflict)
        ));
        let mut same_id = row("c", "auditor", 9, 10_000);
        same_id.id = a.id;
        assert!(matches!(
            tokens.create(&same_id).await,
            Err(StoreError::Conflict)
        ));
        let mut dangling = row("d", "auditor", 8, 10_000);
        dangling.created_by = Some(uuid::Uuid::new_v4());
        assert!(
            tokens.create(&dangling).await.is_err(),
            "{:?}",
            store.backend()
        );
        // None of the refused rows landed.
        assert_eq!(tokens.list().await.unwrap(), vec![a]);
    }
}

#[tokio::test]
async fn reopening_keeps_the_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let a = row("a", "administrator", 1, 10_000);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.api_tokens().create(&a).await.unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.api_tokens().list().await.unwrap(), vec![a]);
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    assert!(matches!(
        gatehouse_store::open("mysql://x").await,
        Err(StoreError::UnsupportedUrl)
    ));
    let e = gatehouse_store::open("postgres://nobody:wrong@127.0.0.1:1/none")
        .await
        .err()
        .unwrap();
    assert!(
        !e.to_string().contains("wrong"),
        "never echo the password: {e}"
    );
    let e = PgStore::connect_in_schema("postgres://127.0.0.1:1/x", "Robert'); DROP")
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("schema name"), "{e}");
}
