//! The same store tests on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod audit_search;
mod authorizations;
mod capacity;
mod challenges;
mod existing;
mod policies;
mod sessions;
mod tokens;
mod users;
mod waf_settings;

use std::sync::Arc;

use gatehouse_audit::{
    CheckpointPolicy, CheckpointSigner, Outcome, Record, Report, Sealer, StoredEntry, Verifier,
    VerifyingKey,
};
use gatehouse_store::{
    ApiTokenRow, AuditStore, Backend, PgStore, Revoked, SqliteStore, Store, StoreError,
};

/// The PostgreSQL test database, if configured; required when
/// `GATEHOUSE_TEST_REQUIRE_POSTGRES=1`.
fn pg_url() -> Option<String> {
    match std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("GATEHOUSE_TEST_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("GATEHOUSE_TEST_REQUIRE_POSTGRES=1 but GATEHOUSE_TEST_DATABASE_URL is unset")
        }
        _ => {
            eprintln!("skipped PostgreSQL: GATEHOUSE_TEST_DATABASE_URL is unset");
            None
        }
    }
}

/// A fresh schema name for one PostgreSQL store.
fn pg_schema() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// One fresh store per backend that is available.
async fn stores(dir: &std::path::Path) -> Vec<Arc<dyn Store>> {
    let mut stores: Vec<Arc<dyn Store>> = vec![Arc::new(
        SqliteStore::open(&dir.join("nested/dir/g.db"))
            .await
            .unwrap(),
    )];
    if let Some(url) = pg_url() {
        stores.push(Arc::new(
            PgStore::connect_in_schema(&url, &pg_schema())
                .await
                .unwrap(),
        ));
    }
    stores
}

/// A sealer from a fixed secret; checkpoints every `every_records` records (and,
/// in effect, never by time).
fn sealer(every_records: u64) -> Sealer {
    Sealer {
        signer: CheckpointSigner::from_secret(&[42; 32]),
        policy: CheckpointPolicy {
            every_records,
            every_us: i64::MAX,
        },
    }
}

/// A successful request's record by `actor` doing `action` at `time_us`.
fn record(actor: &str, action: &str, time_us: i64) -> Record {
    Record {
        time_us,
        actor_kind: "api_token".into(),
        actor_id: actor.into(),
        actor_name: format!("{actor}-name"),
        action: action.into(),
        resource_type: "api_token".into(),
        resource_id: "r1".into(),
        outcome: Outcome::Success.as_str().into(),
        status: 200,
        source_ip: "127.0.0.1".into(),
        user_agent: "store-tests".into(),
        request_id: format!("req-{action}-{time_us}"),
        ..Record::default()
    }
}

/// Verifies the whole stored trail, read in pages, against its checkpoints.
async fn verify(audit: &dyn AuditStore, keys: &[VerifyingKey]) -> Report {
    let mut verifier = Verifier::new(audit.checkpoints().await.unwrap(), keys);
    let mut after = 0;
    loop {
        let page = audit.read_after(after, 64).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            let canonical = r.record.canonical();
            verifier.push(StoredEntry {
                seq: r.seq,
                canonical: &canonical,
                hash: r.hash,
            });
        }
    }
    verifier.finish()
}

