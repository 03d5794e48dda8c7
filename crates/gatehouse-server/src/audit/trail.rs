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

const CSV_HEADER: [&str; 19] = [
    "seq",
    "time",
    "actor_kind",
    "actor_id",
    "actor_name",
    "on_behalf_of",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "status",
    "source_ip",
    "user_agent",
    "request_id",
    "event_id",
    "before",
    "after",
    "details",
    "hash",
];

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
        ExportFormat::Csv => write_row(out, &CSV_HEADER),
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
            let mut seq = String::new();
            let mut time = String::new();
            let mut status = String::new();
            let mut hash = [0u8; 64];
            for s in &records {
                use std::fmt::Write as _;
                let r = &s.record;
                seq.clear();
                let _ = write!(seq, "{}", s.seq);
                time.clear();
                write_time(&mut time, r.time_us);
                status.clear();
                if r.status != 0 {
                    let _ = write!(status, "{}", r.status);
                }
                let hash_hex = hex::encode_to_slice(s.hash, &mut hash)
                    .ok()
                    .and_then(|()| std::str::from_utf8(&hash).ok())
                    .unwrap_or_default();
                write_row(
                    out,
                    &[
                        seq.as_str(),
                        time.as_str(),
                        &r.actor_kind,
                        &r.actor_id,
                        &r.actor_name,
                        r.on_behalf_of.as_deref().unwrap_or_default(),
                        &r.action,
                        &r.resource_type,
                        &r.resource_id,
                        &r.outcome,
                        status.as_str(),
                        &r.source_ip,
                        &r.user_agent,
                        &r.request_id,
                        r.event_id.as_deref().unwrap_or_default(),
                        r.before.as_deref().unwrap_or_default(),
                        r.after.as_deref().unwrap_or_default(),
                        r.details.as_deref().unwrap_or_default(),
                        hash_hex,
                    ],
                )?;
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
