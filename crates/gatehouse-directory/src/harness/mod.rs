//! A real OpenLDAP for tests: `slapd` from Debian (packages `slapd` and `ldap-utils`)
//! with a throwaway `slapd.conf` in a temporary directory, on free ports of 127.0.0.1.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use gatehouse_directory::harness::{password_for, Slapd};
//! use gatehouse_directory::Directory;
//!
//! let slapd = Slapd::start().await?; // the standard users; or Slapd::start_with(users)
//! let directory = Directory::new(slapd.config())?; // ldaps://127.0.0.1:PORT/
//! let alice = directory.authenticate("alice", &password_for("alice")).await?;
//! assert_eq!(alice.user_type, "clinician");
//! # Ok(())
//! # }
//! ```
//!
//! The configuration: the mdb backend under `dc=example,dc=test`; TLS with a
//! certificate for `localhost` and `127.0.0.1` signed by a CA made here (`ca_pem_path`);
//! the `dynlist` overlay computing `memberOf` from `groupOfNames` (so `group_attribute`
//! is `memberOf`, as in Active Directory, and entries loaded by `slapadd` have it);
//! the `ppolicy` overlay with `ppolicy_use_lockout`, so locked, reset and expired
//! accounts answer as such; only the service account may search. Entries are loaded
//! with `slapadd` before slapd starts; passwords are `{SSHA}` hashes from `slappasswd`.
//! slapd is killed when the `Slapd` is dropped.

mod seed;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

pub use seed::{
    group_dn, password_for, standard_users, user_dn, AccountState, SeedUser, GROUPS_BASE,
    PEOPLE_BASE, SERVICE_DN, SERVICE_PASSWORD, SUFFIX,
};

use crate::{DirectoryConfig, GroupRule};

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SLAPPASSWD: &str = "/usr/sbin/slappasswd";
/// How long slapd may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(15);
/// Another process may take a port between choosing it and slapd binding it.
const START_ATTEMPTS: usize = 3;

/// A running slapd; killed on drop.
#[derive(Debug)]
pub struct Slapd {
    process: Process,
    ldaps_port: u16,
    ldap_port: u16,
    ca_pem: PathBuf,
    users: Vec<SeedUser>,
    // Last, so that it is removed after slapd is gone.
    dir: tempfile::TempDir,
}

impl Slapd {
    /// Starts slapd with `standard_users()`.
    pub async fn start() -> Result<Self> {
        Self::start_with(standard_users()).await
    }

