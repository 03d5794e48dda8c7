//! One serde struct with defaults, read from a TOML file and overridable by
//! `GATEHOUSE_*` environment variables. An unknown key or a bad value is an error
//! that names the key (and where it came from) and the reason.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod listener;
pub use listener::ListenerConfig;
mod capacity;
pub use capacity::{CapacityConfig, RouteConcurrency, StreamConfig};
mod identity;
mod tokens;
pub use identity::IdentityConfig;
pub use tokens::{TokensConfig, KEK_VAR};

/// Environment variables with the `GATEHOUSE_` prefix that are not config keys.
const NON_CONFIG_VARS: &[&str] = &["GATEHOUSE_CONFIG", "GATEHOUSE_LOG", KEK_VAR];
/// Prefixes (after `GATEHOUSE_`) of variables that belong to the tests and the console.
const NON_CONFIG_PREFIXES: &[&str] = &["TEST_", "CONSOLE_"];
/// The most connections `max_connections` may allow (the semaphore's limit is far higher).
const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address of the one HTTPS listener. There is no plain-HTTP listener.
    pub listen: SocketAddr,
    /// Where the database (SQLite), the TLS certificate and keys live.
    pub data_dir: PathBuf,
    /// `postgres://…` to run on PostgreSQL; SQLite in `data_dir` when absent.
    pub database_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Default lifetime of a minted API token, in seconds.
    pub api_token_default_ttl_seconds: u64,
    /// Seconds a client has to finish the TLS handshake.
    pub tls_handshake_timeout_seconds: u64,
    /// Connections served at once; further connections wait in the kernel's backlog.
    pub max_connections: usize,
    /// The listener's other deadlines, rates and caps (`config/listener.rs`).
    pub listener: ListenerConfig,
    pub tls: TlsConfig,
    pub audit: AuditConfig,
    pub anonymous: AnonymousConfig,
    pub capacity: CapacityConfig,
    pub tokens: TokensConfig,
    pub identity: IdentityConfig,
    /// How codes and notices are sent (SMTP, an SMS webhook, the outbox).
    pub messaging: gatehouse_messaging::SendersConfig,
    /// A directory people sign in with (LDAP / Active Directory); none when
    /// absent.
    pub directory: Option<gatehouse_directory::DirectoryConfig>,
    /// The gateway in front of the services (GW-1 … GW-10): its own HTTPS
    /// listener, routes and WAF; none when absent.
    pub gateway: Option<gatehouse_gateway::GatewayConfig>,
}

/// Requests with no valid credential, per source (an IPv4 address or an IPv6
/// /64): past the limit they are answered 429 and only the first refusal of a
/// window is recorded (OP-4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnonymousConfig {
    /// Requests per source per window; 0 turns the limit off.
    pub requests_per_window: u32,
    pub window_seconds: u64,
    /// Sources tracked at once; beyond it, new sources share one window.
    pub max_sources: usize,
}

