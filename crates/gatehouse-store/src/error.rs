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
    Read(#[from] rusqlite::Error),
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

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
            _ => StoreError::Database(e),
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
