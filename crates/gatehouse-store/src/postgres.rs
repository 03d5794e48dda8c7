use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::api_token::impl_api_token_store;
use crate::audit::impl_audit_store;
use crate::{ApiTokenStore, AuditStore, Backend, Store, StoreError};

/// The scale-out store: PostgreSQL, shared by many stateless replicas.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    /// Connects to `url` with every table inside `schema` (created if missing): one
    /// PostgreSQL database then holds many isolated Gatehouse instances, which is
    /// how tests run in parallel against the one test database.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
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
        let options = PgConnectOptions::from_str(url)?;
        let setup = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        // The name was checked above to be a plain identifier, so this is not injectable.
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&setup)
            .await?;
        setup.close().await;
        Self::connect_with(options.options([("search_path", schema)])).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// A transaction holding the chain lock: a transaction-scoped advisory lock
    /// that every appender takes, in this replica or any other, before reading the
    /// chain head.
    pub(crate) async fn begin_chain(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        let mut tx = self.pool.begin().await?;
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

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
