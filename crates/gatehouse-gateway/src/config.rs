//! The gateway's configuration (`[gateway]` in the server's file): its
//! routes, which are also the API inventory (GW-7), and the settings of each
//! stage. Every error names its key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::normalize::normalize;
use crate::waf::WafSettings;

/// Who a route is exposed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    Internal,
    Partner,
    Public,
}

impl Exposure {
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Internal => "internal",
            Exposure::Partner => "partner",
            Exposure::Public => "public",
        }
    }
}

/// How sensitive what a route serves is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Public => "public",
            Classification::Internal => "internal",
            Classification::Confidential => "confidential",
            Classification::Restricted => "restricted",
        }
    }
}

fn default_max_body() -> u64 {
    1024 * 1024
}

fn default_content_types() -> Vec<String> {
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "text/plain",
    ]
    .map(String::from)
    .to_vec()
}

/// One route: a path prefix and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A short name, unique: the Cedar resource (`Route::"<name>"`).
    pub name: String,
    pub path_prefix: String,
    /// `http://host:port` (optionally with a path prefix); requests are
    /// spread over them in turn.
    pub upstreams: Vec<String>,
    pub exposure: Exposure,
    pub classification: Classification,
    #[serde(default)]
    pub description: String,
    /// The public sign-up (callers without a token are let through to it,
    /// under the anonymous rate limit).
    #[serde(default)]
    pub is_signup: bool,
    /// Served without a token at all (public content).
    #[serde(default)]
    pub is_anonymous: bool,
    /// Largest request body, bytes (413 beyond).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u64,
    /// Request body types accepted (415 otherwise); parameters ignored.
    #[serde(default = "default_content_types")]
    pub content_types: Vec<String>,
    /// Requests a minute per source on this route (the gateway's default otherwise).
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
    /// Requests a minute per identity on this route (the default otherwise).
    #[serde(default)]
    pub identity_rate_per_minute: Option<u32>,
}

/// Requests a minute before 429, per source and per identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateConfig {
    pub per_source_per_minute: u32,
    pub per_identity_per_minute: u32,
    /// The sketch's columns (memory: 2 × 4 × this × 4 bytes per sketch).
    pub sketch_width: usize,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            per_source_per_minute: 600,
            per_identity_per_minute: 1200,
            sketch_width: 1 << 20,
        }
    }
}

/// Bot identification beyond the user agent and behaviour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    /// TLS hello fingerprints (as the audit trail and the Why view show them)
    /// refused as bad bots: a tool that forges a browser's user agent still
    /// says hello its own way.
    pub deny_tls_fingerprints: Vec<String>,
}

/// Decoy paths (ISM-0120): no one legitimate asks for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HoneypotConfig {
    pub paths: Vec<String>,
    /// How long a source that touched one stays flagged (and blocked).
    pub flag_seconds: u64,
    /// Sources flagged at once at most (the oldest flag goes first).
    pub max_flagged: usize,
}

impl Default for HoneypotConfig {
    fn default() -> Self {
        HoneypotConfig {
            paths: [
                "/.env",
                "/.git/config",
                "/wp-admin",
                "/wp-login.php",
                "/phpmyadmin",
                "/.aws/credentials",
                "/server-status",
                "/actuator/env",
            ]
            .map(String::from)
            .to_vec(),
            flag_seconds: 3600,
            max_flagged: 100_000,
        }
    }
}

/// How long the gateway waits on its upstreams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    pub connect_timeout_ms: u64,
    /// From the request sent to the response's head (504 beyond).
    pub response_timeout_ms: u64,
    /// Tries for an idempotent request whose connection failed (1 = no retry).
    pub attempts: u32,
    pub pool_idle_per_host: usize,
    /// PEM certificates trusted for `https://` upstreams (absent: the system's).
    pub ca_file: Option<PathBuf>,
    /// The gateway's client certificate chain (PEM) for upstreams that ask for
    /// one (mutual TLS), with its key; both or neither.
    pub client_cert_file: Option<PathBuf>,
    pub client_key_file: Option<PathBuf>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            connect_timeout_ms: 2_000,
            response_timeout_ms: 30_000,
            attempts: 2,
            pool_idle_per_host: 64,
            ca_file: None,
            client_cert_file: None,
            client_key_file: None,
        }
    }
}

