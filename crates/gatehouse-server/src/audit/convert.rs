//! Between the wire and the store: stored records to wire records, and the
//! audit query to the store's search filter.

use gatehouse_store::{AuditFilter, Page, StoredRecord};
use gatehouse_types::{AuditActor, AuditRecord, AuditResource, CheckedAuditQuery};

use crate::clock::{from_micros, to_micros};

/// The store's search filter for a checked audit query: the one place the wire's
/// filters become the store's (search, export, `gatehouse audit export`).
pub fn store_filter(query: CheckedAuditQuery, page: Page) -> AuditFilter {
    AuditFilter {
        from_us: query.from.map(to_micros),
        to_us: query.to.map(to_micros),
        actor: query.actor,
        action: query.action,
        resource_type: query.resource_type,
        resource_id: query.resource_id,
        outcome: query.outcome,
        source_ip: query.source,
        request_id: query.request_id,
        text: query.q,
        blocked: query.blocked,
        page,
    }
}

/// What `GET /v1/audit/export` and `gatehouse audit export` write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180, formula-neutralised cells, a header row.
    Csv,
    /// One JSON record per line.
    JsonLines,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Self::Csv),
            "jsonl" => Some(Self::JsonLines),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::JsonLines => "application/x-ndjson",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
        }
    }
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    // Stored JSON is written by the server; text that does not parse (only by
    // tampering) is shown as a string rather than hidden.
    text.map(|t| serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)))
}

pub fn to_wire(stored: StoredRecord) -> AuditRecord {
    let r = stored.record;
    AuditRecord {
        seq: stored.seq,
        hash: hex::encode(stored.hash),
        time: from_micros(r.time_us),
        event_id: r.event_id,
        actor: AuditActor {
            kind: r.actor_kind,
            id: r.actor_id,
            name: r.actor_name,
            on_behalf_of: r.on_behalf_of,
        },
        action: r.action,
        resource: AuditResource {
            kind: r.resource_type,
            id: r.resource_id,
        },
        outcome: r.outcome,
        status: u16::try_from(r.status).ok().filter(|s| *s != 0),
        source_ip: r.source_ip,
        user_agent: r.user_agent,
        request_id: r.request_id,
        before: json(r.before),
        after: json(r.after),
        details: json(r.details),
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_audit::Outcome;
    use gatehouse_types::OUTCOMES;

    /// The wire's list of outcomes (what filters accept and the console offers)
    /// is the record's own (gatehouse-audit depends on no other Gatehouse crate,
    /// so the two are held together here).
    #[test]
    fn the_wire_outcomes_are_the_records() {
        assert_eq!(Outcome::ALL.map(Outcome::as_str), OUTCOMES);
    }
}
