//! Whole-trail operations shared by the HTTP API and the `gatehouse audit`
//! commands: verification and export, both streaming page by page so memory does
//! not grow with the trail.

use std::io::Write;

use gatehouse_audit::csv::write_row;
use gatehouse_audit::{key_id, Checkpoint, StoredEntry, Verifier, VerifyingKey};
use gatehouse_store::{Store, StoreError, StoredRecord};
use gatehouse_types::{VerifyFinding, VerifyResponse};

use super::ExportFormat;
use crate::clock::from_micros;

/// Records read per page while verifying.
const VERIFY_PAGE: u32 = 10_000;

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
    let mut verifier = Verifier::new(checkpoints, keys);
    let mut after = 0;
    let mut canonical = Vec::with_capacity(1024);
    while !verifier.is_broken() {
        let page = audit.read_after(after, VERIFY_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for stored in &page {
            stored.record.canonical_into(&mut canonical);
            verifier.push(StoredEntry {
                seq: stored.seq,
                canonical: &canonical,
                hash: stored.hash,
            });
        }
    }
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
            for s in records {
                let r = &s.record;
                let time =
                    from_micros(r.time_us).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                let status = if r.status == 0 {
                    String::new()
                } else {
                    r.status.to_string()
                };
                let opt = |v: &Option<String>| v.clone().unwrap_or_default();
                write_row(
                    out,
                    &[
                        s.seq.to_string(),
                        time,
                        r.actor_kind.clone(),
                        r.actor_id.clone(),
                        r.actor_name.clone(),
                        opt(&r.on_behalf_of),
                        r.action.clone(),
                        r.resource_type.clone(),
                        r.resource_id.clone(),
                        r.outcome.clone(),
                        status,
                        r.source_ip.clone(),
                        r.user_agent.clone(),
                        r.request_id.clone(),
                        opt(&r.event_id),
                        opt(&r.before),
                        opt(&r.after),
                        opt(&r.details),
                        hex::encode(s.hash),
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
