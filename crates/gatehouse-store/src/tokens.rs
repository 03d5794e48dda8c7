//! The token machinery's rows (TK-2, TK-5, ID-10): signing keys, OAuth clients,
//! and the token events every replica polls. Each change commits with its audit
//! record under the chain lock; a change other replicas must learn of (a
//! revocation, a new key set) appends its event in the same transaction.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

/// One signing key. `sealed_private` is sealed by the server before it gets
/// here, and wiped (empty) once the key is retired.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub kid: String,
    pub algorithm: String,
    pub state: String,
    pub public_jwk: String,
    pub sealed_private: Vec<u8>,
    pub created_at_us: i64,
    pub activated_at_us: Option<i64>,
    pub verifies_until_us: Option<i64>,
    pub retired_at_us: Option<i64>,
}

impl std::fmt::Debug for SigningKeyRow {
    // Sealed, but still nothing a log needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRow")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// One rotation of the key set, applied at once.
#[derive(Debug, Clone, Default)]
pub struct KeyChange {
    pub at_us: i64,
    /// New keys (`next`, or `current` on first start).
    pub inserts: Vec<SigningKeyRow>,
    /// `next` → `current`.
    pub promote: Option<String>,
    /// `current` → `previous`, verifying until the given time.
    pub demote: Option<(String, i64)>,
    /// `previous` → `retired`, their sealed halves wiped.
    pub retire: Vec<String>,
}

/// What [`SigningKeyStore::apply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyApplied {
    Done,
    /// The current key is no longer the one the change was planned from
    /// (another replica rotated first); nothing was written.
    Conflict,
}

#[async_trait::async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Every key, retired ones too, oldest first.
    async fn list(&self) -> Result<Vec<SigningKeyRow>, StoreError>;
    /// Applies `change` with `audit`, and a `keys` event, if the current key is
    /// still `expected_current`.
    async fn apply(
        &self,
        change: &KeyChange,
        expected_current: Option<&str>,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<KeyApplied, StoreError>;
}

/// One OAuth client. `grants` and `scopes` are space-separated,
/// `redirect_uris` a JSON array.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub is_confidential: bool,
    pub role: String,
    pub grants: String,
    pub scopes: String,
    pub redirect_uris: String,
    pub status: String,
    pub secret_hash: Option<Vec<u8>>,
    pub previous_secret_hash: Option<Vec<u8>>,
    pub previous_secret_until_us: Option<i64>,
    pub tokens_valid_after_us: i64,
    pub created_at_us: i64,
    pub created_by: String,
    pub updated_at_us: i64,
}

impl std::fmt::Debug for ClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Builds the changed client from the stored one, inside the transaction; `None`
/// leaves it as it is (only the record is written).
pub type ClientEdit<'a> = dyn Fn(&ClientRow) -> Option<ClientRow> + Send + Sync + 'a;
/// Builds the change's record from the client before and after.
pub type ClientAudit<'a> = dyn Fn(&ClientRow, &ClientRow) -> Record + Send + Sync + 'a;

/// What [`ClientStore::update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientUpdated {
    Done {
        before: Box<ClientRow>,
        after: Box<ClientRow>,
    },
    Unchanged(Box<ClientRow>),
    Unknown,
}

#[async_trait::async_trait]
pub trait ClientStore: Send + Sync {
    async fn create(
        &self,
        row: &ClientRow,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<(), StoreError>;
    async fn find(&self, id: &str) -> Result<Option<ClientRow>, StoreError>;
    /// Oldest first.
    async fn list(&self) -> Result<Vec<ClientRow>, StoreError>;
    /// Applies `edit` to the stored client and commits it with its record (an
    /// edit that changes nothing commits the record alone); when
    /// the edit disables the client or moves `tokens_valid_after_us`, a
    /// `client` event (until `event_not_after_us`) tells every replica.
    async fn update(
        &self,
        id: &str,
        edit: &ClientEdit<'_>,
        audit: &ClientAudit<'_>,
        event_not_after_us: i64,
        sealer: &Sealer,
    ) -> Result<ClientUpdated, StoreError>;
}

/// One event replicas learn from.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TokenEventRow {
    pub seq: i64,
    pub kind: String,
    pub subject: String,
    pub not_after_us: i64,
    pub at_us: i64,
}

