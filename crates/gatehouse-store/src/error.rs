/// Everything that can go wrong in storage.
///
/// Messages never include the database URL or its password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("a row with the same unique key already exists")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database file: {0}")]
    Io(#[from] std::io::Error),
    #[error("database read failed: {0}")]
    Read(#[source] rusqlite::Error),
    /// A read ran past the store's read timeout and was cancelled.
    #[error("a database read took longer than its time limit")]
    Timeout,
    #[error("a database read task stopped unexpectedly")]
    ReadTask,
    #[error("no database at {0}: run `gatehouse init` (or `gatehouse serve`) once to create it")]
    NotFound(String),
    #[error(
        "the database schema is at version {found}, this build needs version {expected}: \
         run `gatehouse serve` or `gatehouse init` once to migrate it"
    )]
    SchemaBehind { found: i64, expected: i64 },
    #[error(
        "the database schema is at version {found}, newer than this build knows \
         (version {expected}): use the Gatehouse release that migrated it"
    )]
    SchemaAhead { found: i64, expected: i64 },
}

/// PostgreSQL's `query_canceled` (what `statement_timeout` raises) and SQLite's
/// `SQLITE_INTERRUPT` (what the read deadline's progress handler raises).
const CANCELLED_CODES: [&str; 2] = ["57014", "9"];

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(db)
                if db
                    .code()
                    .is_some_and(|c| CANCELLED_CODES.contains(&c.as_ref())) =>
            {
                StoreError::Timeout
            }
            _ => StoreError::Database(e),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                StoreError::Timeout
            }
            _ => StoreError::Read(e),
        }
    }
}

impl StoreError {
    /// The database could not be reached in time (as opposed to a query failing).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_),
            ) => true,
            StoreError::Read(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
            ),
            _ => false,
        }
    }
}
