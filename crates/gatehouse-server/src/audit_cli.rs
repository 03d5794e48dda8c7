//! `gatehouse audit verify|export`: straight on the database, no server needed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use gatehouse_audit::Outcome;
use gatehouse_server::audit::{
    load_verifying_key, read_witness, verify_trail, write_export_header, write_export_rows,
    ExportFormat,
};
use gatehouse_server::config::Config;
use gatehouse_store::{AuditFilter, Page};

const PAGE: u32 = 5_000;

pub async fn verify(config: Config) -> anyhow::Result<ExitCode> {
    let key = load_verifying_key(&config)?;
    let witness = read_witness(&config.effective_audit_witness_file())?;
    let store = gatehouse_server::open_store(&config).await?;
    let report = verify_trail(store.as_ref(), &[key], witness).await?;
    store.close().await;
    println!("records:              {}", report.records);
    println!("last sequence number: {}", report.last_seq);
    println!(
        "checkpoints:          {} ({} matched), key {}",
        report.checkpoints,
        report.checkpoints_matched,
        report.key_ids.join(", ")
    );
    match report.finding {
        None => {
            println!("result:               intact");
            Ok(ExitCode::SUCCESS)
        }
        Some(f) => {
            println!(
                "result:               TAMPERED ({}) at record {}",
                f.kind, f.seq
            );
            println!("detail:               {}", f.detail);
            Ok(ExitCode::from(1))
        }
    }
}

pub struct Filter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub blocked: Option<String>,
    pub q: Option<String>,
}

fn time(name: &str, v: Option<String>) -> anyhow::Result<Option<i64>> {
    v.map(|v| {
        DateTime::parse_from_rfc3339(&v)
            .map(|t| t.with_timezone(&Utc).timestamp_micros())
            .map_err(|_| anyhow!("--{name} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
    })
    .transpose()
}

pub async fn export(
    config: Config,
    format: &str,
    output: Option<PathBuf>,
    f: Filter,
) -> anyhow::Result<()> {
    let format =
        ExportFormat::parse(format).ok_or_else(|| anyhow!("--format must be csv or jsonl"))?;
    if let Some(o) = &f.outcome {
        if Outcome::parse(o).is_none() {
            bail!("--outcome must be success, denied, rejected or failed");
        }
    }
    if let Some(b) = &f.blocked {
        if b != "any" && !gatehouse_types::BLOCK_REASONS.contains(&b.as_str()) {
            bail!(
                "--blocked must be any or one of {}",
                gatehouse_types::BLOCK_REASONS.join(", ")
            );
        }
    }
    let mut filter = AuditFilter {
        from_us: time("from", f.from)?,
        to_us: time("to", f.to)?,
        actor: f.actor,
        action: f.action,
        resource_type: f.resource_type,
        resource_id: f.resource_id,
        outcome: f.outcome,
        source_ip: f.source,
        request_id: f.request_id,
        text: f.q,
        blocked: f.blocked,
        page: Page::Oldest { after: None },
    };
    if let (Some(a), Some(b)) = (filter.from_us, filter.to_us) {
        if a >= b {
            bail!("--from must be earlier than --to");
        }
    }
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let store = gatehouse_server::open_store(&config).await?;
    write_export_header(format, &mut out)?;
    let mut written = 0u64;
    let fetch = |filter: AuditFilter| {
        let store = store.clone();
        tokio::spawn(async move { store.audit().search(&filter, PAGE).await })
    };
    // The next page is read (on the blocking pool) while this one is written.
    let mut next = fetch(filter.clone());
    loop {
        let rows = next.await??;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        let n = rows.len();
        filter.page = Page::Oldest { after: Some(last) };
        next = fetch(filter.clone());
        written += n as u64;
        write_export_rows(format, rows, &mut out)?;
        if n < PAGE as usize {
            break;
        }
    }
    out.flush()?;
    store.close().await;
    if output.is_some() {
        eprintln!("exported {written} records");
    }
    Ok(())
}
