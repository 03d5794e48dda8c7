//! Gatehouse storage through sqlx: one trait per aggregate, each implemented for
//! SQLite (the default, one file, WAL) and PostgreSQL (many stateless replicas).
//!
//! Functions never branch on the backend: each backend is its own type, and
//! [`open`] is the one place that picks one, from the database URL. This crate
//! holds rows, not policy: it never decides who may do what, and it never sees
//! a secret in clear (tokens arrive here already hashed).

mod api_token;
mod audit;
mod authorizations;
mod blocked;
mod challenges;
mod credentials;
mod error;
mod policy;
mod postgres;
mod schema;
mod sessions;
mod sqlite;
mod tokens;
mod user_types;
mod users;
mod waf_settings;

use std::sync::Arc;
use std::time::Duration;

pub use api_token::{ApiTokenRow, ApiTokenStore, RevokeAudit, Revoked};
pub use audit::{
    Appended, AuditFilter, AuditStore, BlockedFilter, BlockedRow, BlockedSummary, Page,
    StoredRecord,
};
pub use authorizations::{AuthorizationRow, AuthorizationStore};
pub use challenges::{ChallengeRow, ChallengeStore, CodeRow, RegistrationRow};
pub use credentials::{CredentialRow, CredentialStore};
pub use error::StoreError;
pub use policy::{PolicyAudit, PolicyStore, PolicyVersionRow, PolicyWrite};
pub use postgres::PgStore;
pub use sessions::{
    RefreshRow, Rotation, SessionEnd, SessionRow, SessionStore, SessionWrite, SessionWritten,
};
pub use sqlite::SqliteStore;
pub use tokens::{
    ClientAudit, ClientEdit, ClientRow, ClientStore, ClientUpdated, KeyApplied, KeyChange,
    SigningKeyRow, SigningKeyStore, TokenEventRow, TokenEventStore,
};
pub use user_types::{DefinitionAudit, FlowRow, UserTypeRow, UserTypeStore};
pub use users::{UserAudit, UserEdit, UserFilter, UserRow, UserStore, UserUpdated};
pub use waf_settings::{WafSettingsRow, WafSettingsStore};

/// How a store shares its database between readers and the writer (OP-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Connections of the writer pool. Every append (each transaction holding the
    /// audit chain lock: the writer task's batches, tokens, policy versions,
    /// checkpoints) and the migrations use it, and nothing else does, so reads
    /// holding every connection of the read pool never make an append wait.
    pub writer_connections: u32,
    /// A read statement running longer than this is cancelled and fails with
    /// [`StoreError::Timeout`]; `None` lets reads run as long as they take.
    /// Appends have no limit: they hold the chain lock only briefly.
    pub read_timeout: Option<Duration>,
    /// Connections of the bulk read pool (PostgreSQL: the audit trail's and the
    /// blocked log's searches, exports and summaries). Lookups on the
    /// authentication path (tokens, policies) and the health check have a small
    /// pool of their own ([`LOOKUP_CONNECTIONS`]) that bulk reads never take, so a
    /// burst of searches cannot make a sign-in or an authorize wait.
    pub read_connections: u32,
}

/// Connections of the lookup pool on each backend: tokens and policies by key,
/// each one short indexed read.
pub const LOOKUP_CONNECTIONS: u32 = 4;

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            writer_connections: 2,
            read_timeout: None,
            read_connections: 16,
        }
    }
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Every aggregate's store, on one database.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    fn api_tokens(&self) -> &dyn ApiTokenStore;
    fn audit(&self) -> &dyn AuditStore;
    fn policies(&self) -> &dyn PolicyStore;
    fn signing_keys(&self) -> &dyn SigningKeyStore;
    fn clients(&self) -> &dyn ClientStore;
    fn token_events(&self) -> &dyn TokenEventStore;
    fn users(&self) -> &dyn UserStore;
    fn user_types(&self) -> &dyn UserTypeStore;
    fn credentials(&self) -> &dyn CredentialStore;
    fn sessions(&self) -> &dyn SessionStore;
    fn challenges(&self) -> &dyn ChallengeStore;
    fn authorizations(&self) -> &dyn AuthorizationStore;
    fn waf_settings(&self) -> &dyn WafSettingsStore;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Closes the pool, waiting for connections to be returned.
    async fn close(&self);
    /// Refreshes the query planner's statistics where stale (cheap when fresh).
    async fn optimize(&self) -> Result<(), StoreError>;
}

/// Opens an existing database as it is (see [`SqliteStore::open_existing`] and
/// [`PgStore::connect_existing`]): never created, never migrated, refused unless
/// its schema is this build's. For the offline commands, which must not change a
/// database a server may be running on beyond appending their own record.
pub async fn open_existing(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            SqliteStore::open_existing(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect_existing(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Opens the database a URL names (`sqlite://PATH` or `postgres://…`) and brings its
/// schema up to date.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, &StoreOptions::default()).await
}

/// As [`open`], with the pools and the read timeout set by `options`.
pub async fn open_with(url: &str, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            SqliteStore::open_with(std::path::Path::new(path), options).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect_with_options(url, options).await?))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}
