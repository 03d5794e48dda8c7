//! `gatehouse audit verify|export`: straight on the database, no server needed.
//! Arguments are checked here; opening the trail, recording the run (AU-9) and
//! reading it is `gatehouse_server::audit::offline`.

use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use chrono::{DateTime, Utc};
use gatehouse_audit::Outcome;
use gatehouse_server::audit::offline::{self, ExportRequest};
use gatehouse_server::audit::ExportFormat;
use gatehouse_server::clock::SystemClock;
use gatehouse_server::config::Config;
use gatehouse_store::{AuditFilter, Page};
use serde_json::{Map, Value};

pub async fn verify(config: Config) -> anyhow::Result<ExitCode> {
    let report = offline::verify(&config, &SystemClock).await?;
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

impl Filter {
    /// The flags that were given, named as on the command line, for the record.
    fn as_query(&self) -> Map<String, Value> {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("action", &self.action),
            ("resource_type", &self.resource_type),
            ("resource_id", &self.resource_id),
            ("outcome", &self.outcome),
            ("source", &self.source),
            ("request_id", &self.request_id),
            ("blocked", &self.blocked),
            ("q", &self.q),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), Value::String(v))))
        .collect()
    }
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
    let query = f.as_query();
    let filter = AuditFilter {
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
    // Checked again when it is created (never overwritten); checked here so that a
    // run that cannot write its file is refused before it is recorded.
    if let Some(path) = output.as_ref().filter(|p| p.exists()) {
        bail!(
            "cannot create {}: it exists (an export never overwrites a file)",
            path.display()
        );
    }
    let request = ExportRequest {
        format,
        filter,
        query,
        destination: if output.is_some() { "file" } else { "stdout" },
    };
    // Opened only once the export is recorded: a run that cannot be recorded
    // creates no file.
    let open = || -> std::io::Result<Box<dyn std::io::Write>> {
        Ok(match &output {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("cannot create {}: {e}", path.display()),
                        )
                    })?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        })
    };
    let written = offline::export(&config, &SystemClock, request, open).await?;
    if output.is_some() {
        eprintln!("exported {written} records");
    }
    Ok(())
}
