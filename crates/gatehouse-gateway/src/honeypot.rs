//! Honeypots (ISM-0120): decoy paths no legitimate caller asks for. A source
//! that touches one is flagged for a while, and a flagged source is refused
//! everything (reason `honeypot`) until its flag runs out or an administrator
//! lifts it. Sources are counted like the rate limits (IPv6 by /64); the
//! flags held are capped (the oldest goes first), so a scan from rotating
//! addresses cannot grow the gateway's memory.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use serde::Serialize;

use crate::config::HoneypotConfig;
use crate::rate::source_key;

/// A flagged source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// The address that first touched a decoy.
    pub source: IpAddr,
    /// What it asked for (at most 200 characters).
    pub path: String,
    /// The configured decoy that caught it.
    pub decoy: String,
    pub flagged_at_us: i64,
    pub until_us: i64,
    /// Requests refused since.
    pub refused: u64,
}

#[derive(Default)]
struct Flags {
    by_source: HashMap<[u8; 17], Flag>,
    /// Keys in the order flagged (with when, to skip ones flagged again since).
    order: VecDeque<([u8; 17], i64)>,
}

/// The decoys and the sources they caught.
pub struct Honeypots {
    paths: Vec<String>,
    flag_us: i64,
    max_flagged: usize,
    flags: Mutex<Flags>,
}

impl std::fmt::Debug for Honeypots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Honeypots")
            .field("paths", &self.paths)
            .finish()
    }
}

impl Honeypots {
    pub fn new(config: &HoneypotConfig) -> Honeypots {
        Honeypots {
            paths: config
                .paths
                .iter()
                .map(|p| p.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
            flag_us: i64::try_from(config.flag_seconds)
                .unwrap_or(i64::MAX / 1_000_000)
                .saturating_mul(1_000_000),
            max_flagged: config.max_flagged.max(1),
            flags: Mutex::new(Flags::default()),
        }
    }

    /// Whether `path` (decoded) is a decoy or lies under one; case does not
    /// matter (scanners try both).
    pub fn is_decoy(&self, path: &str) -> bool {
        self.decoy_of(path).is_some()
    }

    /// The configured decoy `path` (decoded) is, or lies under.
    pub fn decoy_of(&self, path: &str) -> Option<&str> {
        let path = path.to_ascii_lowercase();
        self.paths
            .iter()
            .find(|decoy| crate::normalize::is_under(&path, decoy))
            .map(String::as_str)
    }

    /// Flags `source` for touching `path`, under `decoy`.
    pub fn flag(&self, source: IpAddr, path: &str, decoy: &str, now_us: i64) {
        let Ok(mut flags) = self.flags.lock() else {
            return;
        };
        let key = source_key(source);
        let until_us = now_us.saturating_add(self.flag_us);
        if let Some(flag) = flags.by_source.get_mut(&key) {
            flag.until_us = until_us;
            return;
        }
        while flags.by_source.len() >= self.max_flagged {
            let Some((oldest, at)) = flags.order.pop_front() else {
                break;
            };
            if flags
                .by_source
                .get(&oldest)
                .is_some_and(|f| f.flagged_at_us == at)
            {
                flags.by_source.remove(&oldest);
            }
        }
        flags.by_source.insert(
            key,
            Flag {
                source,
                path: path.chars().take(200).collect(),
                decoy: decoy.to_owned(),
                flagged_at_us: now_us,
                until_us,
                refused: 0,
            },
        );
        flags.order.push_back((key, now_us));
    }

    /// The flag on `source`, if one is in force (counting this refusal).
    pub fn check(&self, source: IpAddr, now_us: i64) -> Option<Flag> {
        let mut flags = self.flags.lock().ok()?;
        let key = source_key(source);
        let flag = flags.by_source.get_mut(&key)?;
        if flag.until_us <= now_us {
            flags.by_source.remove(&key);
            return None;
        }
        flag.refused += 1;
        Some(flag.clone())
    }

    /// The flags in force, newest first.
    pub fn list(&self, now_us: i64) -> Vec<Flag> {
        let Ok(flags) = self.flags.lock() else {
            return Vec::new();
        };
        let mut list: Vec<Flag> = flags
            .by_source
            .values()
            .filter(|f| f.until_us > now_us)
            .cloned()
            .collect();
        list.sort_by_key(|f| std::cmp::Reverse(f.flagged_at_us));
        list
    }

    /// Lifts the flag on `source`'s address (or /64); whether there was one.
    pub fn unflag(&self, source: IpAddr) -> bool {
        self.flags
            .lock()
            .map(|mut f| f.by_source.remove(&source_key(source)).is_some())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pots(max: usize) -> Honeypots {
        Honeypots::new(&HoneypotConfig {
            max_flagged: max,
            flag_seconds: 60,
            ..HoneypotConfig::default()
        })
    }

    // proves: GW-4 (honeypot endpoints flag a source)
    #[test]
    fn a_decoy_flags_its_source_until_the_flag_runs_out_or_is_lifted() {
        let pots = pots(10);
        assert!(pots.is_decoy("/.env"));
        assert!(pots.is_decoy("/.GIT/config"));
        assert!(pots.is_decoy("/wp-admin/install.php"));
        assert!(!pots.is_decoy("/api/environments"));
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(pots.check(ip, 0).is_none());
        pots.flag(ip, "/.env", "/.env", 1_000_000);
        assert_eq!(pots.check(ip, 2_000_000).unwrap().path, "/.env");
        assert_eq!(pots.check(ip, 3_000_000).unwrap().refused, 2);
        assert!(pots.check(ip, 61_000_000).is_none());
        pots.flag(ip, "/.env", "/.env", 70_000_000);
        assert_eq!(pots.list(71_000_000).len(), 1);
        assert!(pots.unflag(ip));
        assert!(pots.check(ip, 72_000_000).is_none());
        assert!(!pots.unflag(ip));
    }

    // proves: GW-3 (bounded memory: flags are capped, the oldest goes first)
    #[test]
    fn rotating_scanners_cannot_grow_the_flags_past_their_cap() {
        let pots = pots(100);
        for i in 0u32..10_000 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            pots.flag(ip, "/.env", "/.env", i64::from(i));
        }
        let list = pots.list(0);
        assert_eq!(list.len(), 100);
        assert_eq!(list[0].source, "10.0.39.15".parse::<IpAddr>().unwrap());
        // An IPv6 scanner rotating inside its /64 is one source.
        for i in 0u16..50 {
            let ip: IpAddr = format!("2001:db8::{i:x}").parse().unwrap();
            pots.flag(ip, "/.env", "/.env", 20_000);
        }
        assert_eq!(pots.list(0).len(), 100);
        assert!(pots
            .check("2001:db8::ffff".parse().unwrap(), 20_001)
            .is_some());
    }
}
