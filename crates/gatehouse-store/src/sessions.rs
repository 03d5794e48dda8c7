//! Sessions and refresh tokens (ID-9, TK-4). Refresh tokens arrive here
//! already hashed. Opening a session, rotating a refresh
//! token and ending sessions commit with their record under the chain lock; an
//! ended session, or a user cut off, appends the event every replica polls
//! (`token_events`), so their access tokens are refused everywhere within a
//! second. Rotation is a compare-and-swap on the spent time: of two requests
//! presenting the same refresh token, one rotates and the other sees it spent.

use gatehouse_audit::{Record, Sealer};

use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    /// The factors the sign-in proved, a JSON array (`["pwd", "sms"]`).
    pub amr: String,
    pub source_ip: String,
    pub user_agent: String,
    pub created_at_us: i64,
    pub last_seen_at_us: i64,
    pub ended_at_us: Option<i64>,
    pub end_reason: Option<String>,
    /// The client its tokens are issued to (`gatehouse`: signed in directly).
    pub client_id: String,
    /// The scopes its tokens are limited to (space-separated; empty for
    /// `gatehouse`'s, which the policies alone limit).
    pub scope: String,
}

/// A refresh token, by its SHA-256.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RefreshRow {
    pub hash: Vec<u8>,
    pub session_id: String,
    pub issued_at_us: i64,
    pub expires_at_us: i64,
    pub spent_at_us: Option<i64>,
}

impl std::fmt::Debug for RefreshRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRow")
            .field("session_id", &self.session_id)
            .field("expires_at_us", &self.expires_at_us)
            .field("spent_at_us", &self.spent_at_us)
            .finish_non_exhaustive()
    }
}

/// One refresh-token rotation of a batch: spend `old_hash`, store `next`,
/// append `audit`, if `old_hash` is still unspent.
#[derive(Debug, Clone, Copy)]
pub struct Rotation<'a> {
    pub old_hash: &'a [u8],
    pub next: &'a RefreshRow,
    pub audit: &'a Record,
}

/// One write of a batch of session writes committed together.
#[derive(Debug, Clone, Copy)]
pub enum SessionWrite<'a> {
    /// [`SessionStore::open_session`]'s.
    Open {
        session: &'a SessionRow,
        /// None for a client that may not refresh.
        refresh: Option<&'a RefreshRow>,
        end_others: Option<&'a SessionEnd<'a>>,
        audit: &'a Record,
    },
    /// [`SessionStore::rotate_refresh`]'s.
    Rotate(Rotation<'a>),
}

/// What one write of a batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionWritten {
    /// The session opened; the user's other sessions ended with it.
    Opened { ended: Vec<String> },
    /// Whether the token rotated (`false`: spent already; nothing written).
    Rotated(bool),
}

/// Sessions to end in one change, and what replicas are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEnd<'a> {
    pub reason: &'a str,
    pub at_us: i64,
    /// Until when the `session` events are kept (the longest an access token
    /// of the sessions can still live).
    pub event_not_after_us: i64,
}