impl Default for AnonymousConfig {
    fn default() -> Self {
        Self {
            requests_per_window: 120,
            window_seconds: 60,
            max_sources: 65_536,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The Ed25519 key that signs audit checkpoints, kept apart from the database.
    /// Created (owner-only) in `data_dir` on first start when absent. Replicas
    /// sharing one PostgreSQL database must share this file.
    pub key_file: Option<PathBuf>,
    /// Sign a checkpoint after this many records...
    pub checkpoint_every_records: u64,
    /// ...or this many seconds, whichever comes first.
    pub checkpoint_every_seconds: u64,
    pub stream: StreamConfig,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            checkpoint_every_records: 10_000,
            checkpoint_every_seconds: 10,
            stream: StreamConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain. With neither this nor `key_path`, a self-signed
    /// certificate is generated in `data_dir` on first start and kept.
    pub cert_path: Option<PathBuf>,
    /// PEM private key for `cert_path`.
    pub key_path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            data_dir: default_data_dir(),
            database_url: None,
            max_body_bytes: 1024 * 1024,
            api_token_default_ttl_seconds: 90 * 24 * 3600,
            tls_handshake_timeout_seconds: 10,
            max_connections: 1024,
            listener: ListenerConfig::default(),
            tls: TlsConfig::default(),
            audit: AuditConfig::default(),
            anonymous: AnonymousConfig::default(),
            capacity: CapacityConfig::default(),
            tokens: TokensConfig::default(),
            identity: IdentityConfig::default(),
            messaging: gatehouse_messaging::SendersConfig::default(),
            directory: None,
            gateway: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    // An empty or relative XDG_DATA_HOME is to be ignored (XDG base directory spec).
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(xdg) = absolute("XDG_DATA_HOME") {
        return xdg.join("gatehouse");
    }
    match absolute("HOME") {
        Some(home) => home.join(".local/share/gatehouse"),
        None => PathBuf::from("gatehouse-data"),
    }
}

/// Why the configuration could not be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax { path: PathBuf, reason: String },
    #[error("config key `{key}` (from {source_name}): {reason}")]
    Key {
        key: String,
        source_name: String,
        reason: String,
    },
    #[error("config key `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

impl Config {
    /// Loads the file (if any), then applies `GATEHOUSE_*` overrides from `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                    path: path.to_owned(),
                    reason: e.to_string(),
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Syntax {
                        path: path.to_owned(),
                        reason: e.message().to_owned(),
                    })?
            }
            None => toml::Table::new(),
        };
        let file_name = file.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("GATEHOUSE_") else {
                continue;
            };
            if NON_CONFIG_VARS.contains(&name.as_str())
                || NON_CONFIG_PREFIXES.iter().any(|p| rest.starts_with(p))
            {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            set_path(&mut table, &path, env_value(&value));
            sources.insert(path.join("."), format!("environment variable {name}"));
        }
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                // The deserializer appends "in `table`" on a second line; the key says it.
                let reason = e
                    .inner()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let source_name = sources
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| file_name.clone());
                ConfigError::Key {
                    key,
                    source_name,
                    reason,
                }
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "max_body_bytes",
                reason: "must be at least 1024".into(),
            });
        }
        if !(60..=gatehouse_types::MAX_TOKEN_TTL_SECONDS)
            .contains(&self.api_token_default_ttl_seconds)
        {
            return Err(ConfigError::Invalid {
                key: "api_token_default_ttl_seconds",
                reason: format!(
                    "must be between 60 and {}",
                    gatehouse_types::MAX_TOKEN_TTL_SECONDS
                ),
            });
        }
        if self.tls_handshake_timeout_seconds == 0 || self.max_connections == 0 {
            let key = if self.max_connections == 0 {
                "max_connections"
            } else {
                "tls_handshake_timeout_seconds"
            };
            return Err(ConfigError::Invalid {
                key,
                reason: "must be greater than 0".into(),
            });
        }
        if self.max_connections > MAX_CONNECTIONS_LIMIT {
            return Err(ConfigError::Invalid {
                key: "max_connections",
                reason: format!("must be at most {MAX_CONNECTIONS_LIMIT}"),
            });
        }
        if !(1..=86_400).contains(&self.anonymous.window_seconds) {
            return Err(ConfigError::Invalid {
                key: "anonymous.window_seconds",
                reason: "must be between 1 and 86400".into(),
            });
        }
        if !(1..=10_000_000).contains(&self.anonymous.max_sources) {
            return Err(ConfigError::Invalid {
                key: "anonymous.max_sources",
                reason: "must be between 1 and 10000000".into(),
            });
        }
        self.listener.validate()?;
        if self.audit.checkpoint_every_records == 0 {
            return Err(ConfigError::Invalid {
                key: "audit.checkpoint_every_records",
                reason: "must be greater than 0".into(),
            });
        }
        if !(1..=3600).contains(&self.audit.checkpoint_every_seconds) {
            return Err(ConfigError::Invalid {
                key: "audit.checkpoint_every_seconds",
                reason: "must be between 1 and 3600".into(),
            });
        }
        self.capacity.validate(&self.audit.stream)?;
        self.tokens.validate()?;
        self.identity.validate()?;
        self.messaging
            .validate()
            .map_err(|(key, reason)| ConfigError::Invalid { key, reason })?;
        if let Some(directory) = &self.directory {
            directory.validate().map_err(|e| ConfigError::Invalid {
                key: "directory",
                reason: e.to_string(),
            })?;
        }
        if let Some(gateway) = &self.gateway {
            gateway.check().map_err(|e| ConfigError::Invalid {
                key: "gateway",
                reason: e.to_string(),
            })?;
        }
        if self.tls.cert_path.is_some() != self.tls.key_path.is_some() {
            return Err(ConfigError::Invalid {
                key: "tls",
                reason: "set both cert_path and key_path, or neither".into(),
            });
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid {
                    key: "database_url",
                    reason: "must start with postgres:// (leave it unset for SQLite)".into(),
                });
            }
        }
        Ok(())
    }

    /// The audit checkpoint key file actually used.
    pub fn effective_audit_key_file(&self) -> PathBuf {
        self.audit
            .key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-checkpoint.key"))
    }

    /// Where the newest checkpoint is witnessed: beside the key, out of the database.
    pub fn effective_audit_witness_file(&self) -> PathBuf {
        let key = self.effective_audit_key_file();
        key.parent()
            .map(|d| d.join("audit-witness.json"))
            .unwrap_or_else(|| PathBuf::from("audit-witness.json"))
    }

    /// The `iss` of tokens: configured, or `https://` and the listen address.
    pub fn effective_issuer(&self) -> String {
        match &self.tokens.issuer {
            Some(issuer) => issuer.trim_end_matches('/').to_owned(),
            None => format!("https://{}", self.listen),
        }
    }

    /// The key-encryption key's file (when `GATEHOUSE_TOKEN_KEK` is unset).
    pub fn effective_kek_file(&self) -> PathBuf {
        self.tokens
            .kek_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("token-keys.kek"))
    }

    /// The database URL actually used: PostgreSQL if configured, else SQLite in the data dir.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("gatehouse.db").display()),
        }
    }
}

