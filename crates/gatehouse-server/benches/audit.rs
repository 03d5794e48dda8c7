//! `make bench`: the audit trail's speed on SQLite, side by side with a raw
//! baseline in the same run (issue 4's targets, figures in BENCHMARKS.md).
//!
//! 1. ingest: the chained, checkpointed append (`AuditStore::append`, batches of
//!    1,000, one transaction each) against a raw batched INSERT of the same rows
//!    into the same schema with no chain, no idempotency check and no checkpoints;
//! 2. fill the trail up to `BENCH_RECORDS` (default 10,000,000);
//! 3. query: filtered first pages of 100 and later keyset pages;
//! 4. verify the whole trail;
//! 5. export 1,000,000 records to CSV through `gatehouse audit export`, timing it
//!    and reading the child's peak resident memory (VmHWM).
//!
//! Environment: `BENCH_RECORDS`, `BENCH_DIR` (default: a temporary directory; the
//! 10 M-record database takes about 6 GB).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use gatehouse_audit::{CheckpointPolicy, CheckpointSigner, Record, Sealer};
use gatehouse_server::audit::verify_trail;
use gatehouse_store::{AuditFilter, AuditStore, Page, SqliteStore, Store};
use gatehouse_types::OUTCOMES;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Records per transaction: what the server's writer commits at once under
/// sustained load (it takes everything queued, up to 16,384 records).
const BATCH: usize = 10_000;
const INGEST_RECORDS: u64 = 1_000_000;
const EXPORT_RECORDS: u64 = 1_000_000;
const T0_US: i64 = 1_790_000_000_000_000;
/// Records per simulated second of trail time (so time filters mean something).
const PER_SECOND: u64 = 200;

const ACTIONS: [&str; 20] = [
    "server.read",
    "api_tokens.list",
    "api_tokens.create",
    "api_tokens.revoke",
    "audit.search",
    "order.create",
    "order.read",
    "order.update",
    "order.delete",
    "payment.capture",
    "payment.refund",
    "user.login",
    "user.logout",
    "user.update",
    "invoice.read",
    "invoice.send",
    "cart.add",
    "cart.remove",
    "report.export",
    "profile.read",
];

/// A small deterministic generator, so every run writes the same trail.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn record(g: &mut Gen, i: u64) -> Record {
    let actor = g.below(1000);
    let outcome = match g.below(100) {
        0..=84 => 0,
        85..=94 => 1,
        95..=98 => 2,
        _ => 3,
    };
    Record {
        time_us: T0_US + (i / PER_SECOND) as i64 * 1_000_000 + (i % PER_SECOND) as i64,
        event_id: Some(format!("evt-{i:012}")),
        actor_kind: "service".into(),
        actor_id: format!("svc-{actor:04}"),
        actor_name: format!("service {actor}"),
        on_behalf_of: Some(format!("user-{}", g.below(50_000))),
        action: ACTIONS[g.below(ACTIONS.len() as u64) as usize].into(),
        resource_type: "order".into(),
        resource_id: format!("ord-{}", g.below(1_000_000)),
        outcome: OUTCOMES[outcome].into(),
        status: 0,
        source_ip: format!("10.{}.{}.{}", g.below(4), g.below(40), g.below(40)),
        user_agent: "orders-service/2.3 (+reqwest)".into(),
        // The server's request ids are UUIDv7: time first, then random.
        request_id: format!("{:012x}-{:016x}", i, g.next()),
        before: None,
        after: None,
        details: Some(format!(
            "{{\"occurred_at\":\"2026-09-21T10:00:00Z\",\"reported\":{{\"amount\":{},\"currency\":\"EUR\"}}}}",
            g.below(100_000)
        )),
    }
}

fn batch(g: &mut Gen, from: u64, n: usize) -> Vec<Record> {
    (from..from + n as u64).map(|i| record(g, i)).collect()
}

