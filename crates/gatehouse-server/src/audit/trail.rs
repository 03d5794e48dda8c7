//! Whole-trail operations shared by the HTTP API and the `gatehouse audit`
//! commands: verification and export, both streaming page by page so memory does
//! not grow with the trail.

use std::io::Write;

use gatehouse_audit::csv::write_row;
use gatehouse_audit::{key_id, Checkpoint, Verifier, VerifyingKey};
use gatehouse_store::{Store, StoreError, StoredRecord};
use gatehouse_types::{VerifyFinding, VerifyResponse};

use super::ExportFormat;
use crate::clock::from_micros;

/// Recomputes the whole chain and checks every checkpoint against `keys`,
/// including the `witness` kept outside the database.
pub async fn verify_trail(
    store: &dyn Store,
    keys: &[VerifyingKey],
    witness: Option<Checkpoint>,
) -> Result<VerifyResponse, StoreError> {
    let audit = store.audit();
    let mut checkpoints = audit.checkpoints().await?;
    if let Some(w) = witness {
        if !checkpoints.contains(&w) {
            checkpoints.push(w);
        }
    }
    let checkpoint_count = checkpoints.len() as u64;
    let verifier = audit.verify_chain(Verifier::new(checkpoints, keys)).await?;
    let report = verifier.finish();
    Ok(VerifyResponse {
        is_intact: report.finding.is_none(),
        records: report.records,
        last_seq: report.last_seq,
        checkpoints: checkpoint_count,
        checkpoints_matched: report.checkpoints_matched,
        key_ids: keys.iter().map(key_id).collect(),
        finding: report.finding.map(|f| VerifyFinding {
            seq: f.seq,
            kind: f.kind.as_str().to_owned(),
            detail: f.detail,
        }),
    })
}

/// The text of a record's cells that are not stored as text.
#[derive(Default)]
struct Formatted {
    seq: String,
    time: String,
    status: String,
    hash: String,
}

impl Formatted {
    fn of(&mut self, s: &StoredRecord) {
        use std::fmt::Write as _;
        self.seq.clear();
        let _ = write!(self.seq, "{}", s.seq);
        self.time.clear();
        write_time(&mut self.time, s.record.time_us);
        self.status.clear();
        if s.record.status != 0 {
            let _ = write!(self.status, "{}", s.record.status);
        }
        self.hash.clear();
        let mut hex = [0u8; 64];
        if hex::encode_to_slice(s.hash, &mut hex).is_ok() {
            self.hash
                .push_str(std::str::from_utf8(&hex).unwrap_or_default());
        }
    }
}

/// The CSV export's columns, each header beside its cell: the header row and
/// every record's row come from this one list, so they cannot disagree.
fn csv_cells<'a>(s: &'a StoredRecord, f: &'a Formatted) -> [(&'static str, &'a str); 19] {
    let r = &s.record;
    let opt = |v: &'a Option<String>| v.as_deref().unwrap_or_default();
    [
        ("seq", &f.seq),
        ("time", &f.time),
        ("actor_kind", &r.actor_kind),
        ("actor_id", &r.actor_id),
        ("actor_name", &r.actor_name),
        ("on_behalf_of", opt(&r.on_behalf_of)),
        ("action", &r.action),
        ("resource_type", &r.resource_type),
        ("resource_id", &r.resource_id),
        ("outcome", &r.outcome),
        ("status", &f.status),
        ("source_ip", &r.source_ip),
        ("user_agent", &r.user_agent),
        ("request_id", &r.request_id),
        ("event_id", opt(&r.event_id)),
        ("before", opt(&r.before)),
        ("after", opt(&r.after)),
        ("details", opt(&r.details)),
        ("hash", &f.hash),
    ]
}

/// The CSV header: the names of [`csv_cells`].
fn csv_header() -> [&'static str; 19] {
    let empty = StoredRecord {
        seq: 0,
        hash: [0; 32],
        record: gatehouse_audit::Record::default(),
    };
    csv_cells(&empty, &Formatted::default()).map(|(name, _)| name)
}

/// RFC 3339 with microseconds in UTC, without chrono's per-call format parsing.
fn write_time(out: &mut String, time_us: i64) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write as _;
    let t = from_micros(time_us);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.timestamp_subsec_micros()
    );
}

pub fn write_export_header(format: ExportFormat, out: &mut impl Write) -> std::io::Result<()> {
    match format {
        ExportFormat::Csv => write_row(out, &csv_header()),
        ExportFormat::JsonLines => Ok(()),
    }
}

pub fn write_export_rows(
    format: ExportFormat,
    records: Vec<StoredRecord>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match format {
        ExportFormat::Csv => {
            let mut formatted = Formatted::default();
            for s in &records {
                formatted.of(s);
                write_row(out, &csv_cells(s, &formatted).map(|(_, cell)| cell))?;
            }
        }
        ExportFormat::JsonLines => {
            for s in records {
                serde_json::to_writer(&mut *out, &super::to_wire(s))?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each cell sits under the header that names it: a record whose every
    /// field names itself, written and read back by header.
    #[test]
    fn every_cell_is_under_its_own_header() {
        let stored = StoredRecord {
            seq: 7,
            hash: [0xab; 32],
            record: gatehouse_audit::Record {
                time_us: 0,
                event_id: Some("event_id".into()),
                actor_kind: "actor_kind".into(),
                actor_id: "actor_id".into(),
                actor_name: "actor_name".into(),
                on_behalf_of: Some("on_behalf_of".into()),
                action: "action".into(),
                resource_type: "resource_type".into(),
                resource_id: "resource_id".into(),
                outcome: "outcome".into(),
                status: 201,
                source_ip: "source_ip".into(),
                user_agent: "user_agent".into(),
                request_id: "request_id".into(),
                before: Some("before".into()),
                after: Some("after".into()),
                details: Some("details".into()),
            },
        };
        let mut out = Vec::new();
        write_export_header(ExportFormat::Csv, &mut out).unwrap();
        write_export_rows(ExportFormat::Csv, vec![stored], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header.len(), row.len());
        for (name, cell) in header.iter().zip(&row) {
            let expected = match *name {
                "seq" => "7",
                "time" => "1970-01-01T00:00:00.000000Z",
                "status" => "201",
                "hash" => &"ab".repeat(32),
                other => other,
            };
            assert_eq!(*cell, expected, "{name}");
        }
    }
}
