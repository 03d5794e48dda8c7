//! Credentials (ID-4, ID-6, ID-8): a password's Argon2id PHC string, a TOTP
//! secret (sealed by the server before it gets here) with the last step
//! accepted, recovery codes' HMACs. Secrets arrive here already hashed or
//! sealed. A TOTP step is taken by compare-and-swap, so one code never counts
//! twice; a password set can end the user's sessions in the same transaction.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

/// One credential of a user: `password` (an Argon2id PHC string), `totp` (a
/// sealed secret; `last_step` the last step accepted), `recovery` (a JSON array
/// of HMACs).
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CredentialRow {
    pub user_id: String,
    pub kind: String,
    pub secret: Vec<u8>,
    pub last_step: Option<i64>,
    pub is_confirmed: bool,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

impl std::fmt::Debug for CredentialRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRow")
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("is_confirmed", &self.is_confirmed)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
pub trait CredentialStore: Send + Sync {
    async fn find_credential(
        &self,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<CredentialRow>, StoreError>;
    /// Creates or replaces the user's credential of `row.kind`, with its record.
    /// `cut`: `(at_us, not_after_us)` to end the user's open sessions (reason
    /// `password_changed`) and refuse every token issued to them until `at_us`.
    async fn put_credential(
        &self,
        row: &CredentialRow,
        cut: Option<(i64, i64)>,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
    /// Replaces a password hash with a stronger one of the same password, if it
    /// is still `old` (no record: the sign-in's own record covers it).
    async fn upgrade_secret(
        &self,
        user_id: &str,
        kind: &str,
        old: &[u8],
        new: &[u8],
        at_us: i64,
    ) -> Result<bool, StoreError>;
    /// Stores the TOTP step just accepted if the stored one is still `last`
    /// (ID-8: of two requests with the same code, one wins); `false` otherwise.
    async fn set_last_step(
        &self,
        user_id: &str,
        last: Option<i64>,
        step: i64,
    ) -> Result<bool, StoreError>;
    /// Creates or replaces several credentials of one user in one change (a
    /// confirmed TOTP secret with its recovery codes), with one record.
    async fn put_credentials(
        &self,
        rows: &[CredentialRow],
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
    /// Removes the user's credentials of `kinds`, with one record; returns how
    /// many there were (none: nothing recorded).
    async fn delete_credentials(
        &self,
        user_id: &str,
        kinds: &[&str],
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<u64, StoreError>;
    /// Stores the failures of the last hour and the lockout's end (ID-7).
    async fn set_failures(
        &self,
        user_id: &str,
        recent_failures: &str,
        locked_until_us: Option<i64>,
    ) -> Result<(), StoreError>;
}

pub(crate) const CREDENTIAL_COLUMNS: &str =
    "user_id, kind, secret, last_step, is_confirmed, created_at_us, updated_at_us";

macro_rules! impl_credential_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::CredentialStore for $store {
            async fn find_credential(
                &self,
                user_id: &str,
                kind: &str,
            ) -> Result<Option<$crate::CredentialRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM user_credentials WHERE user_id = $1 AND kind = $2",
                    $crate::credentials::CREDENTIAL_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(kind)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn put_credential(
                &self,
                row: &$crate::CredentialRow,
                cut: Option<(i64, i64)>,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                Self::replace_credential(&mut tx, row).await?;
                if let Some((at_us, not_after_us)) = cut {
                    let end = $crate::SessionEnd {
                        reason: "password_changed",
                        at_us,
                        event_not_after_us: not_after_us,
                    };
                    Self::end_open(&mut tx, &row.user_id, &end).await?;
                    Self::append_event(&mut tx, "user", &row.user_id, not_after_us, at_us).await?;
                }
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn upgrade_secret(
                &self,
                user_id: &str,
                kind: &str,
                old: &[u8],
                new: &[u8],
                at_us: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE user_credentials SET secret = $4, updated_at_us = $5 \
                     WHERE user_id = $1 AND kind = $2 AND secret = $3",
                )
                .bind(user_id)
                .bind(kind)
                .bind(old)
                .bind(new)
                .bind(at_us)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_last_step(
                &self,
                user_id: &str,
                last: Option<i64>,
                step: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE user_credentials SET last_step = $3 WHERE user_id = $1 \
                     AND kind = 'totp' AND (last_step = $2 OR (last_step IS NULL AND $2 IS NULL))",
                )
                .bind(user_id)
                .bind(last)
                .bind(step)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn put_credentials(
                &self,
                rows: &[$crate::CredentialRow],
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                for row in rows {
                    Self::replace_credential(&mut tx, row).await?;
                }
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_credentials(
                &self,
                user_id: &str,
                kinds: &[&str],
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<u64, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let mut removed = 0;
                for kind in kinds {
                    removed += sqlx::query(
                        "DELETE FROM user_credentials WHERE user_id = $1 AND kind = $2",
                    )
                    .bind(user_id)
                    .bind(kind)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                if removed == 0 {
                    return Ok(0);
                }
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(removed)
            }

            async fn set_failures(
                &self,
                user_id: &str,
                recent_failures: &str,
                locked_until_us: Option<i64>,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "UPDATE users SET recent_failures = $2, locked_until_us = $3 WHERE id = $1",
                )
                .bind(user_id)
                .bind(recent_failures)
                .bind(locked_until_us)
                .execute(&self.writer)
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_credential_store;