fn sealer() -> Sealer {
    Sealer {
        signer: CheckpointSigner::from_secret(&[42; 32]),
        policy: CheckpointPolicy::default(),
    }
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The baseline: the same rows, the same table and indexes, inserted raw.
async fn raw_ingest(path: &std::path::Path, n: u64) -> Duration {
    // Creates the same schema through the store's own migrations.
    SqliteStore::open(path).await.unwrap().close().await;
    let options = SqliteConnectOptions::from_str("sqlite://")
        .unwrap()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .pragma("cache_size", "-65536");
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let mut g = Gen(7);
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let rows = batch(&mut g, done, BATCH);
        let mut tx = pool.begin().await.unwrap();
        for chunk in rows.chunks(500) {
            let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO audit_records (seq, hash, time_us, event_id, actor_kind, actor_id, \
                 actor_name, on_behalf_of, action, resource_type, resource_id, outcome, status, \
                 source_ip, user_agent, request_id, before_json, after_json, details_json) ",
            );
            let base = done;
            q.push_values(chunk.iter().enumerate(), |mut b, (i, r)| {
                b.push_bind((base + i as u64 + 1) as i64)
                    .push_bind(vec![0u8; 32])
                    .push_bind(r.time_us)
                    .push_bind(r.event_id.clone())
                    .push_bind(r.actor_kind.clone())
                    .push_bind(r.actor_id.clone())
                    .push_bind(r.actor_name.clone())
                    .push_bind(r.on_behalf_of.clone())
                    .push_bind(r.action.clone())
                    .push_bind(r.resource_type.clone())
                    .push_bind(r.resource_id.clone())
                    .push_bind(r.outcome.clone())
                    .push_bind(r.status)
                    .push_bind(r.source_ip.clone())
                    .push_bind(r.user_agent.clone())
                    .push_bind(r.request_id.clone())
                    .push_bind(r.before.clone())
                    .push_bind(r.after.clone())
                    .push_bind(r.details.clone());
            });
            q.build().execute(&mut *tx).await.unwrap();
            done += chunk.len() as u64;
        }
        tx.commit().await.unwrap();
    }
    let elapsed = started.elapsed();
    pool.close().await;
    elapsed
}

async fn chained_ingest(
    store: &SqliteStore,
    sealer: &Sealer,
    g: &mut Gen,
    from: u64,
    n: u64,
) -> Duration {
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let rows = batch(g, from + done, BATCH);
        store.append(&rows, &[], sealer).await.unwrap();
        done += BATCH as u64;
    }
    started.elapsed()
}

struct Timing {
    first: Vec<Duration>,
    later: Vec<Duration>,
    rows: usize,
}

async fn time_query(
    store: &SqliteStore,
    filter: &AuditFilter,
    runs: usize,
    pages: usize,
) -> Timing {
    let mut first = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let page = store.search(filter, 100).await.unwrap();
        first.push(t.elapsed());
        rows = page.len();
    }
    let mut later = Vec::new();
    let mut f = filter.clone();
    let mut page = store.search(&f, 100).await.unwrap();
    for _ in 0..pages {
        let Some(last) = page.last() else { break };
        f.page = Page::Newest {
            before: Some(last.seq),
        };
        let t = Instant::now();
        page = store.search(&f, 100).await.unwrap();
        later.push(t.elapsed());
    }
    Timing { first, later, rows }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn max(v: &[Duration]) -> Duration {
    v.iter().max().copied().unwrap_or_default()
}

/// The `gatehouse` binary (gatehouse-cli's) beside this bench's own directory:
/// `make bench-audit` builds it first.
fn gatehouse_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("gatehouse");
    assert!(
        bin.exists(),
        "build it first: cargo build --release --bin gatehouse"
    );
    bin
}

