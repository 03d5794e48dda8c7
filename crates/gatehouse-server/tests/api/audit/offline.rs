//! `gatehouse audit verify|export` without a server (AU-9): each run is recorded
//! in the trail, as the operator, before it shows anything; a run that cannot be
//! recorded shows nothing; the database is never created or migrated by them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::TimeZone;
use gatehouse_server::audit::offline::{self, ExportRequest};
use gatehouse_server::audit::ExportFormat;
use gatehouse_server::clock::ManualClock;
use gatehouse_server::config::Config;
use gatehouse_server::ServerError;
use gatehouse_store::{AuditFilter, PgStore, Store, StoredRecord};
use gatehouse_testkit::{on_both_databases, Db};
use serde_json::{json, Map, Value};

/// A data directory as `gatehouse init` leaves it (database, key, the first
/// token's record), the config that names it, and a way to run raw SQL on it.
struct DataDir {
    config: Config,
    store: Arc<dyn Store>,
    raw: Raw,
    _dir: tempfile::TempDir,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    async fn execute(&self, sql: &str) {
        match self {
            Raw::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
            Raw::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(|_| ()),
        }
        .unwrap();
    }
}

fn clock() -> ManualClock {
    ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap())
}

async fn data_dir(db: &Db) -> DataDir {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    if let Db::Postgres(url) = db {
        // A schema of its own, named in the URL like an operator would.
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        PgStore::connect_in_schema(url, &schema)
            .await
            .unwrap()
            .close()
            .await;
        let sep = if url.contains('?') { '&' } else { '?' };
        config.database_url = Some(format!("{url}{sep}options=-c%20search_path%3D{schema}"));
    }
    let prepared = gatehouse_server::prepare(config.clone()).await.unwrap();
    gatehouse_server::init(&prepared, &clock(), false)
        .await
        .unwrap();
    let raw = match db {
        Db::Sqlite => Raw::Sqlite(
            sqlx::SqlitePool::connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(config.data_dir.join("gatehouse.db")),
            )
            .await
            .unwrap(),
        ),
        Db::Postgres(_) => Raw::Postgres(
            sqlx::PgPool::connect(config.database_url.as_deref().unwrap())
                .await
                .unwrap(),
        ),
    };
    DataDir {
        config,
        store: prepared.store,
        raw,
        _dir: dir,
    }
}

async fn all_records(store: &dyn Store) -> Vec<StoredRecord> {
    let mut records = store
        .audit()
        .search(&AuditFilter::default(), 1_000)
        .await
        .unwrap();
    records.reverse();
    records
}

fn details(r: &StoredRecord) -> Value {
    serde_json::from_str(r.record.details.as_deref().unwrap()).unwrap()
}

fn request(filter: AuditFilter, query: Value) -> ExportRequest {
    let query: Map<String, Value> = serde_json::from_value(query).unwrap();
    ExportRequest {
        format: ExportFormat::Csv,
        filter,
        query,
        destination: "stdout",
    }
}

// proves: AU-9 (offline reads are audited)
async fn offline_runs_are_recorded(db: Db) {
    let d = data_dir(&db).await;
    let clock = clock();

    let report = offline::verify(&d.config, &clock).await.unwrap();
    assert!(report.is_intact);
    assert_eq!(report.records, 1, "the first token's record");
    let records = all_records(d.store.as_ref()).await;
    assert_eq!(records.len(), 2);
    let r = &records[1].record;
    assert_eq!(
        (r.actor_kind.as_str(), r.action.as_str(), r.outcome.as_str()),
        ("operator", "audit.verify", "success")
    );
    assert!(!r.actor_id.is_empty());
    assert_eq!(r.source_ip, "local");
    let result = &details(&records[1])["result"];
    assert_eq!(result["is_intact"], true);
    assert_eq!(result["records"], 1);

    // The filters (redacted like any query) and the format are in the record,
    // which is committed before the first row is read.
    let token = format!("gh_{}", "x".repeat(43));
    let filter = AuditFilter {
        action: Some("api_tokens.create".into()),
        ..AuditFilter::default()
    };
    let query = json!({"action": "api_tokens.create", "q": format!("Bearer {token}")});
    let mut out = Vec::new();
    let n = offline::export(&d.config, &clock, request(filter, query), || Ok(&mut out))
        .await
        .unwrap();
    assert_eq!(n, 1);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    let records = all_records(d.store.as_ref()).await;
    let export = &records[2];
    assert_eq!(export.record.action, "audit.export");
    assert_eq!(export.record.actor_kind, "operator");
    let detail = details(export);
    assert_eq!(detail["format"], "csv");
    assert_eq!(detail["output"], "stdout");
    assert_eq!(detail["query"]["action"], "api_tokens.create");
    assert_eq!(detail["query"]["q"], "Bearer [redacted]");
    assert!(!export.record.details.as_deref().unwrap().contains(&token));

    // The whole trail: its last row is the export's own record.
    let mut out = Vec::new();
    offline::export(
        &d.config,
        &clock,
        request(AuditFilter::default(), json!({})),
        || Ok(&mut out),
    )
    .await
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1 + 4);
    assert!(
        text.lines().last().unwrap().contains("audit.export"),
        "{text}"
    );

    let report = offline::verify(&d.config, &clock).await.unwrap();
    assert!(report.is_intact);
    assert_eq!(report.records, 4);
}

// proves: AU-9 (an offline read that cannot be recorded shows nothing)
async fn offline_runs_fail_closed(db: Db) {
    let d = data_dir(&db).await;
    let clock = clock();
    // The trail refuses every new record.
    match &d.raw {
        Raw::Sqlite(_) => {
            d.raw
                .execute(
                    "CREATE TRIGGER refuse BEFORE INSERT ON audit_records \
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
                )
                .await
        }
        Raw::Postgres(_) => {
            d.raw
                .execute(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
                     CREATE TRIGGER refuse BEFORE INSERT ON audit_records \
                     FOR EACH ROW EXECUTE FUNCTION refuse();",
                )
                .await
        }
    }
    let opened = AtomicBool::new(false);
    let e = offline::export(
        &d.config,
        &clock,
        request(AuditFilter::default(), json!({})),
        || {
            opened.store(true, Ordering::SeqCst);
            Ok(Vec::new())
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ServerError::NotRecorded(_)), "{e:?}");
    assert!(e.to_string().contains("cannot record this command"), "{e}");
    assert!(!opened.load(Ordering::SeqCst), "nothing was written");

    let e = offline::verify(&d.config, &clock).await.unwrap_err();
    assert!(matches!(e, ServerError::NotRecorded(_)), "{e:?}");
    assert_eq!(all_records(d.store.as_ref()).await.len(), 1);
}

on_both_databases!(offline_runs_are_recorded, offline_runs_fail_closed);

/// No database: refused with the fix named, and none is created.
#[tokio::test]
async fn offline_runs_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let e = offline::verify(&config, &clock()).await.unwrap_err();
    assert!(e.to_string().contains("run `gatehouse init`"), "{e}");
    assert!(!config.data_dir.exists());
}
