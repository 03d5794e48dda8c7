//! The audit trail's storage (AU-2, AU-5, AU-7, GW-6): append and read, nothing
//! else. There is no update or delete here, and the migrations add triggers that
//! refuse both in the database itself.
//!
//! Appending takes the chain lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: a
//! transaction-scoped advisory lock), reads the head inside the transaction and
//! links the batch onto it, so any number of writers, in one process or many,
//! keep one consistent chain. A batch is one transaction (group commit).
//!
//! `columns` lists the record's columns once; `search` builds the search query;
//! `append` and `store` generate each backend's SQL (the same on both).

mod append;
mod columns;
mod search;
mod store;

use gatehouse_audit::{Checkpoint, Hash, Record};

pub(crate) use append::impl_audit_append;
pub(crate) use columns::{
    canonical_of_row, stored_from_row, BlockedDbRow, CheckpointRow, Col, RecordRow,
    BLOCKED_COLUMNS, RECORD_COLUMNS,
};
pub(crate) use search::{search_sql, Param, FIRST_SEQ_FROM, LAST_SEQ_BEFORE};
pub(crate) use store::impl_audit_store;

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
    /// The gateway's bot verdict of the request (`human`, `bot`, `bad_bot`);
    /// `None` for the API's own refusals.
    pub bot: Option<String>,
    /// What refused it, by reason: the WAF rule that decided a `waf` block, the
    /// decoy a `honeypot` source hit, the tool a `bot` block recognised.
    pub matched: Option<String>,
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
    /// Every bot verdict of the gateway's refusals.
    pub by_bot: Vec<(String, u64)>,
    /// The WAF rules that decided the most `waf` blocks.
    pub top_waf_rules: Vec<(String, u64)>,
    /// The decoys hit the most.
    pub top_decoys: Vec<(String, u64)>,
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

/// Rows per INSERT statement: 19 binds each stays under both backends' limits.
pub(crate) const INSERT_CHUNK: usize = 500;

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
