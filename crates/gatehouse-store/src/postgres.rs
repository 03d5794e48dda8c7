use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::api_token::impl_api_token_store;
use crate::audit::impl_audit_store;
use crate::{ApiTokenStore, AuditStore, Backend, Store, StoreError, StoreOptions};

/// The scale-out store: PostgreSQL, shared by many stateless replicas.
pub struct PgStore {
    /// Bulk reads, each statement under `statement_timeout` when a read timeout is set.
    pool: PgPool,
    /// Lookups by key (tokens, policies) and the health check: a pool bulk reads
    /// never take (see [`StoreOptions::read_connections`]).
    lookup: PgPool,
    /// Appends and migrations only (see [`StoreOptions::writer_connections`]).
    writer: PgPool,
}

impl PgStore {
    /// Connects to `url` and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_options(url, &StoreOptions::default()).await
    }

    /// As [`PgStore::connect`], with the writer pool's size and the read timeout
    /// from `options`.
    pub async fn connect_with_options(
        url: &str,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        Self::connect_pools(PgConnectOptions::from_str(url)?, options).await
    }

    /// Connects to an existing database as it is, for the offline commands:
    /// nothing is migrated, a schema that is not exactly this build's is refused,
    /// and every transaction is read-only but the chain lock's, which appends.
    pub async fn connect_existing(url: &str) -> Result<Self, StoreError> {
        Self::connect_existing_with(PgConnectOptions::from_str(url)?).await
    }

    /// [`PgStore::connect_existing`] on the tables of `schema`.
    pub async fn connect_existing_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
        Self::connect_existing_with(options).await
    }

    async fn connect_existing_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.options([("default_transaction_read_only", "on")]))
            .await?;
        let applied = sqlx::query_scalar(crate::schema::APPLIED_SQL)
            .fetch_all(&pool)
            .await;
        if let Err(e) = crate::schema::check(&crate::schema::POSTGRES, applied) {
            pool.close().await;
            return Err(e);
        }
        // One pool: its transactions are read-only but the chain lock's.
        Ok(Self {
            writer: pool.clone(),
            lookup: pool.clone(),
            pool,
        })
    }

    /// Connects to `url` with every table inside `schema` (created if missing): one
    /// PostgreSQL database then holds many isolated Gatehouse instances, which is
    /// how tests run in parallel against the one test database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema_with(url, schema, &StoreOptions::default()).await
    }

    /// As [`PgStore::connect_in_schema`], with `options`.
    pub async fn connect_in_schema_with(
        url: &str,
        schema: &str,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                "schema name must be 1-63 characters of a-z, 0-9 and _".into(),
            )));
        }
        let connect = PgConnectOptions::from_str(url)?;
        let setup = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(connect.clone())
            .await?;
        // The name was checked above to be a plain identifier, so this is not injectable.
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&setup)
            .await?;
        setup.close().await;
        Self::connect_pools(connect.options([("search_path", schema)]), options).await
    }

    async fn connect_pools(
        connect: PgConnectOptions,
        options: &StoreOptions,
    ) -> Result<Self, StoreError> {
        let writer = PgPoolOptions::new()
            .max_connections(options.writer_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect.clone())
            .await?;
        crate::schema::POSTGRES.run(&writer).await?;
        // The server cancels a read past its time and frees the connection; the
        // client sees `query_canceled` (StoreError::Timeout).
        let reads = match options.read_timeout {
            Some(limit) => {
                let ms = limit.as_millis().clamp(1, i32::MAX as u128).to_string();
                connect.options([("statement_timeout", ms)])
            }
            None => connect,
        };
        let lookup = PgPoolOptions::new()
            .max_connections(crate::LOOKUP_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(reads.clone())
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(reads)
            .await?;
        Ok(Self {
            pool,
            lookup,
            writer,
        })
    }

    /// A transaction holding the chain lock: a transaction-scoped advisory lock
    /// that every appender takes, in this replica or any other, before reading the
    /// chain head.
    pub(crate) async fn begin_chain(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        // READ WRITE: the one kind of transaction that writes, on a pool whose
        // transactions are read-only by default (`connect_existing`).
        let mut tx = self.writer.begin_with("BEGIN READ WRITE").await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHAIN_LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// The advisory lock key of the audit chain ("gatehouse" in ASCII, truncated).
const CHAIN_LOCK: i64 = 0x6761_7465_686f_7573;

impl_api_token_store!(PgStore);
crate::policy::impl_policy_store!(PgStore);
crate::tokens::impl_token_stores!(PgStore);
crate::users::impl_user_store!(PgStore);
crate::user_types::impl_user_type_store!(PgStore);
crate::waf_settings::impl_waf_settings_store!(PgStore);
crate::credentials::impl_credential_store!(PgStore);
crate::sessions::impl_session_store!(PgStore);
crate::challenges::impl_challenge_store!(PgStore);
crate::authorizations::impl_authorization_store!(PgStore);
impl_audit_store!(PgStore, sqlx::Postgres, "ILIKE");

#[async_trait::async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
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
    }

    /// PostgreSQL's autovacuum keeps the statistics.
    async fn optimize(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The audit trail's reads, through sqlx.
impl PgStore {
    async fn read_after_impl(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<crate::StoredRecord>, StoreError> {
        let sql = format!(
            "SELECT {} FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2",
            crate::audit::RECORD_COLUMNS
        );
        let rows: Vec<crate::audit::RecordRow> = sqlx::query_as(&sql)
            .bind(crate::audit::to_i64(after_seq))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(crate::audit::RecordRow::into_stored)
            .collect())
    }

    async fn probe(&self, sql: &str, time_us: i64) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(sql)
            .bind(time_us)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn search_impl(
        &self,
        f: &crate::AuditFilter,
        limit: u32,
    ) -> Result<Vec<crate::StoredRecord>, StoreError> {
        let (mut lo, mut hi) = (None, None);
        if let Some(from) = f.from_us {
            match self.probe(crate::audit::FIRST_SEQ_FROM, from).await? {
                Some(s) => lo = Some(s),
                None => return Ok(Vec::new()),
            }
        }
        if let Some(to) = f.to_us {
            match self.probe(crate::audit::LAST_SEQ_BEFORE, to).await? {
                Some(s) => hi = Some(s),
                None => return Ok(Vec::new()),
            }
        }
        let (sql, params) = crate::audit::search_sql(f, lo, hi, limit, "ILIKE", false);
        let mut q = sqlx::query_as::<_, crate::audit::RecordRow>(&sql);
        for p in params {
            q = match p {
                crate::audit::Param::Int(v) => q.bind(v),
                crate::audit::Param::Text(v) => q.bind(v),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(crate::audit::RecordRow::into_stored)
            .collect())
    }

    async fn verify_chain_impl(
        &self,
        mut verifier: gatehouse_audit::Verifier,
    ) -> Result<gatehouse_audit::Verifier, StoreError> {
        let mut after = 0;
        let mut canonical = Vec::with_capacity(1024);
        while !verifier.is_broken() {
            let page = self.read_after_impl(after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for stored in &page {
                stored.record.canonical_into(&mut canonical);
                verifier.push(gatehouse_audit::StoredEntry {
                    seq: stored.seq,
                    canonical: &canonical,
                    hash: stored.hash,
                });
            }
        }
        Ok(verifier)
    }
}
