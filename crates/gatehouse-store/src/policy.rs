//! The policy store (AZ-5): versions of the Cedar policy set, append-only. A
//! version and its audit record commit together, under the audit chain lock,
//! which also serialises concurrent changes: a change made from a version that
//! is no longer the newest is refused, never applied over the other one.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

/// One version as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PolicyVersionRow {
    pub version: i64,
    pub text: String,
    pub sha256: Vec<u8>,
    pub author: String,
    pub reason: String,
    pub created_at_us: i64,
    pub rolled_back_from: Option<i64>,
}

/// Builds the audit record of a change from the version before (none for the
/// first) and the new one.
pub type PolicyAudit<'a> =
    dyn Fn(Option<&PolicyVersionRow>, &PolicyVersionRow) -> Record + Send + Sync + 'a;

/// What [`PolicyStore::create`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyWrite {
    Created(PolicyVersionRow),
    /// Refused: the newest version is `active`, not the base the change was made
    /// from. Nothing was written.
    Conflict {
        active: u64,
    },
}

#[async_trait::async_trait]
pub trait PolicyStore: Send + Sync {
    /// The newest version, the active set; none before the first.
    async fn latest(&self) -> Result<Option<PolicyVersionRow>, StoreError>;
    /// The newest version's number (0 before the first): a cheap poll.
    async fn latest_version(&self) -> Result<u64, StoreError>;
    async fn find(&self, version: u64) -> Result<Option<PolicyVersionRow>, StoreError>;
    /// Newest first, versions below `before` when given.
    async fn list(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<PolicyVersionRow>, StoreError>;
    /// Appends version `base_version + 1` with its audit record, in one
    /// transaction, if `base_version` is still the newest. `row.version` is set
    /// here.
    async fn create(
        &self,
        row: &PolicyVersionRow,
        base_version: u64,
        audit: &PolicyAudit<'_>,
        sealer: &Sealer,
    ) -> Result<PolicyWrite, StoreError>;
}

pub(crate) const SELECT_COLUMNS: &str =
    "version, text, sha256, author, reason, created_at_us, rolled_back_from";

macro_rules! impl_policy_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::PolicyStore for $store {
            async fn latest(&self) -> Result<Option<$crate::PolicyVersionRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM policy_versions ORDER BY version DESC LIMIT 1",
                    $crate::policy::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql).fetch_optional(&self.lookup).await?)
            }

            async fn latest_version(&self) -> Result<u64, $crate::StoreError> {
                let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM policy_versions")
                    .fetch_one(&self.lookup)
                    .await?;
                Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
            }

            async fn find(
                &self,
                version: u64,
            ) -> Result<Option<$crate::PolicyVersionRow>, $crate::StoreError> {
                let Ok(version) = i64::try_from(version) else {
                    return Ok(None);
                };
                let sql = format!(
                    "SELECT {} FROM policy_versions WHERE version = $1",
                    $crate::policy::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(version)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn list(
                &self,
                before: Option<u64>,
                limit: u32,
            ) -> Result<Vec<$crate::PolicyVersionRow>, $crate::StoreError> {
                let before = before
                    .map(|b| i64::try_from(b).unwrap_or(i64::MAX))
                    .unwrap_or(i64::MAX);
                let sql = format!(
                    "SELECT {} FROM policy_versions WHERE version < $1 \
                     ORDER BY version DESC LIMIT $2",
                    $crate::policy::SELECT_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.lookup)
                    .await?)
            }

            async fn create(
                &self,
                row: &$crate::PolicyVersionRow,
                base_version: u64,
                audit: &$crate::policy::PolicyAudit<'_>,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<$crate::PolicyWrite, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let sql = format!(
                    "SELECT {} FROM policy_versions ORDER BY version DESC LIMIT 1",
                    $crate::policy::SELECT_COLUMNS
                );
                let before: Option<$crate::PolicyVersionRow> =
                    sqlx::query_as(&sql).fetch_optional(&mut *tx).await?;
                let active = before
                    .as_ref()
                    .and_then(|b| u64::try_from(b.version).ok())
                    .unwrap_or(0);
                if active != base_version {
                    return Ok($crate::PolicyWrite::Conflict { active });
                }
                let version =
                    i64::try_from(active + 1).map_err(|_| $crate::StoreError::Conflict)?;
                let row = $crate::PolicyVersionRow {
                    version,
                    ..row.clone()
                };
                sqlx::query(
                    "INSERT INTO policy_versions (version, text, sha256, author, reason, \
                     created_at_us, rolled_back_from) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(row.version)
                .bind(&row.text)
                .bind(&row.sha256)
                .bind(&row.author)
                .bind(&row.reason)
                .bind(row.created_at_us)
                .bind(row.rolled_back_from)
                .execute(&mut *tx)
                .await?;
                let record = audit(before.as_ref(), &row);
                Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer).await?;
                tx.commit().await?;
                Ok($crate::PolicyWrite::Created(row))
            }
        }
    };
}
pub(crate) use impl_policy_store;
