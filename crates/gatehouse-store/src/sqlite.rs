use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::SqlitePool;

use crate::api_token::impl_api_token_store;
use crate::audit::impl_audit_store;
use crate::{ApiTokenStore, AuditStore, Backend, Store, StoreError, StoreOptions};

/// The default store: one SQLite file in WAL mode. Appends go through sqlx on a
/// pool of their own; the audit trail's bulk reads (search, export, verification)
/// through rusqlite on read-only connections, which reads rows several times
/// faster than sqlx's worker-thread protocol and lets verification borrow every
/// field in place; the other reads through sqlx's read pool.
pub struct SqliteStore {
    /// Reads of the blocked log, each under the read deadline.
    pool: SqlitePool,
    /// Lookups by key (tokens, policies) and the health check, likewise: a pool
    /// the blocked log's reads never take.
    lookup: SqlitePool,
    /// Appends and migrations only (see [`StoreOptions::writer_connections`]).
    writer: SqlitePool,
    /// The transactions that hold the write lock from their first statement
    /// (the audit chain's appends, and the changes committed with their
    /// record): one connection, as SQLite has one write lock. Its page cache
    /// stays warm from one commit to the next; two connections taking turns
    /// each found the other's commit and reread every page they touched.
    chain: SqlitePool,
    path: PathBuf,
    readers: Arc<Mutex<Vec<rusqlite::Connection>>>,
    read_timeout: Option<Duration>,
}

/// Read-only connections kept for reuse.
const MAX_IDLE_READERS: usize = 4;
/// Virtual machine instructions between two looks at a read's deadline: a few
/// microseconds of work, so a deadline is noticed promptly, for a clock read.
const PROGRESS_OPS: i32 = 1000;

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs the migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, &StoreOptions::default()).await
    }

    /// As [`SqliteStore::open`], with the writer pool's size and the read timeout
    /// from `options`.
    pub async fn open_with(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let connect = connect_options(path)?.create_if_missing(true);
        // No ping before each hand-out: a file's connection does not drop, and
        // one that failed fails its first statement, which the append reports
        // (the ping was one more round trip to the connection's worker thread
        // for every commit of the audit trail).
        let writer = SqlitePoolOptions::new()
            .max_connections(options.writer_connections.max(1))
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await?;
        crate::schema::SQLITE.run(&writer).await?;
        // Planner statistics, bounded in cost: without them SQLite may walk the
        // index of a common value (an action) instead of a rare one (an actor).
        optimize(&writer).await?;
        let chain = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(connect.clone())
            .await?;
        let mut reads = SqlitePoolOptions::new().max_connections(8);
        if let Some(limit) = options.read_timeout {
            // Every hand-out of a connection arms a fresh deadline: a pooled
            // connection runs one query per acquisition here. Reaching the
            // connection's worker to arm it also proves it alive, so the pool's
            // own ping (one more round trip to the worker) is left out.
            reads = reads
                .test_before_acquire(false)
                .after_connect(move |conn, _| Box::pin(arm_deadline(conn, limit)))
                .before_acquire(move |conn, _| {
                    Box::pin(async move { arm_deadline(conn, limit).await.map(|()| true) })
                });
        }
        let lookup = reads
            .clone()
            .max_connections(crate::LOOKUP_CONNECTIONS)
            .connect_with(connect.clone())
            .await?;
        let pool = reads.connect_with(connect).await?;
        Ok(Self {
            pool,
            lookup,
            writer,
            chain,
            path: path.to_owned(),
            readers: Arc::default(),
            read_timeout: options.read_timeout,
        })
    }

    /// Opens an existing database file as it is, for the offline commands: nothing
    /// is created or migrated, and a schema that is not exactly this build's is
    /// refused. The trail is read through read-only connections as always; the
    /// write pool only appends.
    pub async fn open_existing(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotFound(path.display().to_string()));
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(connect_options(path)?)
            .await?;
        let applied = sqlx::query_scalar(crate::schema::APPLIED_SQL)
            .fetch_all(&pool)
            .await;
        if let Err(e) = crate::schema::check(&crate::schema::SQLITE, applied) {
            pool.close().await;
            return Err(e);
        }
        Ok(Self {
            writer: pool.clone(),
            chain: pool.clone(),
            lookup: pool.clone(),
            pool,
            path: path.to_owned(),
            readers: Arc::default(),
            read_timeout: None,
        })
    }

    /// A transaction holding SQLite's one write lock from its first statement, so
    /// the chain head it reads cannot move before it commits.
    pub(crate) async fn begin_chain(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.chain.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Interrupts whatever the connection runs once `limit` has passed from now.
async fn arm_deadline(conn: &mut SqliteConnection, limit: Duration) -> Result<(), sqlx::Error> {
    let deadline = Instant::now() + limit;
    conn.lock_handle()
        .await?
        .set_progress_handler(PROGRESS_OPS, move || Instant::now() < deadline);
    Ok(())
}

impl_api_token_store!(SqliteStore);
crate::policy::impl_policy_store!(SqliteStore);
crate::tokens::impl_token_stores!(SqliteStore);
crate::users::impl_user_store!(SqliteStore);
crate::user_types::impl_user_type_store!(SqliteStore);
crate::waf_settings::impl_waf_settings_store!(SqliteStore);
crate::credentials::impl_credential_store!(SqliteStore);
crate::sessions::impl_session_store!(SqliteStore);
crate::challenges::impl_challenge_store!(SqliteStore);
crate::authorizations::impl_authorization_store!(SqliteStore);
impl_audit_store!(SqliteStore, sqlx::Sqlite, "LIKE");

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn api_tokens(&self) -> &dyn ApiTokenStore {
        self
    }

    fn audit(&self) -> &dyn AuditStore {
        self
    }
    fn policies(&self) -> &dyn crate::PolicyStore {
        self
    }
    fn signing_keys(&self) -> &dyn crate::SigningKeyStore {
        self
    }
    fn clients(&self) -> &dyn crate::ClientStore {
        self
    }
    fn token_events(&self) -> &dyn crate::TokenEventStore {
        self
    }

    fn users(&self) -> &dyn crate::UserStore {
        self
    }

    fn user_types(&self) -> &dyn crate::UserTypeStore {
        self
    }

    fn waf_settings(&self) -> &dyn crate::WafSettingsStore {
        self
    }

    fn credentials(&self) -> &dyn crate::CredentialStore {
        self
    }

    fn sessions(&self) -> &dyn crate::SessionStore {
        self
    }

    fn challenges(&self) -> &dyn crate::ChallengeStore {
        self
    }

    fn authorizations(&self) -> &dyn crate::AuthorizationStore {
        self
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.lookup).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
        self.lookup.close().await;
        self.writer.close().await;
        self.chain.close().await;
    }

    /// On the writer: `PRAGMA optimize` may run ANALYZE, which writes.
    async fn optimize(&self) -> Result<(), StoreError> {
        optimize(&self.writer).await
    }
}

