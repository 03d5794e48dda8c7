//! The columns of `audit_records`, listed once. The SQL's column lists
//! ([`RECORD_COLUMNS`]), the inserts' binds, the free-text search's columns and
//! the rusqlite decoders' indexes all come from [`Col::ALL`]; sqlx decodes
//! [`RecordRow`] by column name. Reordering the list reorders every one of them
//! together; a column added to the table but not here fails the store tests.

use std::fmt;

use gatehouse_audit::{Checkpoint, Hash, Record, RecordRef};

use super::{BlockedRow, StoredRecord};

/// A column of `audit_records`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Col {
    Seq,
    Hash,
    TimeUs,
    EventId,
    ActorKind,
    ActorId,
    ActorName,
    OnBehalfOf,
    Action,
    ResourceType,
    ResourceId,
    Outcome,
    Status,
    SourceIp,
    UserAgent,
    RequestId,
    Before,
    After,
    Details,
}

impl Col {
    /// Every column, in the order statements list them and rows hold them.
    pub(crate) const ALL: [Col; 19] = [
        Col::Seq,
        Col::Hash,
        Col::TimeUs,
        Col::EventId,
        Col::ActorKind,
        Col::ActorId,
        Col::ActorName,
        Col::OnBehalfOf,
        Col::Action,
        Col::ResourceType,
        Col::ResourceId,
        Col::Outcome,
        Col::Status,
        Col::SourceIp,
        Col::UserAgent,
        Col::RequestId,
        Col::Before,
        Col::After,
        Col::Details,
    ];

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Col::Seq => "seq",
            Col::Hash => "hash",
            Col::TimeUs => "time_us",
            Col::EventId => "event_id",
            Col::ActorKind => "actor_kind",
            Col::ActorId => "actor_id",
            Col::ActorName => "actor_name",
            Col::OnBehalfOf => "on_behalf_of",
            Col::Action => "action",
            Col::ResourceType => "resource_type",
            Col::ResourceId => "resource_id",
            Col::Outcome => "outcome",
            Col::Status => "status",
            Col::SourceIp => "source_ip",
            Col::UserAgent => "user_agent",
            Col::RequestId => "request_id",
            Col::Before => "before_json",
            Col::After => "after_json",
            Col::Details => "details_json",
        }
    }

    /// Its position in a row selected with [`RECORD_COLUMNS`].
    pub(crate) const fn index(self) -> usize {
        let mut i = 0;
        while i < Col::ALL.len() {
            if Col::ALL[i] as usize == self as usize {
                return i;
            }
            i += 1;
        }
        // Unreachable: every column is in `ALL` (a test checks it).
        Col::ALL.len()
    }

    /// Whether the free-text filter (`q`) searches it: the text a person wrote
    /// or would look for, not the fixed vocabularies (kind, outcome) or event ids.
    pub(crate) const fn is_free_text(self) -> bool {
        matches!(
            self,
            Col::ActorId
                | Col::ActorName
                | Col::OnBehalfOf
                | Col::Action
                | Col::ResourceType
                | Col::ResourceId
                | Col::SourceIp
                | Col::UserAgent
                | Col::RequestId
                | Col::Before
                | Col::After
                | Col::Details
        )
    }
}

/// `seq, hash, time_us, …`: every column of [`Col::ALL`], for a SELECT or an
/// INSERT's column list.
pub(crate) struct ColumnList;

pub(crate) const RECORD_COLUMNS: ColumnList = ColumnList;

impl fmt::Display for ColumnList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in Col::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(c.name())?;
        }
        Ok(())
    }
}

/// A record row as sqlx decodes it, by column name.
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

