//! Authorization requests and their codes (TK-6). Ids, browser cookies and
//! codes arrive as their SHA-256; each step is a compare-and-swap on the row
//! (signed in once, one code once, exchanged once), so two racing requests
//! cannot both take the same step. Everything expires:
//! [`AuthorizationStore::prune_authorizations`] removes what is past.

use crate::StoreError;

/// A client's request for a person's authorization, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuthorizationRow {
    pub id_hash: Vec<u8>,
    pub browser_hash: Vec<u8>,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub source_ip: String,
    pub user_agent: String,
    pub created_at_us: i64,
    pub expires_at_us: i64,
    /// Who signed in, once someone has.
    pub user_id: Option<String>,
    /// JSON array of the factors proven.
    pub amr: Option<String>,
    pub auth_time_us: Option<i64>,
    pub code_hash: Option<Vec<u8>>,
    pub code_expires_at_us: Option<i64>,
    /// The session the code opens when it is exchanged.
    pub session_id: Option<String>,
    pub exchanged_at_us: Option<i64>,
}

#[async_trait::async_trait]
pub trait AuthorizationStore: Send + Sync {
    async fn create_authorization(&self, row: &AuthorizationRow) -> Result<(), StoreError>;
    async fn find_authorization(
        &self,
        id_hash: &[u8],
    ) -> Result<Option<AuthorizationRow>, StoreError>;
    /// Records who signed in; `false` when someone already had.
    async fn set_authenticated(
        &self,
        id_hash: &[u8],
        user_id: &str,
        amr: &str,
        auth_time_us: i64,
    ) -> Result<bool, StoreError>;
    /// Records the code and the session it will open; `false` when a code
    /// was already issued (or no one signed in).
    async fn issue_code(
        &self,
        id_hash: &[u8],
        code_hash: &[u8],
        code_expires_at_us: i64,
        session_id: &str,
    ) -> Result<bool, StoreError>;
    async fn find_by_code(&self, code_hash: &[u8]) -> Result<Option<AuthorizationRow>, StoreError>;
    /// Marks the code exchanged; `false` when it already was.
    async fn exchange_code(&self, code_hash: &[u8], at_us: i64) -> Result<bool, StoreError>;
    /// Removes requests that expired before `before_us`.
    async fn prune_authorizations(&self, before_us: i64) -> Result<u64, StoreError>;
}

pub(crate) const AUTHORIZATION_COLUMNS: &str = "id_hash, browser_hash, client_id, redirect_uri, \
     scope, state, nonce, code_challenge, source_ip, user_agent, created_at_us, expires_at_us, \
     user_id, amr, auth_time_us, code_hash, code_expires_at_us, session_id, exchanged_at_us";

macro_rules! impl_authorization_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::AuthorizationStore for $store {
            async fn create_authorization(
                &self,
                row: &$crate::AuthorizationRow,
            ) -> Result<(), $crate::StoreError> {
                let sql = format!(
                    "INSERT INTO authorizations ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
                    $crate::authorizations::AUTHORIZATION_COLUMNS
                );
                sqlx::query(&sql)
                    .bind(&row.id_hash)
                    .bind(&row.browser_hash)
                    .bind(&row.client_id)
                    .bind(&row.redirect_uri)
                    .bind(&row.scope)
                    .bind(&row.state)
                    .bind(&row.nonce)
                    .bind(&row.code_challenge)
                    .bind(&row.source_ip)
                    .bind(&row.user_agent)
                    .bind(row.created_at_us)
                    .bind(row.expires_at_us)
                    .bind(&row.user_id)
                    .bind(&row.amr)
                    .bind(row.auth_time_us)
                    .bind(&row.code_hash)
                    .bind(row.code_expires_at_us)
                    .bind(&row.session_id)
                    .bind(row.exchanged_at_us)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn find_authorization(
                &self,
                id_hash: &[u8],
            ) -> Result<Option<$crate::AuthorizationRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM authorizations WHERE id_hash = $1",
                    $crate::authorizations::AUTHORIZATION_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id_hash)
                    .fetch_optional(&self.writer)
                    .await?)
            }

            async fn set_authenticated(
                &self,
                id_hash: &[u8],
                user_id: &str,
                amr: &str,
                auth_time_us: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE authorizations SET user_id = $2, amr = $3, auth_time_us = $4 \
                     WHERE id_hash = $1 AND user_id IS NULL AND code_hash IS NULL",
                )
                .bind(id_hash)
                .bind(user_id)
                .bind(amr)
                .bind(auth_time_us)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn issue_code(
                &self,
                id_hash: &[u8],
                code_hash: &[u8],
                code_expires_at_us: i64,
                session_id: &str,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE authorizations SET code_hash = $2, code_expires_at_us = $3, \
                     session_id = $4 \
                     WHERE id_hash = $1 AND user_id IS NOT NULL AND code_hash IS NULL",
                )
                .bind(id_hash)
                .bind(code_hash)
                .bind(code_expires_at_us)
                .bind(session_id)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn find_by_code(
                &self,
                code_hash: &[u8],
            ) -> Result<Option<$crate::AuthorizationRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM authorizations WHERE code_hash = $1",
                    $crate::authorizations::AUTHORIZATION_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(code_hash)
                    .fetch_optional(&self.writer)
                    .await?)
            }

            async fn exchange_code(
                &self,
                code_hash: &[u8],
                at_us: i64,
            ) -> Result<bool, $crate::StoreError> {
                let done = sqlx::query(
                    "UPDATE authorizations SET exchanged_at_us = $2 \
                     WHERE code_hash = $1 AND exchanged_at_us IS NULL",
                )
                .bind(code_hash)
                .bind(at_us)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn prune_authorizations(
                &self,
                before_us: i64,
            ) -> Result<u64, $crate::StoreError> {
                let done = sqlx::query("DELETE FROM authorizations WHERE expires_at_us < $1")
                    .bind(before_us)
                    .execute(&self.writer)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(crate) use impl_authorization_store;
