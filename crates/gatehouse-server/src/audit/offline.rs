//! The offline commands, `gatehouse audit verify` and `gatehouse audit export`,
//! straight on the database with no server (AU-9: reading the trail is audited
//! offline too).
//!
//! The database is opened as it is ([`gatehouse_store::open_existing`]: never
//! created or migrated, refused unless its schema is this build's). Every run
//! appends its own record (actor kind `operator`) through the chain lock, like
//! every other appender, before it shows anything: when that record cannot be
//! written the command fails, and nothing is printed and no file is created.

use std::io::Write;
use std::sync::Arc;

use gatehouse_audit::redact::redact_json;
use gatehouse_audit::{Outcome, Record, Sealer};
use gatehouse_store::{AuditFilter, Page, Store, StoreError};
use gatehouse_types::VerifyResponse;
use serde_json::{json, Map, Value};

use super::{
    keys::load_sealer, read_witness, verify_trail, write_export_header, write_export_rows,
    ExportFormat,
};
use crate::clock::{to_micros, Clock};
use crate::config::Config;
use crate::error::ServerError;

/// Records per page of an offline export.
const PAGE: u32 = 5_000;

/// The trail opened for one offline command.
struct Offline {
    store: Arc<dyn Store>,
    sealer: Sealer,
    actor: String,
}

impl Offline {
    async fn open(config: &Config) -> Result<Self, ServerError> {
        let store = gatehouse_store::open_existing(&config.effective_database_url()).await?;
        let sealer = match load_sealer(config) {
            Ok(s) => s,
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        };
        Ok(Self {
            store,
            sealer,
            actor: os_user().unwrap_or_else(|| "gatehouse audit".into()),
        })
    }

    /// Appends the record of this run and waits for its commit.
    async fn record(
        &self,
        clock: &dyn Clock,
        action: &str,
        outcome: Outcome,
        mut details: Value,
    ) -> Result<(), ServerError> {
        redact_json(&mut details);
        let record = Record {
            time_us: to_micros(clock.now()),
            actor_kind: "operator".into(),
            actor_id: self.actor.clone(),
            actor_name: "local operator".into(),
            action: action.into(),
            resource_type: "audit".into(),
            outcome: outcome.as_str().into(),
            source_ip: "local".into(),
            request_id: format!("cli-{}", uuid::Uuid::now_v7()),
            details: Some(details.to_string()),
            ..Record::default()
        };
        self.store
            .audit()
            .append(&[record], &[], &self.sealer)
            .await
            .map_err(ServerError::NotRecorded)?;
        Ok(())
    }
}

/// The OS user running the command (its uid, named from `/etc/passwd` when
/// listed there), or `None` where `/proc` does not say.
fn os_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let named = std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
        p.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?;
            (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
    });
    Some(named.unwrap_or_else(|| format!("uid {uid}")))
}

/// `gatehouse audit verify`: recomputes the chain and checks every checkpoint
/// (the witness included), then records the run with its result. The report is
/// returned only once that record is committed.
pub async fn verify(config: &Config, clock: &dyn Clock) -> Result<VerifyResponse, ServerError> {
    let witness = read_witness(&config.effective_audit_witness_file())?;
    let trail = Offline::open(config).await?;
    let key = trail.sealer.signer.verifying_key();
    let report = verify_trail(trail.store.as_ref(), &[key], witness).await;
    let (outcome, result) = match &report {
        Ok(r) => (
            Outcome::Success,
            json!({
                "is_intact": r.is_intact,
                "records": r.records,
                "last_seq": r.last_seq,
                "finding": r.finding.as_ref().map(|f| json!({"kind": f.kind, "seq": f.seq})),
            }),
        ),
        Err(_) => (
            Outcome::Failed,
            json!({"error": "the trail could not be read"}),
        ),
    };
    let details = json!({"command": "gatehouse audit verify", "result": result});
    let recorded = trail.record(clock, "audit.verify", outcome, details).await;
    trail.store.close().await;
    recorded?;
    Ok(report?)
}

/// What `gatehouse audit export` was asked for.
pub struct ExportRequest {
    pub format: ExportFormat,
    /// Its page is ignored: the export is the whole filtered view, oldest first.
    pub filter: AuditFilter,
    /// The filters as given, for the record (redacted like any query).
    pub query: Map<String, Value>,
    /// Where it goes (`stdout` or `file`), for the record.
    pub destination: &'static str,
}

/// `gatehouse audit export`: records the export, then writes the records the
/// filter matches, oldest first, to the writer `open` makes. `open` is called
/// only once the record is committed, so a run that cannot be recorded writes
/// nothing and creates no file. Returns how many records were written.
pub async fn export<W: Write>(
    config: &Config,
    clock: &dyn Clock,
    request: ExportRequest,
    open: impl FnOnce() -> std::io::Result<W>,
) -> Result<u64, ServerError> {
    let trail = Offline::open(config).await?;
    let details = json!({
        "command": "gatehouse audit export",
        "format": request.format.extension(),
        "query": request.query,
        "output": request.destination,
    });
    if let Err(e) = trail
        .record(clock, "audit.export", Outcome::Success, details)
        .await
    {
        trail.store.close().await;
        return Err(e);
    }
    let written = write_all(trail.store.clone(), request, open).await;
    trail.store.close().await;
    written
}

async fn write_all<W: Write>(
    store: Arc<dyn Store>,
    request: ExportRequest,
    open: impl FnOnce() -> std::io::Result<W>,
) -> Result<u64, ServerError> {
    let mut out = open().map_err(ServerError::Output)?;
    let format = request.format;
    write_export_header(format, &mut out).map_err(ServerError::Output)?;
    let mut filter = AuditFilter {
        page: Page::Oldest { after: None },
        ..request.filter
    };
    let fetch = |filter: AuditFilter| {
        let store = store.clone();
        tokio::spawn(async move { store.audit().search(&filter, PAGE).await })
    };
    // The next page is read (on the blocking pool) while this one is written.
    let mut next = fetch(filter.clone());
    let mut written = 0u64;
    loop {
        let rows = next.await.map_err(|_| StoreError::ReadTask)??;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        let n = rows.len();
        filter.page = Page::Oldest { after: Some(last) };
        next = fetch(filter.clone());
        written += n as u64;
        write_export_rows(format, rows, &mut out).map_err(ServerError::Output)?;
        if n < PAGE as usize {
            break;
        }
    }
    out.flush().map_err(ServerError::Output)?;
    Ok(written)
}
