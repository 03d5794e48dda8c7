//! `gatehouse audit verify|export`: straight on the database, no server needed.
//! Arguments are checked here; opening the trail, recording the run (AU-9) and
//! reading it is `gatehouse_server::audit::offline`.

use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use gatehouse_server::audit::offline::{self, ExportRequest};
use gatehouse_server::audit::{store_filter, ExportFormat};
use gatehouse_server::clock::SystemClock;
use gatehouse_server::config::Config;
use gatehouse_store::Page;
use gatehouse_types::AuditQuery;
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

/// The filter flags of `gatehouse audit export`: the audit query's filters, one
/// flag each, under the same names.
#[derive(clap::Args)]
pub struct FilterArgs {
    /// Only records at or after this RFC 3339 time.
    #[arg(long)]
    from: Option<String>,
    /// Only records before this RFC 3339 time.
    #[arg(long)]
    to: Option<String>,
    /// The actor's id.
    #[arg(long)]
    actor: Option<String>,
    #[arg(long)]
    action: Option<String>,
    #[arg(long)]
    resource_type: Option<String>,
    #[arg(long)]
    resource_id: Option<String>,
    /// success, denied, rejected or failed.
    #[arg(long)]
    outcome: Option<String>,
    #[arg(long)]
    source: Option<String>,
    #[arg(long)]
    request_id: Option<String>,
    /// Only requests the server blocked: any, or one reason (authentication,
    /// authorization, rate_limit, bad_input, unknown_route).
    #[arg(long)]
    blocked: Option<String>,
    /// Free text, case-insensitive.
    #[arg(long)]
    q: Option<String>,
}

impl From<FilterArgs> for AuditQuery {
    fn from(f: FilterArgs) -> Self {
        Self {
            from: f.from,
            to: f.to,
            actor: f.actor,
            action: f.action,
            resource_type: f.resource_type,
            resource_id: f.resource_id,
            outcome: f.outcome,
            source: f.source,
            request_id: f.request_id,
            q: f.q,
            blocked: f.blocked,
            limit: None,
            cursor: None,
        }
    }
}

pub async fn export(
    config: Config,
    format: &str,
    output: Option<PathBuf>,
    query: AuditQuery,
) -> anyhow::Result<()> {
    let format =
        ExportFormat::parse(format).ok_or_else(|| anyhow!("--format must be csv or jsonl"))?;
    // The messages start with the parameter's name: here, its flag.
    let checked =
        query
            .validate_export()
            .map_err(|e| match e.message.strip_prefix(e.field.as_str()) {
                Some(rest) => anyhow!("--{}{rest}", e.field.replace('_', "-")),
                None => anyhow!("{}", e.message),
            })?;
    let filter = store_filter(checked, Page::Oldest { after: None });
    // The flags that were given, named as on the command line, for the record.
    let query: Map<String, Value> = query
        .to_pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v)))
        .collect();
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