/// An environment value is read as a TOML value when it is one (numbers, booleans),
/// and as a string otherwise (addresses, paths, URLs).
fn env_value(raw: &str) -> toml::Value {
    match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => match t.remove("v") {
            Some(
                v @ (toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_)),
            ) => v,
            _ => toml::Value::String(raw.to_owned()),
        },
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(toml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(
            Some(&path),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert_eq!(c.listen.port(), 8443);
        assert!(c.effective_database_url().starts_with("sqlite://"));
    }

    #[test]
    fn file_values_and_env_overrides_apply() {
        let c = load_str(
            "listen = \"127.0.0.1:9000\"\nmax_body_bytes = 4096\n",
            &[
                ("GATEHOUSE_MAX_BODY_BYTES", "8192"),
                ("GATEHOUSE_TLS__CERT_PATH", "/c"),
                ("GATEHOUSE_TLS__KEY_PATH", "/k"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.max_body_bytes, 8192);
        assert_eq!(c.tls.cert_path.as_deref(), Some(Path::new("/c")));
    }

    #[test]
    fn unknown_key_in_file_is_named() {
        let e = load_str("listne = \"127.0.0.1:1\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listne`"), "{e}");
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn unknown_nested_key_is_named() {
        let e = load_str("[tls]\ncert = \"x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tls.cert`"), "{e}");
    }

    #[test]
    fn unknown_env_key_names_the_variable() {
        let e = load_str("", &[("GATEHOUSE_LISTEN_ADDR", "x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listen_addr`"), "{e}");
        assert!(e.contains("GATEHOUSE_LISTEN_ADDR"), "{e}");
    }

    #[test]
    fn bad_values_are_named_with_reason() {
        let e = load_str("listen = \"not an address\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listen`") && e.contains("invalid"), "{e}");
        let e = load_str("", &[("GATEHOUSE_MAX_BODY_BYTES", "lots")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`max_body_bytes`") && e.contains("GATEHOUSE_MAX_BODY_BYTES"),
            "{e}"
        );
        let e = load_str("max_body_bytes = 10\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`max_body_bytes`") && e.contains("at least"),
            "{e}"
        );
        let e = load_str("database_url = \"mysql://x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`database_url`"), "{e}");
        let e = load_str("[tls]\ncert_path = \"/c\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tls`") && e.contains("both"), "{e}");
    }

    #[test]
    fn broken_toml_is_reported() {
        let e = load_str("listen = \n", &[]).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    }

    #[test]
    fn connection_limits_are_bounded() {
        let e = load_str("max_connections = 0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`max_connections`"), "{e}");
        let e = load_str("max_connections = 99999999999\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`max_connections`") && e.contains("at most"),
            "{e}"
        );
        let e = load_str("tls_handshake_timeout_seconds = 0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tls_handshake_timeout_seconds`"), "{e}");
    }

    #[test]
    fn unrelated_and_test_variables_are_ignored() {
        let c = load_str(
            "",
            &[
                ("PATH", "/bin"),
                ("GATEHOUSE_TEST_DATABASE_URL", "x"),
                ("GATEHOUSE_CONSOLE_DATA_DIR", "/tmp/x"),
                ("GATEHOUSE_CONSOLE_START", "connect"),
                ("GATEHOUSE_CONFIG", "y"),
            ],
        );
        assert!(c.is_ok());
    }
}