/// Asserts the trail verifies and returns its report.
async fn assert_verifies(store: &dyn Store, sealer: &Sealer) -> Report {
    let report = verify(store.audit(), &[sealer.signer.verifying_key()]).await;
    assert_eq!(report.finding, None, "{:?}", store.backend());
    report
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

fn created(row: &ApiTokenRow) -> Record {
    Record {
        resource_id: row.id.to_string(),
        ..record("setup", "api_tokens.create", row.created_at_us)
    }
}

/// The revocation record, carrying the revocation time before and after.
fn revoked(before: &ApiTokenRow, after: &ApiTokenRow) -> Record {
    Record {
        resource_id: after.id.to_string(),
        before: Some(format!("{:?}", before.revoked_at_us)),
        after: Some(format!("{:?}", after.revoked_at_us)),
        ..record("setup", "api_tokens.revoke", 5_000)
    }
}

const ADMIN: &str = "administrator";

#[tokio::test]
async fn create_find_list_revoke_count() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1_000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let tokens = store.api_tokens();
        let audit = store.audit();
        let a = row("a", ADMIN, 1, 10_000);
        let mut aud = row("b", "auditor", 2, 10_000);
        aud.created_by = Some(a.id);
        aud.created_at_us = 2_000;
        tokens.create(&a, &created(&a), &sealer).await.unwrap();
        tokens.create(&aud, &created(&aud), &sealer).await.unwrap();
        assert_eq!(audit.last_seq().await.unwrap(), 2, "one record per create");
        let stored = audit.read_after(0, 10).await.unwrap();
        assert_eq!(stored[1].record.resource_id, aud.id.to_string());

        assert_eq!(tokens.find(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(tokens.find(uuid::Uuid::new_v4()).await.unwrap(), None);
        assert_eq!(
            tokens.find_by_secret_hash(&[2; 32]).await.unwrap(),
            Some(aud.clone())
        );
        assert_eq!(tokens.find_by_secret_hash(&[3; 32]).await.unwrap(), None);
        assert_eq!(tokens.list().await.unwrap(), vec![a.clone(), aud.clone()]);

        assert_eq!(tokens.count_active(ADMIN, 5_000).await.unwrap(), 1);
        assert_eq!(
            tokens.count_active(ADMIN, 10_000).await.unwrap(),
            0,
            "expired at its expiry"
        );

        // The last active administrator cannot be revoked, and nothing is recorded.
        assert_eq!(
            tokens
                .revoke(a.id, 3_000, ADMIN, &revoked, &sealer)
                .await
                .unwrap(),
            Revoked::LastActive,
            "{b:?}"
        );
        assert_eq!(tokens.find(a.id).await.unwrap(), Some(a.clone()));
        assert_eq!(audit.last_seq().await.unwrap(), 2);
        // Other roles can be revoked while it stands.
        let Revoked::Done(r) = tokens
            .revoke(aud.id, 3_000, ADMIN, &revoked, &sealer)
            .await
            .unwrap()
        else {
            panic!("{b:?}: the auditor token is revocable")
        };
        assert_eq!(r.revoked_at_us, Some(3_000));

        let c = row("c", ADMIN, 3, 20_000);
        tokens.create(&c, &created(&c), &sealer).await.unwrap();
        let Revoked::Done(first) = tokens
            .revoke(a.id, 3_000, ADMIN, &revoked, &sealer)
            .await
            .unwrap()
        else {
            panic!("{b:?}: another administrator is active")
        };
        assert_eq!(first.revoked_at_us, Some(3_000));
        let Revoked::Done(again) = tokens
            .revoke(a.id, 4_000, ADMIN, &revoked, &sealer)
            .await
            .unwrap()
        else {
            panic!("{b:?}: revoking twice is not an error")
        };
        assert_eq!(
            again.revoked_at_us,
            Some(3_000),
            "first revocation time is kept"
        );
        assert_eq!(tokens.count_active(ADMIN, 5_000).await.unwrap(), 1);
        assert_eq!(
            tokens
                .revoke(uuid::Uuid::new_v4(), 1, ADMIN, &revoked, &sealer)
                .await
                .unwrap(),
            Revoked::Unknown
        );
        // c is now the only active administrator; once expired it is no longer
        // protected.
        assert_eq!(
            tokens
                .revoke(c.id, 19_999, ADMIN, &revoked, &sealer)
                .await
                .unwrap(),
            Revoked::LastActive
        );
        assert!(matches!(
            tokens
                .revoke(c.id, 20_000, ADMIN, &revoked, &sealer)
                .await
                .unwrap(),
            Revoked::Done(_)
        ));

        // 3 creates and 4 successful revocations, each exactly one record; the
        // revocation records saw the token before and after.
        let stored = audit.read_after(0, 100).await.unwrap();
        let actions: Vec<_> = stored.iter().map(|s| s.record.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "api_tokens.create",
                "api_tokens.create",
                "api_tokens.revoke",
                "api_tokens.create",
                "api_tokens.revoke",
                "api_tokens.revoke",
                "api_tokens.revoke",
            ],
            "{b:?}"
        );
        let (first_revoke, second_revoke) = (&stored[4].record, &stored[5].record);
        assert_eq!(first_revoke.resource_id, a.id.to_string());
        assert_eq!(first_revoke.before.as_deref(), Some("None"));
        assert_eq!(first_revoke.after.as_deref(), Some("Some(3000)"));
        assert_eq!(second_revoke.before.as_deref(), Some("Some(3000)"));
        assert_eq!(second_revoke.after.as_deref(), Some("Some(3000)"));
        assert_verifies(store.as_ref(), &sealer).await;
        store.ping().await.unwrap();
    }
}