/// A rusqlite row selected with [`RECORD_COLUMNS`], by the columns' indexes.
pub(crate) fn stored_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRecord> {
    let get_text = |c: Col| -> rusqlite::Result<String> { row.get(c.index()) };
    let hash: Vec<u8> = row.get(Col::Hash.index())?;
    Ok(StoredRecord {
        seq: u64::try_from(row.get::<_, i64>(Col::Seq.index())?).unwrap_or(0),
        // A wrong-length hash cannot match: the verifier reports it as modified.
        hash: <Hash>::try_from(hash.as_slice()).unwrap_or([0; 32]),
        record: Record {
            time_us: row.get(Col::TimeUs.index())?,
            event_id: row.get(Col::EventId.index())?,
            actor_kind: get_text(Col::ActorKind)?,
            actor_id: get_text(Col::ActorId)?,
            actor_name: get_text(Col::ActorName)?,
            on_behalf_of: row.get(Col::OnBehalfOf.index())?,
            action: get_text(Col::Action)?,
            resource_type: get_text(Col::ResourceType)?,
            resource_id: get_text(Col::ResourceId)?,
            outcome: get_text(Col::Outcome)?,
            status: row.get(Col::Status.index())?,
            source_ip: get_text(Col::SourceIp)?,
            user_agent: get_text(Col::UserAgent)?,
            request_id: get_text(Col::RequestId)?,
            before: row.get(Col::Before.index())?,
            after: row.get(Col::After.index())?,
            details: row.get(Col::Details.index())?,
        },
    })
}

/// The canonical bytes of a rusqlite row selected with [`RECORD_COLUMNS`],
/// borrowed in place; `None` when a column does not hold the type the server
/// writes (which only tampering does).
pub(crate) fn canonical_of_row(row: &rusqlite::Row<'_>, out: &mut Vec<u8>) -> Option<()> {
    let s = |c: Col| row.get_ref(c.index()).ok()?.as_str().ok();
    let o = |c: Col| row.get_ref(c.index()).ok()?.as_str_or_null().ok();
    let int = |c: Col| row.get_ref(c.index()).ok()?.as_i64().ok();
    let record = RecordRef {
        time_us: int(Col::TimeUs)?,
        event_id: o(Col::EventId)?,
        actor_kind: s(Col::ActorKind)?,
        actor_id: s(Col::ActorId)?,
        actor_name: s(Col::ActorName)?,
        on_behalf_of: o(Col::OnBehalfOf)?,
        action: s(Col::Action)?,
        resource_type: s(Col::ResourceType)?,
        resource_id: s(Col::ResourceId)?,
        outcome: s(Col::Outcome)?,
        status: i32::try_from(int(Col::Status)?).ok()?,
        source_ip: s(Col::SourceIp)?,
        user_agent: s(Col::UserAgent)?,
        request_id: s(Col::RequestId)?,
        before: o(Col::Before)?,
        after: o(Col::After)?,
        details: o(Col::Details)?,
    };
    record.canonical_into(out);
    Some(())
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

pub(crate) const BLOCKED_COLUMNS: &str =
    "id, time_us, reason, source_ip, identity, method, route, status, request_id, bot, matched";

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
    bot: Option<String>,
    matched: Option<String>,
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
            bot: r.bot,
            matched: r.matched,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_list_gives_every_position_and_name() {
        for (i, c) in Col::ALL.iter().enumerate() {
            assert_eq!(c.index(), i, "{c:?}");
        }
        let names: Vec<&str> = Col::ALL.iter().map(|c| c.name()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "names are unique");
        assert_eq!(RECORD_COLUMNS.to_string(), names.join(", "));
    }

    fn sorted(mut names: Vec<String>) -> Vec<String> {
        names.sort_unstable();
        names
    }

    fn listed() -> Vec<String> {
        sorted(Col::ALL.iter().map(|c| c.name().to_owned()).collect())
    }

    /// The migrations' table has exactly the listed columns, on both databases.
    #[tokio::test]
    async fn the_table_has_exactly_the_listed_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        crate::SqliteStore::open(&path).await.unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM pragma_table_info('audit_records')")
            .unwrap();
        let names = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        assert_eq!(sorted(names), listed(), "SQLite");

        let Ok(url) = std::env::var("GATEHOUSE_TEST_DATABASE_URL") else {
            return;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let store = crate::PgStore::connect_in_schema(&url, &schema)
            .await
            .unwrap();
        let raw = sqlx::PgPool::connect(&url).await.unwrap();
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = 'audit_records'",
        )
        .bind(&schema)
        .fetch_all(&raw)
        .await
        .unwrap();
        assert_eq!(sorted(names), listed(), "PostgreSQL");
        raw.close().await;
        crate::Store::close(&store).await;
    }
}
