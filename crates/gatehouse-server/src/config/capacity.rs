//! The `[capacity]` section (OP-4: readers cannot starve the writer) and
//! `[audit.stream]` (the live tail's limits), with their checks.

use serde::Deserialize;

use super::ConfigError;

/// The live tail (`GET /v1/audit/stream`): how often it is authorized again, how
/// many may be open, and how far back one may start.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Seconds between two checks that a stream's token is still valid and still
    /// permitted `audit.stream` (changes made on this server end it at once).
    pub recheck_seconds: u64,
    /// Streams open at once per token...
    pub max_per_token: usize,
    /// ...and in all.
    pub max_total: usize,
    /// `after` (or `Last-Event-ID`) may start at most this many records before
    /// the newest: older records are read with search or export, which policies
    /// govern separately.
    pub max_replay_records: u64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            recheck_seconds: 1,
            max_per_token: 4,
            max_total: 64,
            max_replay_records: 1_000,
        }
    }
}

/// Readers cannot starve the writer (OP-4): the writer's own connections, a time
/// limit on reads, and how many requests each heavy route serves at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacityConfig {
    /// Database connections kept for appends (the audit writer, tokens, policy
    /// versions), apart from the connections reads use.
    pub writer_connections: u32,
    /// A read statement running longer is cancelled: 503 `unavailable`.
    pub read_timeout_ms: u64,
    /// How long a request to a heavy route at its limit waits for a turn before
    /// it is answered 503 `unavailable` with `Retry-After`.
    pub queue_wait_ms: u64,
    pub concurrency: RouteConcurrency,
}

impl Default for CapacityConfig {
    fn default() -> Self {
        Self {
            writer_connections: 2,
            read_timeout_ms: 10_000,
            queue_wait_ms: 1_000,
            concurrency: RouteConcurrency::default(),
        }
    }
}

/// Requests served at once per heavy route. The bulk read pool is sized from
/// these (a summary runs 5 reads at once), so every heavy route at its limit
/// together still finds a connection; lookups on the authentication path have a
/// pool of their own that these never take.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteConcurrency {
    /// Pages of the trail (filters on indexed columns, keyset paging).
    pub audit_search: usize,
    /// Searches with free text (`q`), which read every row in range: each
    /// keeps a database core busy, so fewer run at once.
    pub audit_text_search: usize,
    pub audit_export: usize,
    pub audit_verify: usize,
    pub blocked_list: usize,
    pub blocked_summary: usize,
    pub policy_matrix: usize,
}

impl Default for RouteConcurrency {
    fn default() -> Self {
        Self {
            audit_search: 16,
            audit_text_search: 4,
            audit_export: 2,
            audit_verify: 1,
            blocked_list: 2,
            blocked_summary: 1,
            policy_matrix: 2,
        }
    }
}

/// Reads a blocked-request summary runs at once.
const SUMMARY_READS: usize = 5;
/// Room in the bulk read pool beyond the heavy routes' turns (the live tail's
/// replays, the console's small blocked-log reads).
const SPARE_READS: usize = 2;
/// The bulk read pool never grows past this, whatever the turns: past it heavy
/// requests wait for a connection (and time out 503) instead of exhausting the
/// database's connection limit.
const MAX_READ_CONNECTIONS: usize = 128;

impl RouteConcurrency {
    /// Connections the bulk read pool needs for every heavy route at its limit.
    pub fn read_connections(&self) -> u32 {
        let c = self;
        let sum = c.audit_search
            + c.audit_text_search
            + c.audit_export
            + c.audit_verify
            + c.blocked_list
            + c.blocked_summary * SUMMARY_READS
            + c.policy_matrix
            + SPARE_READS;
        u32::try_from(sum.min(MAX_READ_CONNECTIONS)).unwrap_or(16)
    }

    /// Each heavy route's config key, and its limit.
    pub fn entries(&self) -> [(&'static str, usize); 7] {
        [
            ("audit_search", self.audit_search),
            ("audit_text_search", self.audit_text_search),
            ("audit_export", self.audit_export),
            ("audit_verify", self.audit_verify),
            ("blocked_list", self.blocked_list),
            ("blocked_summary", self.blocked_summary),
            ("policy_matrix", self.policy_matrix),
        ]
    }
}

impl CapacityConfig {
    /// What the store needs of this section.
    pub fn store_options(&self) -> gatehouse_store::StoreOptions {
        gatehouse_store::StoreOptions {
            writer_connections: self.writer_connections,
            read_timeout: Some(std::time::Duration::from_millis(self.read_timeout_ms)),
            read_connections: self.concurrency.read_connections(),
        }
    }

    pub(super) fn validate(&self, stream: &StreamConfig) -> Result<(), ConfigError> {
        let range = |key: &'static str, value: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    key,
                    reason: format!("must be between {lo} and {hi}"),
                })
            }
        };
        range(
            "capacity.writer_connections",
            u64::from(self.writer_connections),
            1,
            64,
        )?;
        range(
            "capacity.read_timeout_ms",
            self.read_timeout_ms,
            100,
            3_600_000,
        )?;
        range("capacity.queue_wait_ms", self.queue_wait_ms, 0, 60_000)?;
        for (name, limit) in self.concurrency.entries() {
            if !(1..=1024).contains(&limit) {
                return Err(ConfigError::Invalid {
                    key: "capacity.concurrency",
                    reason: format!("{name} must be between 1 and 1024"),
                });
            }
        }
        range(
            "audit.stream.recheck_seconds",
            stream.recheck_seconds,
            1,
            60,
        )?;
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        range(
            "audit.stream.max_per_token",
            count(stream.max_per_token),
            1,
            10_000,
        )?;
        range(
            "audit.stream.max_total",
            count(stream.max_total),
            1,
            100_000,
        )?;
        range(
            "audit.stream.max_replay_records",
            stream.max_replay_records,
            0,
            1_000_000,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn load_str(toml: &str, env: &[(&str, &str)]) -> Result<Config, super::ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(
            Some(&path),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn capacity_and_stream_limits_are_bounded() {
        let c = load_str(
            "[capacity.concurrency]\naudit_search = 7\n",
            &[("GATEHOUSE_AUDIT__STREAM__MAX_PER_TOKEN", "2")],
        )
        .unwrap();
        assert_eq!(c.capacity.concurrency.audit_search, 7);
        // 7 + 4 + 2 + 1 + 2 + 5 + 2, and two spare.
        assert_eq!(c.capacity.store_options().read_connections, 25);
        assert_eq!(c.audit.stream.max_per_token, 2);
        for (toml, key) in [
            (
                "[capacity]\nwriter_connections = 0\n",
                "`capacity.writer_connections`",
            ),
            (
                "[capacity]\nread_timeout_ms = 5\n",
                "`capacity.read_timeout_ms`",
            ),
            ("[capacity.concurrency]\nblocked_list = 0\n", "blocked_list"),
            (
                "[audit.stream]\nrecheck_seconds = 0\n",
                "`audit.stream.recheck_seconds`",
            ),
            (
                "[audit.stream]\nmax_total = 0\n",
                "`audit.stream.max_total`",
            ),
        ] {
            let e = load_str(toml, &[]).unwrap_err().to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn the_example_file_documents_these_sections_at_their_defaults() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config.example.toml");
        let c = Config::load(Some(std::path::Path::new(example)), Vec::new()).unwrap();
        assert_eq!(c.capacity, super::CapacityConfig::default());
        assert_eq!(c.audit.stream, super::StreamConfig::default());
    }
}
