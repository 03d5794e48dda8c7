//! `gatehouse`: serve the API (and the gateway), initialise a data directory,
//! and the offline commands. jemalloc is the process's malloc: libmodsecurity
//! allocates on every rule it runs, and glibc's allocator was half the WAF's time.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use gatehouse_server::clock::SystemClock;
use gatehouse_server::config::Config;

mod audit_cli;
mod keys_cli;
mod users_cli;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Gatehouse security control plane"
)]
struct Cli {
    /// TOML config file (see config.example.toml); GATEHOUSE_* variables override it.
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the HTTPS API (and the gateway, when `[gateway]` is configured).
    Serve,
    /// Serve the gateway (GW-1 … GW-10) in front of the services of
    /// `[gateway]`, with the API that manages it; refuses to start without a
    /// `[gateway]` section.
    Gateway,
    /// Work on the audit trail directly in the database (offline).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The token signing keys (offline): list them, or rotate now.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Seed user types, registration flows and a few dozen users of each type
    /// (offline, recorded), so the console shows a living system.
    Demo,
    /// Users (offline): create, list, lock, unlock. Changes are recorded.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Create the data directory, run migrations, and mint the first administrator token.
    Init {
        /// Write the token to this file (created, owner-only) instead of printing it.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Mint another administrator token even though an active one exists.
        #[arg(long)]
        new_admin_token: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Every key: id, algorithm, state, when it was made and until when it verifies.
    List,
    /// The next key signs from now on; the current one verifies until its
    /// tokens expire. Running servers follow within a second. Recorded.
    Rotate,
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create an active user of a type; values are checked against the type.
    Create {
        #[arg(long = "type")]
        user_type: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// E.164, e.g. +447700900123.
        #[arg(long)]
        phone: Option<String>,
        /// name=value, repeated; JSON values (numbers, booleans, lists) as such.
        #[arg(long = "attribute")]
        attributes: Vec<String>,
        #[arg(long = "entitlement")]
        entitlements: Vec<String>,
    },
    /// List users, oldest first.
    List {
        #[arg(long = "type")]
        user_type: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// A prefix of the email, phone number or name.
        #[arg(long)]
        q: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Lock a user until unlocked.
    Lock { id: String },
    /// End a user's lock (an administrator's or an automatic lockout).
    Unlock { id: String },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and check every signed checkpoint. Exits 0 when
    /// the trail is intact, 1 when tampering was found (and names where).
    Verify,
    /// Write the audit trail, or a filtered part of it, oldest first.
    Export {
        /// csv (spreadsheet-safe, RFC 4180) or jsonl.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write here (created, owner-only; never overwritten) instead of stdout.
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        filter: audit_cli::FilterArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn users_request(command: UsersCommand) -> users_cli::Request {
    match command {
        UsersCommand::Create {
            user_type,
            name,
            email,
            phone,
            attributes,
            entitlements,
        } => users_cli::Request::Create {
            user_type,
            display_name: name,
            email,
            phone,
            attributes,
            entitlements,
        },
        UsersCommand::List {
            user_type,
            status,
            q,
            limit,
        } => users_cli::Request::List {
            user_type,
            status,
            q,
            limit,
        },
        UsersCommand::Lock { id } => users_cli::Request::Lock(id),
        UsersCommand::Unlock { id } => users_cli::Request::Unlock(id),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("gatehouse: error: {message}");
    ExitCode::from(2)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref(), std::env::vars())?;
    match cli.command {
        Command::Serve => serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Gateway if config.gateway.is_none() => {
            eprintln!(
                "gateway: the configuration has no [gateway] section (its listen address and routes)"
            );
            Ok(ExitCode::from(2))
        }
        Command::Gateway => serve(config).await.map(|()| ExitCode::SUCCESS),
        Command::Init {
            token_file,
            new_admin_token,
        } => init(config, token_file, new_admin_token)
            .await
            .map(|()| ExitCode::SUCCESS),
        Command::Keys(KeysCommand::List) => keys_cli::run(config, false).await,
        Command::Keys(KeysCommand::Rotate) => keys_cli::run(config, true).await,
        Command::Demo => users_cli::demo(config).await,
        Command::Users(command) => users_cli::run(config, users_request(command)).await,
        Command::Audit(AuditCommand::Verify) => audit_cli::verify(config).await,
        Command::Audit(AuditCommand::Export {
            format,
            output,
            filter,
        }) => audit_cli::export(config, &format, output, filter.into())
            .await
            .map(|()| ExitCode::SUCCESS),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let prepared = gatehouse_server::prepare(config).await?;
    let clock = Arc::new(SystemClock);
    if !gatehouse_server::has_active_administrator(&prepared, clock.as_ref()).await? {
        tracing::warn!("no active administrator token: run `gatehouse init` to mint one");
    }
    let server = gatehouse_server::start(prepared, clock).await?;
    tracing::info!(
        listen = %server.local_addr,
        fingerprint = %server.fingerprint,
        "serving https://{} (TLS 1.3 only); certificate SHA-256 {}",
        server.local_addr,
        server.fingerprint
    );
    if let Some(gateway) = server.gateway_addr {
        tracing::info!(%gateway, "gateway on https://{gateway} (TLS 1.3 only)");
    }
    server.run_until(shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn init(config: Config, token_file: Option<PathBuf>, is_forced: bool) -> anyhow::Result<()> {
    let listen = config.listen;
    let data_dir = config.data_dir.clone();
    let prepared = gatehouse_server::prepare(config).await?;
    // Create the token file before minting, so a file that cannot be created (or
    // already exists: never overwritten) leaves no token minted and unseen.
    let file = match &token_file {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot create token file {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let report = match gatehouse_server::init(&prepared, &SystemClock, is_forced).await {
        Ok(report) => report,
        Err(e) => {
            if let Some(path) = &token_file {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    println!("data directory:       {}", data_dir.display());
    println!("listens on:           https://{listen}");
    println!("certificate SHA-256:  {}", report.fingerprint);
    match (file, token_file) {
        (Some(mut file), Some(path)) => {
            writeln!(file, "{}", report.admin_token)?;
            file.sync_all()?;
            println!(
                "administrator token:  written to {} (owner-only)",
                path.display()
            );
        }
        _ => {
            println!("administrator token:  {}", report.admin_token);
            println!("(shown once: only its hash is stored; keep it somewhere safe)");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
