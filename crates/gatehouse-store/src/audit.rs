//! The audit trail's storage (AU-2, AU-5, AU-7, GW-6): append and read, nothing
//! else. There is no update or delete here, and the migrations add triggers that
//! refuse both in the database itself.
//!
//! Appending takes the chain lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//! transaction-scoped advisory lock), reads the head inside the transaction and
//! links the batch onto it, so any number of writers, in one process or many,
//! keep one consistent chain. A batch is one transaction (group commit).

use gatehouse_audit::{Checkpoint, Hash, Record};

/// A record with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq: u64,
    pub hash: Hash,
    pub record: Record,
}

/// What became of one record handed to [`AuditStore::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    /// Its event id was already in the trail (or earlier in the batch): nothing
    /// was written, and `seq` is the record that has it.
    pub is_duplicate: bool,
}

/// A request the pipeline refused (GW-6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockedRow {
    /// Assigned by the store; ignored on append.
    pub id: i64,
    pub time_us: i64,
    /// `authentication`, `authorization`, `rate_limit`, `bad_input`, `unknown_route`.
    pub reason: String,
    pub source_ip: String,
    pub identity: Option<String>,
    pub method: String,
    pub route: String,
    pub status: i32,
    pub request_id: String,
}

/// Which end of the trail a page starts from, and where it continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Newest first, strictly before this sequence number.
    Newest { before: Option<u64> },
    /// Oldest first, strictly after this sequence number.
    Oldest { after: Option<u64> },
}

impl Default for Page {
    fn default() -> Self {
        Page::Newest { before: None }
    }
}

/// Filters on the audit trail; every one that is set must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    pub from_us: Option<i64>,
    /// Exclusive.
    pub to_us: Option<i64>,
    /// The actor's id, exactly. Names are not unique (and not indexed): free text
    /// finds them. An `OR` over both columns would defeat the (actor_id, seq) index.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    /// Case-insensitive substring of any text field.
    pub text: Option<String>,
    /// Only records of requests the pipeline refused: `any`, or one reason of the
    /// blocked-request log (matched by request id).
    pub blocked: Option<String>,
    pub page: Page,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockedFilter {
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
    pub identity: Option<String>,
    pub route: Option<String>,
    /// Newest first, strictly before this id.
    pub before_id: Option<i64>,
}

/// Counts for a time range: per bucket and reason, and the top talkers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockedSummary {
    pub total: u64,
    /// `(bucket start in unix µs, reason, count)`, by bucket then reason.
    pub buckets: Vec<(i64, String, u64)>,
    pub by_reason: Vec<(String, u64)>,
    pub top_sources: Vec<(String, u64)>,
    pub top_identities: Vec<(String, u64)>,
    pub top_routes: Vec<(String, u64)>,
}

#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `records` to the chain and `blocked` to the blocked-request log in
    /// one transaction, signing a checkpoint when one is due. Returns one
    /// [`Appended`] per record, in order. Nothing is acknowledged before commit.
    async fn append(
        &self,
        records: &[Record],
        blocked: &[BlockedRow],
        sealer: &gatehouse_audit::Sealer,
    ) -> Result<Vec<Appended>, crate::StoreError>;
    /// Signs a checkpoint of the head if records were appended since the last one.
    async fn seal(
        &self,
        now_us: i64,
        sealer: &gatehouse_audit::Sealer,
    ) -> Result<Option<Checkpoint>, crate::StoreError>;
    /// The newest record's sequence number (0 for an empty trail).
    async fn last_seq(&self) -> Result<u64, crate::StoreError>;
    /// Records in chain order after `after_seq`, at most `limit`.
    async fn read_after(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredRecord>, crate::StoreError>;
    /// Pushes every record, in chain order, into `verifier` (the backend reads
    /// them the fastest way it has) and hands it back.
    async fn verify_chain(
        &self,
        verifier: gatehouse_audit::Verifier,
    ) -> Result<gatehouse_audit::Verifier, crate::StoreError>;
    /// Every checkpoint, oldest first.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>, crate::StoreError>;
    /// The newest checkpoint.
    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, crate::StoreError>;
    /// One page of records matching `filter`, in the page's order.
    async fn search(
        &self,
        filter: &AuditFilter,
        limit: u32,
    ) -> Result<Vec<StoredRecord>, crate::StoreError>;
    /// One page of blocked requests, newest first.
    async fn search_blocked(
        &self,
        filter: &BlockedFilter,
        limit: u32,
    ) -> Result<Vec<BlockedRow>, crate::StoreError>;
    /// Counts over `[from_us, to_us)` in buckets of `bucket_us`, and the `top` most
    /// frequent sources, identities and routes.
    async fn blocked_summary(
        &self,
        from_us: i64,
        to_us: i64,
        bucket_us: i64,
        top: u32,
    ) -> Result<BlockedSummary, crate::StoreError>;
}