#[async_trait::async_trait]
pub trait TokenEventStore: Send + Sync {
    /// Revokes the access token `jti` until `not_after_us` (its expiry), with
    /// its record. `false` when it was already revoked (only the record is
    /// written).
    async fn revoke_token(
        &self,
        jti: &str,
        not_after_us: i64,
        at_us: i64,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<bool, StoreError>;
    /// Events still in force at `now_us`, in order: what a replica loads on start.
    async fn in_force(&self, now_us: i64) -> Result<Vec<TokenEventRow>, StoreError>;
    /// Events appended at or after `since_us` with a sequence number above
    /// `after_seq`, in order, at most `limit`: the poll, a page at a time.
    /// Overlapping windows are expected; applying an event is idempotent.
    async fn since(
        &self,
        since_us: i64,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<TokenEventRow>, StoreError>;
    /// Forgets events no longer in force at `now_us` (they concern only tokens
    /// that have expired). Returns how many.
    async fn prune(&self, now_us: i64) -> Result<u64, StoreError>;
}

pub(crate) const KEY_COLUMNS: &str = "kid, algorithm, state, public_jwk, sealed_private, \
     created_at_us, activated_at_us, verifies_until_us, retired_at_us";
pub(crate) const CLIENT_COLUMNS: &str = "id, name, is_confidential, role, grants, scopes, \
     redirect_uris, status, secret_hash, previous_secret_hash, previous_secret_until_us, \
     tokens_valid_after_us, created_at_us, created_by, updated_at_us";
pub(crate) const EVENT_COLUMNS: &str = "seq, kind, subject, not_after_us, at_us";

macro_rules! impl_token_stores {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::SigningKeyStore for $store {
            async fn list(&self) -> Result<Vec<$crate::SigningKeyRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM signing_keys ORDER BY created_at_us, kid",
                    $crate::tokens::KEY_COLUMNS
                );
                Ok(sqlx::query_as(&sql).fetch_all(&self.lookup).await?)
            }

            async fn apply(
                &self,
                change: &$crate::KeyChange,
                expected_current: Option<&str>,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<$crate::KeyApplied, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let current: Option<String> =
                    sqlx::query_scalar("SELECT kid FROM signing_keys WHERE state = 'current'")
                        .fetch_optional(&mut *tx)
                        .await?;
                if current.as_deref() != expected_current {
                    return Ok($crate::KeyApplied::Conflict);
                }
                for kid in &change.retire {
                    sqlx::query(
                        "UPDATE signing_keys SET state = 'retired', retired_at_us = $2, \
                         sealed_private = $3 WHERE kid = $1 AND state = 'previous'",
                    )
                    .bind(kid)
                    .bind(change.at_us)
                    .bind(Vec::<u8>::new())
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some((kid, until)) = &change.demote {
                    sqlx::query(
                        "UPDATE signing_keys SET state = 'previous', verifies_until_us = $2 \
                         WHERE kid = $1 AND state = 'current'",
                    )
                    .bind(kid)
                    .bind(until)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(kid) = &change.promote {
                    sqlx::query(
                        "UPDATE signing_keys SET state = 'current', activated_at_us = $2 \
                         WHERE kid = $1 AND state = 'next'",
                    )
                    .bind(kid)
                    .bind(change.at_us)
                    .execute(&mut *tx)
                    .await?;
                }
                for row in &change.inserts {
                    sqlx::query(
                        "INSERT INTO signing_keys (kid, algorithm, state, public_jwk, \
                         sealed_private, created_at_us, activated_at_us, verifies_until_us, \
                         retired_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&row.kid)
                    .bind(&row.algorithm)
                    .bind(&row.state)
                    .bind(&row.public_jwk)
                    .bind(&row.sealed_private)
                    .bind(row.created_at_us)
                    .bind(row.activated_at_us)
                    .bind(row.verifies_until_us)
                    .bind(row.retired_at_us)
                    .execute(&mut *tx)
                    .await?;
                }
                Self::append_event(&mut tx, "keys", "", change.at_us, change.at_us).await?;
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok($crate::KeyApplied::Done)
            }
        }

        #[async_trait::async_trait]
        impl $crate::ClientStore for $store {
            async fn create(
                &self,
                row: &$crate::ClientRow,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<(), $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                Self::write_client(&mut tx, row, true).await?;
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn find(
                &self,
                id: &str,
            ) -> Result<Option<$crate::ClientRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM oauth_clients WHERE id = $1",
                    $crate::tokens::CLIENT_COLUMNS
                );
                Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.lookup).await?)
            }

            async fn list(&self) -> Result<Vec<$crate::ClientRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM oauth_clients ORDER BY created_at_us, id",
                    $crate::tokens::CLIENT_COLUMNS
                );
                Ok(sqlx::query_as(&sql).fetch_all(&self.lookup).await?)
            }

            async fn update(
                &self,
                id: &str,
                edit: &$crate::ClientEdit<'_>,
                audit: &$crate::ClientAudit<'_>,
                event_not_after_us: i64,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<$crate::ClientUpdated, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let sql = format!(
                    "SELECT {} FROM oauth_clients WHERE id = $1",
                    $crate::tokens::CLIENT_COLUMNS
                );
                let before: Option<$crate::ClientRow> =
                    sqlx::query_as(&sql).bind(id).fetch_optional(&mut *tx).await?;
                let Some(before) = before else {
                    return Ok($crate::ClientUpdated::Unknown);
                };
                let Some(mut after) = edit(&before) else {
                    // Nothing to change: the request is still recorded.
                    let record = audit(&before, &before);
                    Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer)
                        .await?;
                    tx.commit().await?;
                    return Ok($crate::ClientUpdated::Unchanged(Box::new(before)));
                };
                // The edit cannot move the row's identity or history.
                after.id = before.id.clone();
                after.created_at_us = before.created_at_us;
                after.created_by = before.created_by.clone();
                Self::write_client(&mut tx, &after, false).await?;
                let cut = after.tokens_valid_after_us != before.tokens_valid_after_us
                    || (after.status != before.status && after.status != "active");
                if cut {
                    Self::append_event(
                        &mut tx,
                        "client",
                        &after.id,
                        event_not_after_us,
                        after.updated_at_us,
                    )
                    .await?;
                }
                let record = audit(&before, &after);
                Self::append_locked(&mut tx, std::slice::from_ref(&record), &[], sealer).await?;
                tx.commit().await?;
                Ok($crate::ClientUpdated::Done {
                    before: Box::new(before),
                    after: Box::new(after),
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::TokenEventStore for $store {
            async fn revoke_token(
                &self,
                jti: &str,
                not_after_us: i64,
                at_us: i64,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<bool, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let known: Option<i64> = sqlx::query_scalar(
                    "SELECT seq FROM token_events WHERE kind = 'token' AND subject = $1",
                )
                .bind(jti)
                .fetch_optional(&mut *tx)
                .await?;
                if known.is_none() {
                    Self::append_event(&mut tx, "token", jti, not_after_us, at_us).await?;
                }
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(known.is_none())
            }

            async fn in_force(
                &self,
                now_us: i64,
            ) -> Result<Vec<$crate::TokenEventRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM token_events WHERE not_after_us > $1 ORDER BY seq",
                    $crate::tokens::EVENT_COLUMNS
                );
                Ok(sqlx::query_as(&sql).bind(now_us).fetch_all(&self.lookup).await?)
            }

            async fn since(
                &self,
                since_us: i64,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<$crate::TokenEventRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM token_events WHERE at_us >= $1 AND seq > $2 \
                     ORDER BY seq LIMIT $3",
                    $crate::tokens::EVENT_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(since_us)
                    .bind(after_seq)
                    .bind(i64::from(limit))
                    .fetch_all(&self.lookup)
                    .await?)
            }

            async fn prune(&self, now_us: i64) -> Result<u64, $crate::StoreError> {
                // Never the newest `keys` event: it is what tells a replica
                // that just started polling nothing about keys was missed.
                let done = sqlx::query(
                    "DELETE FROM token_events WHERE not_after_us <= $1 AND kind <> 'keys'",
                )
                .bind(now_us)
                .execute(&self.writer)
                .await?;
                Ok(done.rows_affected())
            }
        }

        impl $store {
            async fn append_event(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                kind: &str,
                subject: &str,
                not_after_us: i64,
                at_us: i64,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO token_events (kind, subject, not_after_us, at_us) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(kind)
                .bind(subject)
                .bind(not_after_us)
                .bind(at_us)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn write_client(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                row: &$crate::ClientRow,
                insert: bool,
            ) -> Result<(), $crate::StoreError> {
                let sql = if insert {
                    "INSERT INTO oauth_clients (id, name, is_confidential, role, grants, scopes, \
                     redirect_uris, status, secret_hash, previous_secret_hash, \
                     previous_secret_until_us, tokens_valid_after_us, created_at_us, created_by, \
                     updated_at_us) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                } else {
                    "UPDATE oauth_clients SET name = $2, is_confidential = $3, role = $4, \
                     grants = $5, scopes = $6, redirect_uris = $7, status = $8, secret_hash = $9, \
                     previous_secret_hash = $10, previous_secret_until_us = $11, \
                     tokens_valid_after_us = $12, created_at_us = $13, created_by = $14, \
                     updated_at_us = $15 WHERE id = $1"
                };
                sqlx::query(sql)
                    .bind(&row.id)
                    .bind(&row.name)
                    .bind(row.is_confidential)
                    .bind(&row.role)
                    .bind(&row.grants)
                    .bind(&row.scopes)
                    .bind(&row.redirect_uris)
                    .bind(&row.status)
                    .bind(&row.secret_hash)
                    .bind(&row.previous_secret_hash)
                    .bind(row.previous_secret_until_us)
                    .bind(row.tokens_valid_after_us)
                    .bind(row.created_at_us)
                    .bind(&row.created_by)
                    .bind(row.updated_at_us)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_token_stores;

/// The sqlx database of a store, for the helpers the macro generates.
pub(crate) trait HasDb {
    type Db: sqlx::Database;
}
impl HasDb for crate::SqliteStore {
    type Db = sqlx::Sqlite;
}
impl HasDb for crate::PgStore {
    type Db = sqlx::Postgres;
}
