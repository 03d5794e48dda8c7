//! The `[listener]` section: the deadlines, rates and caps that keep a client from
//! holding a connection open (OP-4). The TLS handshake deadline and the global
//! connection cap are the older top-level keys `tls_handshake_timeout_seconds` and
//! `max_connections`.

use serde::Deserialize;

use super::ConfigError;

/// The longest any listener deadline may be set to.
const MAX_SECONDS: u64 = 3600;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    /// Seconds a client has to send a request's headers, on a new connection and
    /// between requests on a kept-alive one.
    pub header_read_timeout_seconds: u64,
    /// Seconds a request body may take before its minimum rate is enforced...
    pub body_grace_seconds: u64,
    /// ...after which it must average at least this many bytes per second, or the
    /// request is answered 408 `request_timeout`.
    pub body_min_bytes_per_second: u64,
    /// Seconds a connection may stay open with no request in flight.
    pub idle_timeout_seconds: u64,
    /// Seconds the server waits for a client that reads none of its response.
    pub send_timeout_seconds: u64,
    /// HTTP/2: seconds between keep-alive pings...
    pub http2_keep_alive_interval_seconds: u64,
    /// ...and seconds to wait for each one's answer before closing.
    pub http2_keep_alive_timeout_seconds: u64,
    /// HTTP/2: requests in flight at once on one connection.
    pub http2_max_concurrent_streams: u32,
    /// Largest request head (request line and headers) in bytes, both protocols.
    pub max_header_bytes: u32,
    /// Connections open at once from one source address (an IPv6 source is its /64).
    pub max_connections_per_source: usize,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        let limits = gatehouse_listener::ListenerLimits::default();
        Self {
            header_read_timeout_seconds: limits.header_read_timeout.as_secs(),
            body_grace_seconds: limits.body_grace.as_secs(),
            body_min_bytes_per_second: limits.body_min_bytes_per_second,
            idle_timeout_seconds: limits.idle_timeout.as_secs(),
            send_timeout_seconds: limits.send_timeout.as_secs(),
            http2_keep_alive_interval_seconds: limits.http2_keep_alive_interval.as_secs(),
            http2_keep_alive_timeout_seconds: limits.http2_keep_alive_timeout.as_secs(),
            http2_max_concurrent_streams: limits.http2_max_concurrent_streams,
            max_header_bytes: limits.max_header_bytes,
            max_connections_per_source: limits.max_connections_per_source,
        }
    }
}

impl ListenerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let seconds = [
            (
                "listener.header_read_timeout_seconds",
                self.header_read_timeout_seconds,
            ),
            ("listener.body_grace_seconds", self.body_grace_seconds),
            ("listener.idle_timeout_seconds", self.idle_timeout_seconds),
            ("listener.send_timeout_seconds", self.send_timeout_seconds),
            (
                "listener.http2_keep_alive_interval_seconds",
                self.http2_keep_alive_interval_seconds,
            ),
            (
                "listener.http2_keep_alive_timeout_seconds",
                self.http2_keep_alive_timeout_seconds,
            ),
        ];
        for (key, value) in seconds {
            if !(1..=MAX_SECONDS).contains(&value) {
                return Err(invalid(key, format!("must be between 1 and {MAX_SECONDS}")));
            }
        }
        let counts = [
            (
                "listener.body_min_bytes_per_second",
                self.body_min_bytes_per_second,
                1,
                u64::from(u32::MAX),
            ),
            (
                "listener.http2_max_concurrent_streams",
                u64::from(self.http2_max_concurrent_streams),
                1,
                10_000,
            ),
            // hyper cannot read HTTP/1 with a buffer under 8 KiB.
            (
                "listener.max_header_bytes",
                u64::from(self.max_header_bytes),
                8192,
                1024 * 1024,
            ),
            (
                "listener.max_connections_per_source",
                self.max_connections_per_source as u64,
                1,
                super::MAX_CONNECTIONS_LIMIT as u64,
            ),
        ];
        for (key, value, low, high) in counts {
            if !(low..=high).contains(&value) {
                return Err(invalid(key, format!("must be between {low} and {high}")));
            }
        }
        Ok(())
    }
}

fn invalid(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { key, reason }
}

impl super::Config {
    /// Every limit the listener enforces, from this section and the two older keys.
    pub fn listener_limits(&self) -> gatehouse_listener::ListenerLimits {
        use std::time::Duration;
        let l = &self.listener;
        gatehouse_listener::ListenerLimits {
            handshake_timeout: Duration::from_secs(self.tls_handshake_timeout_seconds),
            header_read_timeout: Duration::from_secs(l.header_read_timeout_seconds),
            body_grace: Duration::from_secs(l.body_grace_seconds),
            body_min_bytes_per_second: l.body_min_bytes_per_second,
            idle_timeout: Duration::from_secs(l.idle_timeout_seconds),
            send_timeout: Duration::from_secs(l.send_timeout_seconds),
            http2_keep_alive_interval: Duration::from_secs(l.http2_keep_alive_interval_seconds),
            http2_keep_alive_timeout: Duration::from_secs(l.http2_keep_alive_timeout_seconds),
            http2_max_concurrent_streams: l.http2_max_concurrent_streams,
            max_header_bytes: l.max_header_bytes,
            max_connections: self.max_connections,
            max_connections_per_source: l.max_connections_per_source,
            ..gatehouse_listener::ListenerLimits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn load(env: &[(&str, &str)]) -> Result<Config, super::ConfigError> {
        Config::load(
            None,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn defaults_are_the_listeners_own() {
        let limits = load(&[]).unwrap().listener_limits();
        let ours = gatehouse_listener::ListenerLimits::default();
        assert_eq!(limits.header_read_timeout, ours.header_read_timeout);
        assert_eq!(limits.body_min_bytes_per_second, 500);
        assert_eq!(limits.max_connections, 1024);
        assert_eq!(limits.max_connections_per_source, 64);
    }

    #[test]
    fn the_example_config_shows_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config.example.toml");
        let example = Config::load(Some(std::path::Path::new(path)), Vec::new()).unwrap();
        assert_eq!(
            example.listener_limits(),
            Config::default().listener_limits()
        );
    }

    #[test]
    fn keys_apply_and_bad_values_are_named() {
        let c = load(&[
            ("GATEHOUSE_LISTENER__IDLE_TIMEOUT_SECONDS", "5"),
            ("GATEHOUSE_TLS_HANDSHAKE_TIMEOUT_SECONDS", "3"),
        ])
        .unwrap();
        assert_eq!(c.listener_limits().idle_timeout.as_secs(), 5);
        assert_eq!(c.listener_limits().handshake_timeout.as_secs(), 3);
        for (var, key) in [
            (
                "GATEHOUSE_LISTENER__HEADER_READ_TIMEOUT_SECONDS",
                "listener.header_read_timeout_seconds",
            ),
            (
                "GATEHOUSE_LISTENER__BODY_MIN_BYTES_PER_SECOND",
                "listener.body_min_bytes_per_second",
            ),
            (
                "GATEHOUSE_LISTENER__MAX_CONNECTIONS_PER_SOURCE",
                "listener.max_connections_per_source",
            ),
        ] {
            let e = load(&[(var, "0")]).unwrap_err().to_string();
            assert!(e.contains(&format!("`{key}`")), "{e}");
        }
        let e = load(&[("GATEHOUSE_LISTENER__MAX_HEADER_BYTES", "100")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listener.max_header_bytes`"), "{e}");
        let e = load(&[("GATEHOUSE_LISTENER__SLOW", "1")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("`listener.slow`"), "{e}");
    }
}