/// The connection settings every connection of the write pool gets.
fn connect_options(path: &Path) -> Result<SqliteConnectOptions, StoreError> {
    Ok(SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit survives power loss, not only a process crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // 16 MiB of page cache per connection (the default is 2 MiB): the audit
        // trail's indexes take random inserts, which a small cache turns into
        // disk reads.
        .pragma("cache_size", "-16384")
        .busy_timeout(Duration::from_secs(10)))
}

/// Refreshes the planner's statistics where they are stale, bounded in cost.
async fn optimize(pool: &SqlitePool) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    sqlx::query("PRAGMA analysis_limit = 1000")
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA optimize = 0x10002")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn open_reader(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

fn to_sql(p: &crate::audit::Param) -> &dyn rusqlite::ToSql {
    match p {
        crate::audit::Param::Int(v) => v,
        crate::audit::Param::Text(v) => v,
    }
}

/// The audit trail's reads, through rusqlite.
impl SqliteStore {
    /// Runs `f` on a read-only connection on the blocking pool, interrupted with
    /// [`StoreError::Timeout`] once `limit` has passed.
    async fn with_reader<T, F>(&self, limit: Option<Duration>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let idle = match readers.lock() {
                Ok(mut r) => r.pop(),
                Err(poisoned) => poisoned.into_inner().pop(),
            };
            let conn = match idle {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let result = match limit {
                Some(limit) => {
                    let deadline = Instant::now() + limit;
                    conn.progress_handler(PROGRESS_OPS, Some(move || Instant::now() >= deadline));
                    let result = f(&conn);
                    conn.progress_handler(0, None::<fn() -> bool>);
                    result
                }
                None => f(&conn),
            };
            if result.is_ok() {
                if let Ok(mut r) = readers.lock() {
                    if r.len() < MAX_IDLE_READERS {
                        r.push(conn);
                    }
                }
            }
            result
        })
        .await
        .map_err(|_| StoreError::ReadTask)?
    }

    async fn read_after_impl(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<crate::StoredRecord>, StoreError> {
        self.with_reader(self.read_timeout, move |conn| {
            let sql = format!(
                "SELECT {} FROM audit_records WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                crate::audit::RECORD_COLUMNS
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                rusqlite::params![crate::audit::to_i64(after_seq), i64::from(limit)],
                crate::audit::stored_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn search_impl(
        &self,
        f: &crate::AuditFilter,
        limit: u32,
    ) -> Result<Vec<crate::StoredRecord>, StoreError> {
        let f = f.clone();
        self.with_reader(self.read_timeout, move |conn| {
            let probe = |sql: &str, t: i64| -> rusqlite::Result<Option<i64>> {
                let mut stmt = conn.prepare_cached(sql)?;
                let mut rows = stmt.query([t])?;
                match rows.next()? {
                    Some(row) => Ok(Some(row.get(0)?)),
                    None => Ok(None),
                }
            };
            let (mut lo, mut hi) = (None, None);
            if let Some(from) = f.from_us {
                match probe(crate::audit::FIRST_SEQ_FROM, from)? {
                    Some(s) => lo = Some(s),
                    None => return Ok(Vec::new()),
                }
            }
            if let Some(to) = f.to_us {
                match probe(crate::audit::LAST_SEQ_BEFORE, to)? {
                    Some(s) => hi = Some(s),
                    None => return Ok(Vec::new()),
                }
            }
            let (sql, params) = crate::audit::search_sql(&f, lo, hi, limit, "LIKE", true);
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(
                rusqlite::params_from_iter(params.iter().map(to_sql)),
                crate::audit::stored_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Reads on this thread and hashes on another: stepping through rows and
    /// hashing them cost about the same, so the two cores share the work. One
    /// statement walks the whole trail, so the read timeout does not apply (the
    /// server runs one verification at a time instead).
    async fn verify_chain_impl(
        &self,
        verifier: gatehouse_audit::Verifier,
    ) -> Result<gatehouse_audit::Verifier, StoreError> {
        self.with_reader(None, move |conn| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<VerifyChunk>(4);
            let hasher = std::thread::spawn(move || {
                let mut verifier = verifier;
                for chunk in rx {
                    let mut start = 0;
                    for ((seq, hash), end) in chunk.entries.iter().zip(&chunk.ends) {
                        verifier.push(gatehouse_audit::StoredEntry {
                            seq: *seq,
                            canonical: chunk.bytes.get(start..*end).unwrap_or_default(),
                            hash: *hash,
                        });
                        start = *end;
                    }
                    if verifier.is_broken() {
                        break;
                    }
                }
                verifier
            });
            let sql = format!(
                "SELECT {} FROM audit_records ORDER BY seq",
                crate::audit::RECORD_COLUMNS
            );
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            let mut chunk = VerifyChunk::default();
            let mut canonical = Vec::with_capacity(1024);
            while let Some(row) = rows.next()? {
                let seq = row.get_ref(crate::audit::Col::Seq.index())?.as_i64();
                let seq = u64::try_from(seq.unwrap_or(0)).unwrap_or(0);
                let hash = row
                    .get_ref(crate::audit::Col::Hash.index())?
                    .as_blob()
                    .ok()
                    .and_then(|b| <gatehouse_audit::Hash>::try_from(b).ok())
                    .unwrap_or([0; 32]);
                if crate::audit::canonical_of_row(row, &mut canonical).is_none() {
                    // A column of the wrong type: no hash can match.
                    canonical.clear();
                }
                chunk.bytes.extend_from_slice(&canonical);
                chunk.ends.push(chunk.bytes.len());
                chunk.entries.push((seq, hash));
                if chunk.entries.len() == VERIFY_CHUNK {
                    // The hasher stops early once it found tampering.
                    if tx.send(std::mem::take(&mut chunk)).is_err() {
                        break;
                    }
                }
            }
            if !chunk.entries.is_empty() {
                let _ = tx.send(chunk);
            }
            drop(tx);
            hasher.join().map_err(|_| StoreError::ReadTask)
        })
        .await
    }
}

/// Records handed from the reading thread to the hashing thread at once.
const VERIFY_CHUNK: usize = 4096;

#[derive(Default)]
struct VerifyChunk {
    entries: Vec<(u64, gatehouse_audit::Hash)>,
    ends: Vec<usize>,
    bytes: Vec<u8>,
}