impl UpstreamConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn response_timeout(&self) -> Duration {
        Duration::from_millis(self.response_timeout_ms)
    }
}

/// The whole `[gateway]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    pub routes: Vec<RouteConfig>,
    #[serde(default)]
    pub waf: WafSettings,
    /// Threads judging requests with the WAF (0: one per core).
    #[serde(default)]
    pub waf_threads: usize,
    #[serde(default)]
    pub rate: RateConfig,
    #[serde(default)]
    pub honeypots: HoneypotConfig,
    #[serde(default)]
    pub bots: BotConfig,
    #[serde(default)]
    pub upstream: UpstreamConfig,
}

/// A configuration error, naming its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn err(s: impl Into<String>) -> ConfigError {
    ConfigError(s.into())
}

impl GatewayConfig {
    /// Everything a running gateway relies on, checked at once.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.routes.is_empty() {
            return Err(err("gateway.routes: at least one route"));
        }
        for (n, route) in self.routes.iter().enumerate() {
            let key = |field: &str| format!("gateway.routes[{n}].{field}");
            let is_name = !route.name.is_empty()
                && route.name.len() <= 64
                && route
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !is_name {
                return Err(err(format!(
                    "{}: 1 to 64 letters, digits, - or _",
                    key("name")
                )));
            }
            if self.routes[..n].iter().any(|r| r.name == route.name) {
                return Err(err(format!("{}: {:?} is taken", key("name"), route.name)));
            }
            match normalize(&route.path_prefix) {
                Ok(clean) if clean.decoded == route.path_prefix => {}
                _ => {
                    return Err(err(format!(
                        "{}: a plain path starting with /",
                        key("path_prefix")
                    )))
                }
            }
            let prefix = route.path_prefix.trim_end_matches('/');
            if self.routes[..n]
                .iter()
                .any(|r| r.path_prefix.trim_end_matches('/') == prefix)
            {
                return Err(err(format!("{}: another route has it", key("path_prefix"))));
            }
            if route.upstreams.is_empty() {
                return Err(err(format!("{}: at least one", key("upstreams"))));
            }
            for upstream in &route.upstreams {
                let uri: http::Uri = upstream
                    .parse()
                    .map_err(|_| err(format!("{}: {upstream:?} is not a URL", key("upstreams"))))?;
                let is_scheme = matches!(uri.scheme_str(), Some("http" | "https"));
                if !is_scheme || uri.host().is_none() || uri.query().is_some() {
                    return Err(err(format!(
                        "{}: {upstream:?}: http(s)://host:port[/path]",
                        key("upstreams")
                    )));
                }
            }
            if route.max_body_bytes > self.waf.max_body_bytes {
                return Err(err(format!(
                    "{}: at most gateway.waf.max_body_bytes ({}): the WAF must read the whole body",
                    key("max_body_bytes"),
                    self.waf.max_body_bytes
                )));
            }
            if route.is_signup && route.is_anonymous {
                return Err(err(format!(
                    "{}: a route is the sign-up or anonymous, not both",
                    key("is_signup")
                )));
            }
        }
        self.waf.check().map_err(|e| err(format!("gateway.{e}")))?;
        if self.rate.per_source_per_minute == 0 || self.rate.per_identity_per_minute == 0 {
            return Err(err("gateway.rate: quotas must be at least 1"));
        }
        if self.upstream.client_cert_file.is_some() != self.upstream.client_key_file.is_some() {
            return Err(err(
                "gateway.upstream.client_cert_file and client_key_file: both or neither",
            ));
        }
        if self.upstream.attempts == 0 || self.upstream.attempts > 5 {
            return Err(err("gateway.upstream.attempts: 1 to 5"));
        }
        for (n, print) in self.bots.deny_tls_fingerprints.iter().enumerate() {
            let is_fingerprint = !print.is_empty()
                && print.len() <= 64
                && print
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !is_fingerprint {
                return Err(err(format!(
                    "gateway.bots.deny_tls_fingerprints[{n}]: a fingerprint as the audit trail shows it (lower-case letters, digits and _)"
                )));
            }
        }
        for (n, path) in self.honeypots.paths.iter().enumerate() {
            if !path.starts_with('/') {
                return Err(err(format!(
                    "gateway.honeypots.paths[{n}]: a path starting with /"
                )));
            }
        }
        Ok(())
    }
}