pub(crate) const RECORD_COLUMNS: &str = "seq, hash, time_us, event_id, actor_kind, actor_id, \
     actor_name, on_behalf_of, action, resource_type, resource_id, outcome, status, source_ip, \
     user_agent, request_id, before_json, after_json, details_json";

pub(crate) const BLOCKED_COLUMNS: &str =
    "id, time_us, reason, source_ip, identity, method, route, status, request_id";

/// Rows per INSERT statement: 19 binds each stays under both backends' limits.
pub(crate) const INSERT_CHUNK: usize = 500;

#[derive(sqlx::FromRow)]
pub(crate) struct RecordRow {
    seq: i64,
    hash: Vec<u8>,
    time_us: i64,
    event_id: Option<String>,
    actor_kind: String,
    actor_id: String,
    actor_name: String,
    on_behalf_of: Option<String>,
    action: String,
    resource_type: String,
    resource_id: String,
    outcome: String,
    status: i32,
    source_ip: String,
    user_agent: String,
    request_id: String,
    before_json: Option<String>,
    after_json: Option<String>,
    details_json: Option<String>,
}

impl RecordRow {
    pub(crate) fn into_stored(self) -> StoredRecord {
        // A stored hash of the wrong length cannot match any chain hash; zeros make
        // the verifier report the record as modified instead of failing the read.
        let hash = <Hash>::try_from(self.hash.as_slice()).unwrap_or([0; 32]);
        StoredRecord {
            seq: u64::try_from(self.seq).unwrap_or(0),
            hash,
            record: Record {
                time_us: self.time_us,
                event_id: self.event_id,
                actor_kind: self.actor_kind,
                actor_id: self.actor_id,
                actor_name: self.actor_name,
                on_behalf_of: self.on_behalf_of,
                action: self.action,
                resource_type: self.resource_type,
                resource_id: self.resource_id,
                outcome: self.outcome,
                status: self.status,
                source_ip: self.source_ip,
                user_agent: self.user_agent,
                request_id: self.request_id,
                before: self.before_json,
                after: self.after_json,
                details: self.details_json,
            },
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CheckpointRow {
    seq: i64,
    head: Vec<u8>,
    time_us: i64,
    key_id: String,
    signature: Vec<u8>,
}

impl CheckpointRow {
    pub(crate) fn into_checkpoint(self) -> Checkpoint {
        Checkpoint {
            seq: u64::try_from(self.seq).unwrap_or(0),
            head: <Hash>::try_from(self.head.as_slice()).unwrap_or([0; 32]),
            time_us: self.time_us,
            key_id: self.key_id,
            // A mangled signature fails verification and is reported as forged.
            signature: <[u8; 64]>::try_from(self.signature.as_slice()).unwrap_or([0; 64]),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct BlockedDbRow {
    id: i64,
    time_us: i64,
    reason: String,
    source_ip: String,
    identity: Option<String>,
    method: String,
    route: String,
    status: i32,
    request_id: String,
}

impl From<BlockedDbRow> for BlockedRow {
    fn from(r: BlockedDbRow) -> Self {
        BlockedRow {
            id: r.id,
            time_us: r.time_us,
            reason: r.reason,
            source_ip: r.source_ip,
            identity: r.identity,
            method: r.method,
            route: r.route,
            status: r.status,
            request_id: r.request_id,
        }
    }
}

/// A bind parameter of a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// The search query for `f` between sequence numbers `lo..=hi` (from the time
/// probes): SQL with `$1…` placeholders, each used once, in order, and its
/// parameters. `ilike` is the backend's case-insensitive LIKE.
pub(crate) fn search_sql(
    f: &AuditFilter,
    lo: Option<i64>,
    hi: Option<i64>,
    limit: u32,
    ilike: &str,
    pin_index: bool,
) -> (String, Vec<Param>) {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM audit_records WHERE 1 = 1");
    let mut params = Vec::new();
    let mut push = |sql: &mut String, clause: &str, p: Param| {
        params.push(p);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
    };
    if let Some(v) = lo {
        push(&mut sql, " AND seq >= ?", Param::Int(v));
    }
    if let Some(v) = hi {
        push(&mut sql, " AND seq <= ?", Param::Int(v));
    }
    // SQLite's planner statistics are sampled (`PRAGMA optimize` runs ANALYZE
    // with a row limit) and rate every column alike, so with two equality filters
    // it may walk the less selective index, or the table in `seq` order: seconds
    // at 10 M records. With `pin_index`, the filter on the column that is the most
    // selective by nature leads, and `+column` keeps the others off their indexes.
    let leader = [
        ("request_id", f.request_id.is_some()),
        ("blocked", f.blocked.is_some()),
        ("resource_type", f.resource_type.is_some()),
        ("actor_id", f.actor.is_some()),
        ("source_ip", f.source_ip.is_some()),
        ("action", f.action.is_some()),
        ("outcome", f.outcome.is_some()),
    ]
    .into_iter()
    .find(|(_, present)| *present)
    .map(|(c, _)| c);
    for (column, value) in [
        ("actor_id", &f.actor),
        ("action", &f.action),
        ("resource_type", &f.resource_type),
        ("resource_id", &f.resource_id),
        ("outcome", &f.outcome),
        ("source_ip", &f.source_ip),
        ("request_id", &f.request_id),
    ] {
        if let Some(v) = value {
            let is_indexed = !pin_index
                || leader == Some(column)
                || (column == "resource_id" && leader == Some("resource_type"));
            let unary = if is_indexed { "" } else { "+" };
            push(
                &mut sql,
                &format!(" AND {unary}{column} = ?"),
                Param::Text(v.clone()),
            );
        }
    }
    if let Some(reason) = &f.blocked {
        // The refused requests' ids lead (bounded by the same times: a blocked
        // row is written with its record), then each is found by its index.
        let unary = if !pin_index || leader == Some("blocked") {
            ""
        } else {
            "+"
        };
        sql.push_str(&format!(
            " AND {unary}request_id IN (SELECT request_id FROM blocked_requests WHERE 1 = 1"
        ));
        if reason != "any" {
            push(&mut sql, " AND reason = ?", Param::Text(reason.clone()));
        }
        if let Some(v) = f.from_us {
            push(&mut sql, " AND time_us >= ?", Param::Int(v));
        }
        if let Some(v) = f.to_us {
            push(&mut sql, " AND time_us < ?", Param::Int(v));
        }
        sql.push(')');
    }
    if let Some(text) = &f.text {
        let pattern = like_pattern(text);
        let columns = [
            "actor_id",
            "actor_name",
            "on_behalf_of",
            "action",
            "resource_type",
            "resource_id",
            "source_ip",
            "user_agent",
            "request_id",
            "details_json",
            "before_json",
            "after_json",
        ];
        sql.push_str(" AND (");
        for (i, column) in columns.iter().enumerate() {
            let or = if i > 0 { " OR " } else { "" };
            push(
                &mut sql,
                &format!("{or}{column} {ilike} ? ESCAPE '\\'"),
                Param::Text(pattern.clone()),
            );
        }
        sql.push(')');
    }
    match f.page {
        Page::Newest { before } => {
            if let Some(b) = before {
                push(&mut sql, " AND seq < ?", Param::Int(to_i64(b)));
            }
            push(
                &mut sql,
                " ORDER BY seq DESC LIMIT ?",
                Param::Int(i64::from(limit)),
            );
        }
        Page::Oldest { after } => {
            if let Some(a) = after {
                push(&mut sql, " AND seq > ?", Param::Int(to_i64(a)));
            }
            push(
                &mut sql,
                " ORDER BY seq LIMIT ?",
                Param::Int(i64::from(limit)),
            );
        }
    }
    (sql, params)
}

/// The probes that turn a time range into a sequence range: record time never
/// goes backwards along the chain.
pub(crate) const FIRST_SEQ_FROM: &str =
    "SELECT seq FROM audit_records WHERE time_us >= $1 ORDER BY time_us, seq LIMIT 1";
pub(crate) const LAST_SEQ_BEFORE: &str =
    "SELECT seq FROM audit_records WHERE time_us < $1 ORDER BY time_us DESC, seq DESC LIMIT 1";

/// `%text%` for LIKE with the wildcards in `text` escaped (escape character `\`).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The audit store's SQL, the same on both backends except for the case-insensitive
/// LIKE operator; each backend provides `begin_chain` (the transaction holding the
/// chain lock).
macro_rules! impl_audit_store {
    ($store:ty, $db:ty, $ilike:literal) => {
        impl $store {
            /// Links `records` onto the head read inside `tx` (which holds the chain
            /// lock) and writes them, with `blocked` and a checkpoint if one is due.
            pub(crate) async fn append_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                records: &[gatehouse_audit::Record],
                blocked: &[$crate::BlockedRow],
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<$crate::Appended>, $crate::StoreError> {
                use std::collections::HashMap;
                let head: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT seq, hash, time_us FROM audit_records ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&mut **tx)
                .await?;
                let (last_seq, head_hash, mut last_time) = match head {
                    Some((seq, hash, time)) => (
                        u64::try_from(seq).unwrap_or(0),
                        <gatehouse_audit::Hash>::try_from(hash.as_slice()).unwrap_or([0; 32]),
                        time,
                    ),
                    None => (0, gatehouse_audit::GENESIS, i64::MIN),
                };
                // Idempotency: event ids already stored for the same actor.
                let mut known: HashMap<(String, String), u64> = HashMap::new();
                // One probe of the (event_id, actor_id) index per chunk, whatever
                // the number of actors in the batch.
                let ids: Vec<&str> = records
                    .iter()
                    .filter_map(|r| r.event_id.as_deref())
                    .collect();
                for chunk in ids.chunks($crate::audit::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "SELECT actor_id, event_id, seq FROM audit_records WHERE event_id IN (",
                    );
                    let mut sep = q.separated(", ");
                    for id in chunk {
                        sep.push_bind(*id);
                    }
                    q.push(")");
                    let rows: Vec<(String, String, i64)> =
                        q.build_query_as().fetch_all(&mut **tx).await?;
                    for (actor, event_id, seq) in rows {
                        known.insert((actor, event_id), u64::try_from(seq).unwrap_or(0));
                    }
                }

                let mut chain = gatehouse_audit::Chain::resume(last_seq, head_hash);
                let mut outcome = Vec::with_capacity(records.len());
                let mut rows: Vec<(u64, gatehouse_audit::Hash, gatehouse_audit::Record)> =
                    Vec::with_capacity(records.len());
                let mut canonical = Vec::with_capacity(512);
                for r in records {
                    if let Some(id) = r.event_id.as_deref() {
                        let key = (r.actor_id.clone(), id.to_owned());
                        if let Some(seq) = known.get(&key) {
                            outcome.push($crate::Appended {
                                seq: *seq,
                                is_duplicate: true,
                            });
                            continue;
                        }
                        known.insert(key, chain.last_seq() + 1);
                    }
                    let mut r = r.clone();
                    r.time_us = r.time_us.max(last_time);
                    last_time = r.time_us;
                    r.canonical_into(&mut canonical);
                    let (seq, hash) = chain.append(&canonical);
                    outcome.push($crate::Appended {
                        seq,
                        is_duplicate: false,
                    });
                    rows.push((seq, hash, r));
                }
                for chunk in rows.chunks($crate::audit::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO audit_records ({}) ",
                        $crate::audit::RECORD_COLUMNS
                    ));
                    q.push_values(chunk, |mut b, (seq, hash, r)| {
                        b.push_bind($crate::audit::to_i64(*seq))
                            .push_bind(hash.to_vec())
                            .push_bind(r.time_us)
                            .push_bind(r.event_id.clone())
                            .push_bind(r.actor_kind.clone())
                            .push_bind(r.actor_id.clone())
                            .push_bind(r.actor_name.clone())
                            .push_bind(r.on_behalf_of.clone())
                            .push_bind(r.action.clone())
                            .push_bind(r.resource_type.clone())
                            .push_bind(r.resource_id.clone())
                            .push_bind(r.outcome.clone())
                            .push_bind(r.status)
                            .push_bind(r.source_ip.clone())
                            .push_bind(r.user_agent.clone())
                            .push_bind(r.request_id.clone())
                            .push_bind(r.before.clone())
                            .push_bind(r.after.clone())
                            .push_bind(r.details.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                for chunk in blocked.chunks($crate::audit::INSERT_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO blocked_requests (time_us, reason, source_ip, identity, \
                         method, route, status, request_id) ",
                    );
                    q.push_values(chunk, |mut b, row| {
                        b.push_bind(row.time_us)
                            .push_bind(row.reason.clone())
                            .push_bind(row.source_ip.clone())
                            .push_bind(row.identity.clone())
                            .push_bind(row.method.clone())
                            .push_bind(row.route.clone())
                            .push_bind(row.status)
                            .push_bind(row.request_id.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                if chain.last_seq() > last_seq {
                    Self::seal_locked(tx, chain.last_seq(), chain.head(), last_time, sealer, false)
                        .await?;
                }
                Ok(outcome)
            }

            /// Signs the head (`seq`, `head`) if a checkpoint is due, or if
            /// `is_forced` and the head is newer than the last checkpoint.
            async fn seal_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                seq: u64,
                head: gatehouse_audit::Hash,
                now_us: i64,
                sealer: &gatehouse_audit::Sealer,
                is_forced: bool,
            ) -> Result<Option<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let last: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT seq, time_us FROM audit_checkpoints ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&mut **tx)
                .await?;
                let (cp_seq, cp_time) = last
                    .map(|(s, t)| (u64::try_from(s).unwrap_or(0), t))
                    .unwrap_or((0, now_us));
                let since = seq.saturating_sub(cp_seq);
                let is_due = if is_forced {
                    since > 0
                } else {
                    sealer.policy.is_due(since, now_us.saturating_sub(cp_time))
                };
                if !is_due {
                    return Ok(None);
                }
                let cp = sealer.signer.sign(seq, head, now_us);
                sqlx::query(
                    "INSERT INTO audit_checkpoints (seq, head, time_us, key_id, signature) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind($crate::audit::to_i64(cp.seq))
                .bind(cp.head.to_vec())
                .bind(cp.time_us)
                .bind(&cp.key_id)
                .bind(cp.signature.to_vec())
                .execute(&mut **tx)
                .await?;
                Ok(Some(cp))
            }
        }

        #[async_trait::async_trait]
        impl $crate::AuditStore for $store {
            async fn append(
                &self,
                records: &[gatehouse_audit::Record],
                blocked: &[$crate::BlockedRow],
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Vec<$crate::Appended>, $crate::StoreError> {
                if records.is_empty() && blocked.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_chain().await?;
                let appended = Self::append_locked(&mut tx, records, blocked, sealer).await?;
                tx.commit().await?;
                Ok(appended)
            }

            async fn seal(
                &self,
                now_us: i64,
                sealer: &gatehouse_audit::Sealer,
            ) -> Result<Option<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let mut tx = self.begin_chain().await?;
                let head: Option<(i64, Vec<u8>, i64)> = sqlx::query_as(
                    "SELECT seq, hash, time_us FROM audit_records ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&mut *tx)
                .await?;
                let Some((seq, hash, time_us)) = head else {
                    return Ok(None);
                };
                let hash = <gatehouse_audit::Hash>::try_from(hash.as_slice()).unwrap_or([0; 32]);
                let cp = Self::seal_locked(
                    &mut tx,
                    u64::try_from(seq).unwrap_or(0),
                    hash,
                    now_us.max(time_us),
                    sealer,
                    true,
                )
                .await?;
                tx.commit().await?;
                Ok(cp)
            }

            async fn last_seq(&self) -> Result<u64, $crate::StoreError> {
                let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_records")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
            }

            async fn read_after(
                &self,
                after_seq: u64,
                limit: u32,
            ) -> Result<Vec<$crate::StoredRecord>, $crate::StoreError> {
                self.read_after_impl(after_seq, limit).await
            }

            async fn verify_chain(
                &self,
                verifier: gatehouse_audit::Verifier,
            ) -> Result<gatehouse_audit::Verifier, $crate::StoreError> {
                self.verify_chain_impl(verifier).await
            }

            async fn latest_checkpoint(
                &self,
            ) -> Result<Option<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let row: Option<$crate::audit::CheckpointRow> = sqlx::query_as(
                    "SELECT seq, head, time_us, key_id, signature FROM audit_checkpoints \
                     ORDER BY seq DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map($crate::audit::CheckpointRow::into_checkpoint))
            }

            async fn checkpoints(
                &self,
            ) -> Result<Vec<gatehouse_audit::Checkpoint>, $crate::StoreError> {
                let rows: Vec<$crate::audit::CheckpointRow> = sqlx::query_as(
                    "SELECT seq, head, time_us, key_id, signature FROM audit_checkpoints \
                     ORDER BY seq",
                )
                .fetch_all(&self.pool)
                .await?;
                Ok(rows
                    .into_iter()
                    .map($crate::audit::CheckpointRow::into_checkpoint)
                    .collect())
            }

            async fn search(
                &self,
                f: &$crate::AuditFilter,
                limit: u32,
            ) -> Result<Vec<$crate::StoredRecord>, $crate::StoreError> {
                self.search_impl(f, limit).await
            }

            async fn search_blocked(
                &self,
                f: &$crate::BlockedFilter,
                limit: u32,
            ) -> Result<Vec<$crate::BlockedRow>, $crate::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM blocked_requests WHERE 1 = 1",
                    $crate::audit::BLOCKED_COLUMNS
                ));
                if let Some(v) = f.from_us {
                    q.push(" AND time_us >= ").push_bind(v);
                }
                if let Some(v) = f.to_us {
                    q.push(" AND time_us < ").push_bind(v);
                }
                for (column, value) in [
                    ("reason", &f.reason),
                    ("source_ip", &f.source_ip),
                    ("identity", &f.identity),
                    ("route", &f.route),
                ] {
                    if let Some(v) = value {
                        q.push(format!(" AND {column} = ")).push_bind(v.clone());
                    }
                }
                if let Some(b) = f.before_id {
                    q.push(" AND id < ").push_bind(b);
                }
                q.push(" ORDER BY id DESC LIMIT ")
                    .push_bind(i64::from(limit));
                let rows: Vec<$crate::audit::BlockedDbRow> =
                    q.build_query_as().fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn blocked_summary(
                &self,
                from_us: i64,
                to_us: i64,
                bucket_us: i64,
                top: u32,
            ) -> Result<$crate::BlockedSummary, $crate::StoreError> {
                let bucket_us = bucket_us.max(1);
                let (lo, hi) = $crate::blocked::whole_hours(from_us, to_us);
                let count = |n: i64| u64::try_from(n).unwrap_or(0);
                let span: (Option<i64>, Option<i64>) =
                    sqlx::query_as($crate::blocked::SPAN_SQL)
                        .fetch_one(&self.pool)
                        .await?;
                let totals = $crate::blocked::from_totals(lo, hi, span);
                // Five independent reads, each on its own pooled connection.
                let counts = |dimension: &'static str, limit: i64| {
                    let sql = $crate::blocked::counts_sql(dimension, totals);
                    let pool = self.pool.clone();
                    async move {
                        let rows: Vec<(String, i64)> = sqlx::query_as(&sql)
                            .bind(from_us)
                            .bind(to_us)
                            .bind(lo)
                            .bind(hi)
                            .bind(limit)
                            .fetch_all(&pool)
                            .await?;
                        Ok::<_, sqlx::Error>(
                            rows.into_iter().map(|(k, n)| (k, count(n))).collect::<Vec<_>>(),
                        )
                    }
                };
                let buckets = async {
                    let rows: Vec<(i64, String, i64)> =
                        sqlx::query_as($crate::blocked::buckets_sql(from_us, bucket_us))
                            .bind(from_us)
                            .bind(to_us)
                            .bind(lo)
                            .bind(hi)
                            .bind(bucket_us)
                            .fetch_all(&self.pool)
                            .await?;
                    Ok::<_, sqlx::Error>(rows)
                };
                let top = i64::from(top);
                // Every reason is counted; only the talkers are cut to `top`.
                let (buckets, by_reason, top_sources, top_identities, top_routes) = tokio::try_join!(
                    buckets,
                    counts("reason", i64::MAX),
                    counts("source", top),
                    counts("identity", top),
                    counts("route", top),
                )?;
                let summary = $crate::BlockedSummary {
                    total: by_reason.iter().map(|(_, n)| n).sum(),
                    buckets: buckets
                        .into_iter()
                        .map(|(b, r, n)| (b, r, count(n)))
                        .collect(),
                    by_reason,
                    top_sources,
                    top_identities,
                    top_routes,
                };
                Ok(summary)
            }
        }
    };
}
pub(crate) use impl_audit_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
    }
}
