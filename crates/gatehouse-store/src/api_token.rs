use gatehouse_audit::{Record, Sealer};
use uuid::Uuid;

use crate::StoreError;

/// Builds the audit record of a revocation from the token before and after it.
pub type RevokeAudit<'a> = dyn Fn(&ApiTokenRow, &ApiTokenRow) -> Record + Send + Sync + 'a;

/// What [`ApiTokenStore::revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// No token has that id.
    Unknown,
    /// Refused: it is the last active token of the protected role.
    LastActive,
    /// Revoked now, or already revoked earlier (its first revocation time is kept).
    Done(ApiTokenRow),
}

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
    /// Stores a new token and its audit record in one transaction;
    /// [`StoreError::Conflict`] if the id or hash exists (and then neither is stored).
    async fn create(
        &self,
        row: &ApiTokenRow,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
    async fn find(&self, id: Uuid) -> Result<Option<ApiTokenRow>, StoreError>;
    async fn find_by_secret_hash(&self, hash: &[u8]) -> Result<Option<ApiTokenRow>, StoreError>;
    /// Every token, oldest first.
    async fn list(&self) -> Result<Vec<ApiTokenRow>, StoreError>;
    /// Marks a token revoked at `at_us` unless it already is (the first revocation
    /// time is kept), with its audit record, in one transaction. Refuses to revoke
    /// the last active token of `protected_role`; the check and the change hold the
    /// chain lock, so two concurrent revocations cannot both pass it.
    async fn revoke(
        &self,
        id: Uuid,
        at_us: i64,
        protected_role: &str,
        audit: &RevokeAudit<'_>,
        sealer: &Sealer,
    ) -> Result<Revoked, StoreError>;
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
            async fn create(
                &self,
                row: &$crate::ApiTokenRow,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
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
                .execute(&mut *tx)
                .await?;
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
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
                    .fetch_optional(&self.lookup)
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
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn list(&self) -> Result<Vec<$crate::ApiTokenRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM api_tokens ORDER BY created_at_us, id",
                    $crate::api_token::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql).fetch_all(&self.lookup).await?)
            }

            async fn revoke(
                &self,
                id: uuid::Uuid,
                at_us: i64,
                protected_role: &str,
                audit: &$crate::api_token::RevokeAudit<'_>,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<$crate::Revoked, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let sql = format!(
                    "SELECT {} FROM api_tokens WHERE id = $1",
                    $crate::api_token::SELECT_COLUMNS
                );
                let before: Option<$crate::ApiTokenRow> = sqlx::query_as(&sql)
                    .bind(id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(before) = before else {
                    return Ok($crate::Revoked::Unknown);
                };
                let is_active = before.revoked_at_us.is_none() && before.expires_at_us > at_us;
                if is_active && before.role == protected_role {
                    let others: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM api_tokens WHERE role = $1 AND id <> $2 \
                         AND revoked_at_us IS NULL AND expires_at_us > $3",
                    )
                    .bind(protected_role)
                    .bind(id)
                    .bind(at_us)
                    .fetch_one(&mut *tx)
                    .await?;
                    if others == 0 {
                        return Ok($crate::Revoked::LastActive);
                    }
                }
                let sql = format!(
                    "UPDATE api_tokens SET revoked_at_us = COALESCE(revoked_at_us, $2) \
                     WHERE id = $1 RETURNING {}",
                    $crate::api_token::SELECT_COLUMNS
                );
                let after: $crate::ApiTokenRow = sqlx::query_as(&sql)
                    .bind(id)
                    .bind(at_us)
                    .fetch_one(&mut *tx)
                    .await?;
                let record = audit(&before, &after);
                Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer).await?;
                tx.commit().await?;
                Ok($crate::Revoked::Done(after))
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
                .fetch_one(&self.lookup)
                .await?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
    };
}
pub(crate) use impl_api_token_store;