#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// Opens `session` with its first refresh token, with its record; when
    /// `end_others` is given (a deployment without concurrent sessions), every
    /// other open session of the user ends with it. Returns the ids ended.
    async fn open_session(
        &self,
        session: &SessionRow,
        refresh: Option<&RefreshRow>,
        end_others: Option<&SessionEnd<'_>>,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<Vec<String>, StoreError>;
    async fn find_session(&self, id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// The user's sessions, newest first, at most `limit`; ended ones too when
    /// `include_ended`.
    async fn list_sessions(
        &self,
        user_id: &str,
        include_ended: bool,
        limit: u32,
    ) -> Result<Vec<SessionRow>, StoreError>;
    async fn find_refresh(&self, hash: &[u8]) -> Result<Option<RefreshRow>, StoreError>;
    /// Spends `old_hash` and stores `next`, touching the session, with the
    /// record; `false` when `old_hash` was spent already, or never issued
    /// (nothing written: the caller records the refusal).
    async fn rotate_refresh(
        &self,
        old_hash: &[u8],
        next: &RefreshRow,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<bool, StoreError>;
    /// Session openings and rotations committed together (group commit: one
    /// transaction under the chain lock for all), each with its own record,
    /// in order. A rotation is the compare-and-swap of
    /// [`SessionStore::rotate_refresh`]: one whose old token was spent (before,
    /// or earlier in the batch) writes nothing, not even its record. Returns
    /// what each did, in order.
    async fn write_sessions(
        &self,
        writes: &[SessionWrite<'_>],
        sealer: &Sealer,
    ) -> Result<Vec<SessionWritten>, StoreError>;
    /// Ends the given sessions that are open, each with a `session` event, with
    /// one record. Returns the ids it ended.
    async fn end_sessions(
        &self,
        ids: &[String],
        end: &SessionEnd<'_>,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<Vec<String>, StoreError>;
    /// Ends every open session of `user_id`, and appends a `user` event cutting
    /// every token issued to them until `end.at_us` (lock, disable, password
    /// change), with one record. Returns the ids it ended.
    async fn end_user_sessions(
        &self,
        user_id: &str,
        end: &SessionEnd<'_>,
        audit: &Record,
        sealer: &Sealer,
    ) -> Result<Vec<String>, StoreError>;
}

pub(crate) const SESSION_COLUMNS: &str = "id, user_id, amr, source_ip, user_agent, \
     created_at_us, last_seen_at_us, ended_at_us, end_reason, client_id, scope";
pub(crate) const REFRESH_COLUMNS: &str =
    "hash, session_id, issued_at_us, expires_at_us, spent_at_us";

macro_rules! impl_session_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::SessionStore for $store {
            async fn open_session(
                &self,
                session: &$crate::SessionRow,
                refresh: Option<&$crate::RefreshRow>,
                end_others: Option<&$crate::SessionEnd<'_>>,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let open = $crate::SessionWrite::Open {
                    session,
                    refresh,
                    end_others,
                    audit,
                };
                match self.write_sessions(&[open], sealer).await?.pop() {
                    Some($crate::SessionWritten::Opened { ended }) => Ok(ended),
                    _ => Ok(Vec::new()),
                }
            }

            async fn find_session(
                &self,
                id: &str,
            ) -> Result<Option<$crate::SessionRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM sessions WHERE id = $1",
                    $crate::sessions::SESSION_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(id)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn list_sessions(
                &self,
                user_id: &str,
                include_ended: bool,
                limit: u32,
            ) -> Result<Vec<$crate::SessionRow>, $crate::StoreError> {
                let open = if include_ended {
                    ""
                } else {
                    " AND ended_at_us IS NULL"
                };
                let sql = format!(
                    "SELECT {} FROM sessions WHERE user_id = $1{open} \
                     ORDER BY created_at_us DESC, id DESC LIMIT $2",
                    $crate::sessions::SESSION_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(user_id)
                    .bind(i64::from(limit.clamp(1, 1000)))
                    .fetch_all(&self.lookup)
                    .await?)
            }

            async fn find_refresh(
                &self,
                hash: &[u8],
            ) -> Result<Option<$crate::RefreshRow>, $crate::StoreError> {
                let sql = format!(
                    "SELECT {} FROM refresh_tokens WHERE hash = $1",
                    $crate::sessions::REFRESH_COLUMNS
                );
                Ok(sqlx::query_as(&sql)
                    .bind(hash)
                    .fetch_optional(&self.lookup)
                    .await?)
            }

            async fn rotate_refresh(
                &self,
                old_hash: &[u8],
                next: &$crate::RefreshRow,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<bool, $crate::StoreError> {
                let one = $crate::SessionWrite::Rotate($crate::Rotation {
                    old_hash,
                    next,
                    audit,
                });
                Ok(matches!(
                    self.write_sessions(&[one], sealer).await?.pop(),
                    Some($crate::SessionWritten::Rotated(true))
                ))
            }

            async fn write_sessions(
                &self,
                writes: &[$crate::SessionWrite<'_>],
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<$crate::SessionWritten>, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let mut done = Vec::with_capacity(writes.len());
                let mut records = Vec::with_capacity(writes.len());
                for write in writes {
                    match write {
                        $crate::SessionWrite::Open {
                            session,
                            refresh,
                            end_others,
                            audit,
                        } => {
                            let ended = match end_others {
                                Some(end) => Self::end_open(&mut tx, &session.user_id, end).await?,
                                None => Vec::new(),
                            };
                            sqlx::query(
                                "INSERT INTO sessions (id, user_id, amr, source_ip, user_agent, \
                                 created_at_us, last_seen_at_us, ended_at_us, end_reason, \
                                 client_id, scope) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, $9)",
                            )
                            .bind(&session.id)
                            .bind(&session.user_id)
                            .bind(&session.amr)
                            .bind(&session.source_ip)
                            .bind(&session.user_agent)
                            .bind(session.created_at_us)
                            .bind(session.last_seen_at_us)
                            .bind(&session.client_id)
                            .bind(&session.scope)
                            .execute(&mut *tx)
                            .await?;
                            if let Some(refresh) = refresh {
                                Self::insert_refresh(&mut tx, refresh).await?;
                            }
                            records.push((*audit).clone());
                            done.push($crate::SessionWritten::Opened { ended });
                        }
                        $crate::SessionWrite::Rotate(rotation) => {
                            let next = rotation.next;
                            let spent = sqlx::query(
                                "UPDATE refresh_tokens SET spent_at_us = $2 \
                                 WHERE hash = $1 AND spent_at_us IS NULL",
                            )
                            .bind(rotation.old_hash)
                            .bind(next.issued_at_us)
                            .execute(&mut *tx)
                            .await?;
                            let is_rotated = spent.rows_affected() == 1;
                            if is_rotated {
                                Self::insert_refresh(&mut tx, next).await?;
                                sqlx::query(
                                    "UPDATE sessions SET last_seen_at_us = $2 \
                                     WHERE id = $1 AND ended_at_us IS NULL",
                                )
                                .bind(&next.session_id)
                                .bind(next.issued_at_us)
                                .execute(&mut *tx)
                                .await?;
                                records.push(rotation.audit.clone());
                            }
                            done.push($crate::SessionWritten::Rotated(is_rotated));
                        }
                    }
                }
                if records.is_empty() {
                    tx.rollback().await?;
                    return Ok(done);
                }
                Self::append_locked(&mut tx, &records, &[], sealer).await?;
                tx.commit().await?;
                Ok(done)
            }

            async fn end_sessions(
                &self,
                ids: &[String],
                end: &$crate::SessionEnd<'_>,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let ended = Self::end_ids(&mut tx, ids, end).await?;
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(ended)
            }

            async fn end_user_sessions(
                &self,
                user_id: &str,
                end: &$crate::SessionEnd<'_>,
                audit: &gatehouse_audit::Record,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let ended = Self::end_open(&mut tx, user_id, end).await?;
                Self::append_event(&mut tx, "user", user_id, end.event_not_after_us, end.at_us)
                    .await?;
                Self::append_locked(&mut tx, std::slice::from_ref(audit), &[], sealer).await?;
                tx.commit().await?;
                Ok(ended)
            }
        }

        impl $store {
            /// Writes `row` in place of the user's credential of its kind.
            pub(crate) async fn replace_credential(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                row: &$crate::CredentialRow,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query("DELETE FROM user_credentials WHERE user_id = $1 AND kind = $2")
                    .bind(&row.user_id)
                    .bind(&row.kind)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO user_credentials (user_id, kind, secret, last_step, \
                     is_confirmed, created_at_us, updated_at_us) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&row.user_id)
                .bind(&row.kind)
                .bind(&row.secret)
                .bind(row.last_step)
                .bind(row.is_confirmed)
                .bind(row.created_at_us)
                .bind(row.updated_at_us)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_refresh(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                row: &$crate::RefreshRow,
            ) -> Result<(), $crate::StoreError> {
                sqlx::query(
                    "INSERT INTO refresh_tokens (hash, session_id, issued_at_us, \
                     expires_at_us, spent_at_us) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&row.hash)
                .bind(&row.session_id)
                .bind(row.issued_at_us)
                .bind(row.expires_at_us)
                .bind(row.spent_at_us)
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Ends the user's open sessions, each with its event.
            async fn end_open(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                user_id: &str,
                end: &$crate::SessionEnd<'_>,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let open: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM sessions WHERE user_id = $1 AND ended_at_us IS NULL \
                     ORDER BY id",
                )
                .bind(user_id)
                .fetch_all(&mut **tx)
                .await?;
                Self::end_ids(tx, &open, end).await
            }

            /// Ends those of `ids` still open, each with a `session` event;
            /// returns the ids it ended.
            async fn end_ids(
                tx: &mut sqlx::Transaction<'static, <$store as $crate::tokens::HasDb>::Db>,
                ids: &[String],
                end: &$crate::SessionEnd<'_>,
            ) -> Result<Vec<String>, $crate::StoreError> {
                let mut ended = Vec::new();
                for id in ids {
                    let done = sqlx::query(
                        "UPDATE sessions SET ended_at_us = $2, end_reason = $3 \
                         WHERE id = $1 AND ended_at_us IS NULL",
                    )
                    .bind(id)
                    .bind(end.at_us)
                    .bind(end.reason)
                    .execute(&mut **tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        Self::append_event(tx, "session", id, end.event_not_after_us, end.at_us)
                            .await?;
                        ended.push(id.clone());
                    }
                }
                Ok(ended)
            }
        }
    };
}
pub(crate) use impl_session_store;