    /// Starts slapd with exactly these users (their groups are created as needed).
    pub async fn start_with(users: Vec<SeedUser>) -> Result<Self> {
        for tool in [SLAPD, SLAPADD, SLAPPASSWD] {
            if !Path::new(tool).exists() {
                bail!("{tool} is missing: install the Debian packages slapd and ldap-utils (make deps)");
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-slapd-")
            .tempdir()?;
        let ca_pem = write_certificates(dir.path())?;
        let ldif = seed_ldif(dir.path(), &users).await?;
        std::fs::write(dir.path().join("seed.ldif"), ldif)?;
        let conf = dir.path().join("slapd.conf");
        std::fs::write(&conf, slapd_conf(dir.path()))?;
        std::fs::create_dir(dir.path().join("db"))?;
        run(tokio::process::Command::new(SLAPADD)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(dir.path().join("seed.ldif")))
        .await
        .context("slapadd")?;

        let mut last_error = anyhow!("slapd did not start");
        for _ in 0..START_ATTEMPTS {
            let [ldaps_port, ldap_port] = free_ports()?;
            let mut process = Process(spawn_slapd(dir.path(), &conf, ldaps_port, ldap_port)?);
            match wait_until_ready(&mut process.0, dir.path(), [ldaps_port, ldap_port]).await {
                Ok(()) => {
                    return Ok(Self {
                        process,
                        ldaps_port,
                        ldap_port,
                        ca_pem,
                        users,
                        dir,
                    })
                }
                // Most likely a port taken in the meantime: try others.
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// `ldaps://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("ldaps://127.0.0.1:{}/", self.ldaps_port)
    }

    /// `ldap://127.0.0.1:PORT/`, for StartTLS.
    pub fn starttls_url(&self) -> String {
        format!("ldap://127.0.0.1:{}/", self.ldap_port)
    }

    pub fn ldaps_port(&self) -> u16 {
        self.ldaps_port
    }

    /// The plain port, which the configurations only use with StartTLS.
    pub fn ldap_port(&self) -> u16 {
        self.ldap_port
    }

    /// The CA that signed slapd's certificate, PEM.
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem
    }

    /// slapd's process id.
    pub fn pid(&self) -> u32 {
        self.process.0.id()
    }

    /// The users it was seeded with.
    pub fn users(&self) -> &[SeedUser] {
        &self.users
    }

    /// A configuration for this directory over ldaps://: the service account, people
    /// by `uid`, `mail`/`mobile`/`displayName`, `memberOf`, and these rules:
    /// clinicians → `clinician` + `records:read`; operators → `operator` +
    /// `console:use`; researchers → `research:read` (no type). No default type.
    pub fn config(&self) -> DirectoryConfig {
        DirectoryConfig {
            url: self.url(),
            starttls: false,
            ca_file: self.ca_pem.clone(),
            bind_dn: SERVICE_DN.to_owned(),
            bind_password: SERVICE_PASSWORD.to_owned(),
            search_base: PEOPLE_BASE.to_owned(),
            login_attribute: "uid".to_owned(),
            user_filter: "(objectClass=inetOrgPerson)".to_owned(),
            email_attribute: "mail".to_owned(),
            phone_attribute: "mobile".to_owned(),
            display_name_attribute: "displayName".to_owned(),
            group_attribute: "memberOf".to_owned(),
            group_mapping: vec![
                rule("clinicians", Some("clinician"), &["records:read"]),
                rule("operators", Some("operator"), &["console:use"]),
                rule("researchers", None, &["research:read"]),
            ],
            default_user_type: None,
            timeout_ms: 5_000,
        }
    }

    /// `config()` over ldap:// with StartTLS.
    pub fn starttls_config(&self) -> DirectoryConfig {
        DirectoryConfig {
            url: self.starttls_url(),
            starttls: true,
            ..self.config()
        }
    }

    /// slapd's output so far: its errors only.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

/// slapd as our child: killed and reaped when dropped (a failing test drops it too).
#[derive(Debug)]
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until_ready(child: &mut Child, dir: &Path, ports: [u16; 2]) -> Result<()> {
    let started = Instant::now();
    let addrs = ports.map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "slapd exited ({status}) before accepting connections:\n{}",
                read_log(dir)
            );
        }
        let mut ready = true;
        for addr in addrs {
            ready &= tokio::net::TcpStream::connect(addr).await.is_ok();
        }
        if ready {
            return Ok(());
        }
        if started.elapsed() > READY_WITHIN {
            bail!(
                "slapd did not accept connections within {READY_WITHIN:?}:\n{}",
                read_log(dir)
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("slapd.log")).unwrap_or_default()
}

fn rule(cn: &str, user_type: Option<&str>, entitlements: &[&str]) -> GroupRule {
    GroupRule {
        group: group_dn(cn),
        user_type: user_type.map(str::to_owned),
        entitlements: entitlements.iter().map(|e| (*e).to_owned()).collect(),
    }
}

/// Two ports free a moment ago (both held at once, so they differ).
fn free_ports() -> Result<[u16; 2]> {
    let first = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let second = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok([first.local_addr()?.port(), second.local_addr()?.port()])
}

fn spawn_slapd(dir: &Path, conf: &Path, ldaps_port: u16, ldap_port: u16) -> Result<Child> {
    let log = std::fs::File::create(dir.join("slapd.log"))?;
    let urls = format!("ldaps://127.0.0.1:{ldaps_port}/ ldap://127.0.0.1:{ldap_port}/");
    // `-d none`: stay in the foreground (so it stays our child, killed on drop) and
    // print errors only (`-d 0` would hide even those).
    Command::new(SLAPD)
        .arg("-d")
        .arg("none")
        .arg("-h")
        .arg(urls)
        .arg("-f")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting slapd")
}

async fn run(command: &mut tokio::process::Command) -> Result<String> {
    let output = command.stdin(Stdio::null()).output().await?;
    if !output.status.success() {
        bail!(
            "{:?} failed ({}): {}{}",
            command.as_std().get_program(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `slappasswd -T file`: the password is read from a file, never from the command line.
async fn ssha(dir: &Path, password: &str) -> Result<String> {
    let file = dir.join("password");
    std::fs::write(&file, password)?;
    let hash = run(tokio::process::Command::new(SLAPPASSWD)
        .arg("-n")
        .arg("-T")
        .arg(&file))
    .await;
    std::fs::remove_file(&file)?;
    let hash = hash?;
    if !hash.starts_with("{SSHA}") {
        bail!("slappasswd printed {hash:?}, not an {{SSHA}} hash");
    }
    Ok(hash)
}

async fn seed_ldif(dir: &Path, users: &[SeedUser]) -> Result<String> {
    let service = ssha(dir, SERVICE_PASSWORD).await?;
    let mut hashes = BTreeMap::new();
    for user in users {
        hashes.insert(user.uid.clone(), ssha(dir, &user.password).await?);
    }
    seed::ldif(users, &service, &hashes)
}

/// A CA, and a certificate it signs for `localhost` and `127.0.0.1`; returns the CA's path.
fn write_certificates(dir: &Path) -> Result<PathBuf> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Gatehouse test directory CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca_cert, &ca_key)?;

    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem())?;
    std::fs::write(dir.join("server.pem"), server_cert.pem())?;
    std::fs::write(dir.join("server.key"), server_key.serialize_pem())?;
    Ok(ca_path)
}

fn slapd_conf(dir: &Path) -> String {
    let d = dir.display();
    let mut conf = String::new();
    for schema in ["core", "cosine", "inetorgperson", "nis", "dyngroup"] {
        let _ = writeln!(conf, "include /etc/ldap/schema/{schema}.schema");
    }
    let _ = write!(
        conf,
        r#"modulepath /usr/lib/ldap
moduleload back_mdb
moduleload dynlist
moduleload ppolicy
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
# Lenient like many directories: a DN with an empty password binds (unauthenticated),
# which is why the client refuses empty passwords itself.
allow bind_anon_dn

database mdb
suffix "{SUFFIX}"
rootdn "cn=admin,{SUFFIX}"
directory {d}/db
maxsize 16777216
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="{SERVICE_DN}" read by self read by * none
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames
overlay ppolicy
ppolicy_default "cn=default,ou=policies,{SUFFIX}"
ppolicy_use_lockout
"#
    );
    conf
}
