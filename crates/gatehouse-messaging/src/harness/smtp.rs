//! A real SMTP server for tests: `/usr/bin/python3 -m aiosmtpd` (Debian's
//! `python3-aiosmtpd`; the system interpreter, since the one on PATH may be
//! another without Debian's packages) on a free port of 127.0.0.1.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::write_certificates;
use crate::{SmtpConfig, SmtpTls};
use anyhow::{anyhow, bail, Context, Result};

const PYTHON: &str = "/usr/bin/python3";
/// How long aiosmtpd may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(15);
/// Another process may take the port between our choosing it and aiosmtpd binding it.
const START_ATTEMPTS: usize = 3;
/// The handlers that refuse, loaded with `-c gatehouse_refusals.<Class>`.
const REFUSALS_PY: &str = r#"
class RefuseRecipient:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.1.1 mailbox unavailable"


class RefuseData:
    async def handle_DATA(self, server, session, envelope):
        return "554 5.6.0 message refused"


class TryLater:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "451 4.3.0 try again later"
"#;

/// How the server protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerTls {
    /// Clear text (the sender's `none_for_localhost_only`).
    None,
    /// STARTTLS offered and required before `MAIL` (aiosmtpd `--tlscert`).
    StartTls,
    /// TLS from the first byte (aiosmtpd `--smtpscert`).
    Implicit,
}

/// How a refusing server refuses (it delivers nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `550 5.1.1 mailbox unavailable` at `RCPT TO`: permanent.
    Recipient,
    /// `554 5.6.0 message refused` after `DATA`: permanent.
    Data,
    /// `451 4.3.0 try again later` at `RCPT TO`: transient.
    TryLater,
}

impl Refusal {
    fn class(self) -> &'static str {
        match self {
            Refusal::Recipient => "gatehouse_refusals.RefuseRecipient",
            Refusal::Data => "gatehouse_refusals.RefuseData",
            Refusal::TryLater => "gatehouse_refusals.TryLater",
        }
    }
}

/// A running aiosmtpd; killed on drop.
#[derive(Debug)]
pub struct SmtpServer {
    process: Process,
    port: u16,
    tls: ServerTls,
    ca_pem: Option<PathBuf>,
    // Last, so that it is removed after aiosmtpd is gone.
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Clear text, delivering every message to the Maildir.
    pub async fn start() -> Result<Self> {
        Self::start_with(ServerTls::None, None).await
    }

    /// Clear text, refusing every message as `refusal` says.
    pub async fn start_refusing(refusal: Refusal) -> Result<Self> {
        Self::start_with(ServerTls::None, Some(refusal)).await
    }

    /// With `tls`, delivering every message to the Maildir.
    pub async fn start_tls(tls: ServerTls) -> Result<Self> {
        Self::start_with(tls, None).await
    }

    pub async fn start_with(tls: ServerTls, refusal: Option<Refusal>) -> Result<Self> {
        if !Path::new(PYTHON).exists() {
            bail!("{PYTHON} is missing: install the Debian package python3-aiosmtpd (make deps)");
        }
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-smtp-")
            .tempdir()?;
        std::fs::write(dir.path().join("gatehouse_refusals.py"), REFUSALS_PY)?;
        let ca_pem = match tls {
            ServerTls::None => None,
            ServerTls::StartTls | ServerTls::Implicit => Some(write_certificates(dir.path())?),
        };
        let mut last_error = anyhow!("aiosmtpd did not start");
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let mut process = Process(spawn(dir.path(), port, tls, refusal)?);
            match wait_until_ready(&mut process.0, dir.path(), port).await {
                Ok(()) => {
                    return Ok(Self {
                        process,
                        port,
                        tls,
                        ca_pem,
                        dir,
                    })
                }
                // Most likely the port was taken in the meantime: try another.
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// The CA that signed the server's certificate (PEM), when it speaks TLS.
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.ca_pem.as_deref()
    }

    /// A sender's configuration for this server: `127.0.0.1`, its TLS mode and
    /// CA, from `Gatehouse <no-reply@example.test>`, a 5 s timeout.
    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            tls: match self.tls {
                ServerTls::None => SmtpTls::NoneForLocalhostOnly,
                ServerTls::StartTls => SmtpTls::Starttls,
                ServerTls::Implicit => SmtpTls::Implicit,
            },
            ca_file: self.ca_pem.clone(),
            username: None,
            password: None,
            from: "Gatehouse <no-reply@example.test>".to_owned(),
            hello_name: None,
            timeout_ms: 5_000,
        }
    }

    /// The delivered messages (Maildir `new/` then `cur/`), oldest first, as
    /// written: headers, a blank line, the body as encoded on the wire.
    pub fn maildir_messages(&self) -> Vec<String> {
        let mut messages = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("maildir").join(sub)) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            // Maildir names start with the delivery time.
            files.sort();
            for file in files {
                if let Ok(text) = std::fs::read_to_string(&file) {
                    messages.push(text);
                }
            }
        }
        messages
    }

    /// aiosmtpd's output so far.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

/// aiosmtpd as our child: killed and reaped when dropped (a failing test drops it too).
#[derive(Debug)]
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &Path, port: u16, tls: ServerTls, refusal: Option<Refusal>) -> Result<Child> {
    let log = std::fs::File::create(dir.join("aiosmtpd.log"))?;
    let mut command = Command::new(PYTHON);
    // `-n`: do not switch to `nobody` (as root it would, and lose the Maildir).
    command
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"));
    match tls {
        ServerTls::None => {}
        ServerTls::StartTls => {
            command
                .arg("--tlscert")
                .arg(dir.join("server.pem"))
                .arg("--tlskey")
                .arg(dir.join("server.key"));
        }
        ServerTls::Implicit => {
            command
                .arg("--smtpscert")
                .arg(dir.join("server.pem"))
                .arg("--smtpskey")
                .arg(dir.join("server.key"));
        }
    }
    match refusal {
        Some(refusal) => {
            command.arg("-c").arg(refusal.class());
        }
        None => {
            command
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.join("maildir"));
        }
    }
    command
        .current_dir(dir)
        .env("PYTHONPATH", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONHOME")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting /usr/bin/python3 -m aiosmtpd")
}

async fn wait_until_ready(child: &mut Child, dir: &Path, port: u16) -> Result<()> {
    let started = Instant::now();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "aiosmtpd exited ({status}) before accepting connections:\n{}",
                read_log(dir)
            );
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        if started.elapsed() > READY_WITHIN {
            bail!(
                "aiosmtpd did not accept connections within {READY_WITHIN:?}:\n{}",
                read_log(dir)
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("aiosmtpd.log")).unwrap_or_default()
}

/// A port free a moment ago.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