#[tokio::test]
async fn duplicates_and_dangling_references_are_refused_without_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let tokens = store.api_tokens();
        let a = row("a", ADMIN, 1, 10_000);
        tokens.create(&a, &created(&a), &sealer).await.unwrap();
        let same_hash = row("b", "auditor", 1, 10_000);
        assert!(matches!(
            tokens
                .create(&same_hash, &created(&same_hash), &sealer)
                .await,
            Err(StoreError::Conflict)
        ));
        let mut same_id = row("c", "auditor", 9, 10_000);
        same_id.id = a.id;
        assert!(matches!(
            tokens.create(&same_id, &created(&same_id), &sealer).await,
            Err(StoreError::Conflict)
        ));
        let mut dangling = row("d", "auditor", 8, 10_000);
        dangling.created_by = Some(uuid::Uuid::new_v4());
        assert!(
            tokens
                .create(&dangling, &created(&dangling), &sealer)
                .await
                .is_err(),
            "{b:?}"
        );
        // None of the refused rows landed, nor their records or checkpoints.
        assert_eq!(tokens.list().await.unwrap(), vec![a.clone()]);
        assert_eq!(store.audit().last_seq().await.unwrap(), 1, "{b:?}");
        let checkpoints = store.audit().checkpoints().await.unwrap();
        assert_eq!(checkpoints.len(), 1, "{b:?}");
        assert_eq!(checkpoints[0].seq, 1);
        // And the chain goes on from there.
        let e = row("e", "auditor", 7, 10_000);
        tokens.create(&e, &created(&e), &sealer).await.unwrap();
        assert_eq!(store.audit().last_seq().await.unwrap(), 2);
        assert_eq!(assert_verifies(store.as_ref(), &sealer).await.records, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_keep_one_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let sealer = Arc::new(sealer(1_000));
    for store in stores(dir.path()).await {
        let b = store.backend();
        let admins: Vec<_> = (0..6u8)
            .map(|i| row("admin", ADMIN, i, 1_000_000))
            .collect();
        for a in &admins {
            store
                .api_tokens()
                .create(a, &created(a), &sealer)
                .await
                .unwrap();
        }
        let tasks: Vec<_> = admins
            .iter()
            .map(|a| {
                let (store, sealer, id) = (store.clone(), sealer.clone(), a.id);
                tokio::spawn(async move {
                    store
                        .api_tokens()
                        .revoke(id, 2_000, ADMIN, &revoked, &sealer)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut done = 0;
        let mut refused = 0;
        for t in tasks {
            match t.await.unwrap() {
                Revoked::Done(_) => done += 1,
                Revoked::LastActive => refused += 1,
                Revoked::Unknown => panic!("{b:?}: every token exists"),
            }
        }
        assert_eq!((done, refused), (5, 1), "{b:?}");
        assert_eq!(
            store.api_tokens().count_active(ADMIN, 2_000).await.unwrap(),
            1
        );
        assert_eq!(store.audit().last_seq().await.unwrap(), 6 + 5, "{b:?}");
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn reopening_keeps_the_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    let sealer = sealer(1);
    let a = row("a", ADMIN, 1, 10_000);
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store
            .api_tokens()
            .create(&a, &created(&a), &sealer)
            .await
            .unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.api_tokens().list().await.unwrap(), vec![a]);
    assert_eq!(store.audit().last_seq().await.unwrap(), 1);
    assert_eq!(
        assert_verifies(&store, &sealer).await.checkpoints_matched,
        1
    );
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
