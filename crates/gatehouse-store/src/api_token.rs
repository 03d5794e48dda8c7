use uuid::Uuid;

use crate::StoreError;

/// An API token as stored: the secret only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub secret_hash: Vec<u8>,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    pub revoked_at_us: Option<i64>,
    pub created_by: Option<Uuid>,
}

#[async_trait::async_trait]
pub trait ApiTokenStore: Send + Sync {
    /// Stores a new token; [`StoreError::Conflict`] if the id or hash exists.
    async fn create(&self, row: &ApiTokenRow) -> Result<(), StoreError>;
    async fn find(&self, id: Uuid) -> Result<Option<ApiTokenRow>, StoreError>;
    async fn find_by_secret_hash(&self, hash: &[u8]) -> Result<Option<ApiTokenRow>, StoreError>;
    /// Every token, oldest first.
    async fn list(&self) -> Result<Vec<ApiTokenRow>, StoreError>;
    /// Marks a token revoked at `at_us` unless it already is (the first revocation
    /// time is kept). Returns the token as it now stands, or `None` if unknown.
    async fn update_revoked(&self, id: Uuid, at_us: i64)
        -> Result<Option<ApiTokenRow>, StoreError>;
    /// How many tokens of `role` are neither revoked nor expired at `now_us`.
    async fn count_active(&self, role: &str, now_us: i64) -> Result<u64, StoreError>;
}

pub(crate) const SELECT_COLUMNS: &str = "id, name, role, secret_hash, created_at_us, \
     expires_at_us, revoked_at_us, created_by";

/// The SQL is the same on both backends (`$n` placeholders work on SQLite too), so
/// each backend's impl is generated from this one body; only the pool type differs.
macro_rules! impl_api_token_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::ApiTokenStore for $store {
            async fn create(&self, row: &$crate::ApiTokenRow) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, name, role, secret_hash, created_at_us, \
                     expires_at_us, revoked_at_us, created_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(row.id)
                .bind(&row.name)
                .bind(&row.role)
                .bind(&row.secret_hash)
                .bind(row.created_at_us)
                .bind(row.expires_at_us)
                .bind(row.revoked_at_us)
                .bind(row.created_by)
                .execute(&self.pool)
                .await?;
                Ok(())
            }

            async fn find(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::ApiTokenRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM api_tokens WHERE id = $1",
                    $crate::api_token::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn find_by_secret_hash(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::ApiTokenRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM api_tokens WHERE secret_hash = $1",
                    $crate::api_token::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(hash)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn list(&self) -> Result<Vec<$crate::ApiTokenRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM api_tokens ORDER BY created_at_us, id",
                    $crate::api_token::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
            }

            async fn update_revoked(
                &self,
                id: uuid::Uuid,
                at_us: i64,
            ) -> Result<Option<$crate::ApiTokenRow>, $crate::StoreError> {
                let sql = format!(
                    "UPDATE api_tokens SET revoked_at_us = COALESCE(revoked_at_us, $2) \
                     WHERE id = $1 RETURNING {}",
                    $crate::api_token::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id)
                    .bind(at_us)
                    .fetch_optional(&self.pool)
                    .await?)
            }

            async fn count_active(
                &self,
                role: &str,
                now_us: i64,
            ) -> Result<u64, $crate::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM api_tokens \
                     WHERE role = $1 AND revoked_at_us IS NULL AND expires_at_us > $2",
                )
                .bind(role)
                .bind(now_us)
                .fetch_one(&self.pool)
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
    };
}
pub(crate) use impl_api_token_store;