/// Runs `gatehouse audit export` and samples its VmHWM until it exits.
fn export_child(dir: &std::path::Path, to: &str) -> (Duration, u64, u64) {
    let started = Instant::now();
    let out = dir.join(format!("export-{}.csv", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let mut child = std::process::Command::new(gatehouse_bin())
        .args(["audit", "export", "--format", "csv", "--to", to, "--output"])
        .arg(&out)
        .env("GATEHOUSE_DATA_DIR", dir)
        .env("GATEHOUSE_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kb) = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&out);
    (elapsed, peak_kb, bytes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let total: u64 = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let total = total.max(INGEST_RECORDS).div_ceil(BATCH as u64) * BATCH as u64;
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("gatehouse.db");
    let raw_db = dir.join("raw.db");
    let keep = std::env::var("BENCH_REUSE").as_deref() == Ok("1");
    for p in [&db, &raw_db] {
        if keep && p == &db {
            continue;
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
    }
    println!(
        "audit benchmark: SQLite (WAL, synchronous=FULL), batches of {BATCH}, {total} records"
    );

    // BENCH_REUSE=1 keeps a database filled by an earlier run (skips 1 and 2).
    let reuse = std::env::var("BENCH_REUSE").as_deref() == Ok("1") && db.exists();
    let store = SqliteStore::open(&db).await.unwrap();
    let sealer = sealer();
    if reuse {
        println!(
            "reusing {} ({} records)",
            db.display(),
            store.last_seq().await.unwrap()
        );
    } else {
        // 1. Ingest, side by side.
        let raw = raw_ingest(&raw_db, INGEST_RECORDS).await;
        let mut g = Gen(7);
        let chained = chained_ingest(&store, &sealer, &mut g, 0, INGEST_RECORDS).await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", raw_db.display()));
        }
        let (raw_rate, chained_rate) = (rate(INGEST_RECORDS, raw), rate(INGEST_RECORDS, chained));
        println!("ingest  raw batched INSERT, no chain     {:>10.0} records/s  ({INGEST_RECORDS} in {:.1} s)", raw_rate, raw.as_secs_f64());
        println!("ingest  chain + checkpoints + idempotency {:>10.0} records/s  ({INGEST_RECORDS} in {:.1} s)  = {:.2}x raw", chained_rate, chained.as_secs_f64(), chained_rate / raw_rate);

        // 2. Fill.
        let fill = total - INGEST_RECORDS;
        if fill > 0 {
            let d = chained_ingest(&store, &sealer, &mut g, INGEST_RECORDS, fill).await;
            println!("fill    chain + checkpoints               {:>10.0} records/s  ({fill} more in {:.1} s, trail now {total})", rate(fill, d), d.as_secs_f64());
        }
        // A running server refreshes the planner's statistics hourly.
        store.optimize().await.unwrap();
        let checkpoints = store.checkpoints().await.unwrap().len();
        println!("        checkpoints signed: {checkpoints}");
    }
    // 3. Query.
    let last_hour_from = T0_US + ((total / PER_SECOND) as i64 - 3600) * 1_000_000;
    let cases: Vec<(&str, AuditFilter)> = vec![
        (
            "actor",
            AuditFilter {
                actor: Some("svc-0042".into()),
                ..Default::default()
            },
        ),
        (
            "action + outcome=denied",
            AuditFilter {
                action: Some("order.delete".into()),
                outcome: Some("denied".into()),
                ..Default::default()
            },
        ),
        (
            "actor + action",
            AuditFilter {
                actor: Some("svc-0007".into()),
                action: Some("payment.refund".into()),
                ..Default::default()
            },
        ),
        (
            "source + last hour",
            AuditFilter {
                source_ip: Some("10.1.2.3".into()),
                from_us: Some(last_hour_from),
                ..Default::default()
            },
        ),
        (
            "resource",
            AuditFilter {
                resource_type: Some("order".into()),
                resource_id: Some(record(&mut Gen(7), 0).resource_id),
                ..Default::default()
            },
        ),
        (
            "outcome=failed",
            AuditFilter {
                outcome: Some("failed".into()),
                ..Default::default()
            },
        ),
        (
            "actor + free text",
            AuditFilter {
                actor: Some("svc-0099".into()),
                text: Some("user-12".into()),
                ..Default::default()
            },
        ),
        (
            "request id",
            AuditFilter {
                request_id: Some(record(&mut Gen(7), 0).request_id),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in &cases {
        let mut t = time_query(&store, filter, 21, 50).await;
        let first_max = max(&t.first);
        let later_max = max(&t.later);
        println!(
            "query   {name:<26} first page ({:>3} rows) median {:>6.2} ms, max {:>6.2} ms; {} later pages median {:>6.2} ms, max {:>6.2} ms",
            t.rows,
            millis(median(&mut t.first)),
            millis(first_max),
            t.later.len(),
            millis(median(&mut t.later)),
            millis(later_max)
        );
    }

    // 4. Verify.
    let t = Instant::now();
    let report = verify_trail(&store, &[sealer.signer.verifying_key()], None)
        .await
        .unwrap();
    let d = t.elapsed();
    assert!(report.is_intact, "{report:?}");
    println!(
        "verify  {} records, {} checkpoints matched   {:>10.0} records/s  ({:.1} s)",
        report.records,
        report.checkpoints_matched,
        rate(report.records, d),
        d.as_secs_f64()
    );
    store.close().await;

    // 5. Export the first million records through the CLI, in its own process.
    std::fs::write(dir.join("audit-checkpoint.key"), hex::encode([42u8; 32])).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("audit-checkpoint.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let to = chrono::DateTime::from_timestamp_micros(
        T0_US + (EXPORT_RECORDS / PER_SECOND) as i64 * 1_000_000,
    )
    .unwrap()
    .to_rfc3339();
    let (d, peak_kb, bytes) = export_child(&dir, &to);
    println!(
        "export  {EXPORT_RECORDS} records to CSV (gatehouse audit export): {:.2} s, {:.0} MB written, peak RSS {:.1} MB",
        d.as_secs_f64(),
        bytes as f64 / 1e6,
        peak_kb as f64 / 1024.0
    );
}
