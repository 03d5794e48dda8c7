//! Anonymous traffic cannot grow the trail without bound (OP-4): requests with
//! no valid credential (none at all, or one that failed) are counted per source
//! in fixed windows; past the limit a source is answered 429 with `Retry-After`,
//! and only its first refusal in a window is recorded (with the number refused
//! unrecorded in its earlier windows), so a flood of unknown paths or guessed
//! tokens adds a bounded number of rows. Callers with a valid credential are
//! never counted nor refused here.
//!
//! Memory is bounded: at most `max_sources` sources are tracked (IPv6 by /64, so
//! rotating through one network's addresses is one source); when the table is
//! full, expired windows are dropped (at most once a second), and sources that
//! still find no room share one overflow window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// What the limiter says of one more anonymous request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refuse with `Retry-After: retry_after_s`; record it only if `record` says
    /// so, with how many were refused unrecorded before it.
    Refuse {
        retry_after_s: u64,
        record: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started_s: i64,
    count: u32,
    is_refusal_recorded: bool,
}

#[derive(Debug, Default)]
struct Table {
    windows: HashMap<IpAddr, Window>,
    overflow: Option<Window>,
    /// Refusals not recorded, per source, carried to its next recorded one.
    unrecorded: HashMap<IpAddr, u64>,
    last_purge_s: i64,
}

#[derive(Debug)]
pub struct SourceLimiter {
    limit: u32,
    window_s: i64,
    max_sources: usize,
    table: Mutex<Table>,
}

impl SourceLimiter {
    /// `limit` anonymous requests per source per `window_s` seconds; `limit` 0
    /// turns the limiter off.
    pub fn new(limit: u32, window_s: u64, max_sources: usize) -> Self {
        Self {
            limit,
            window_s: i64::try_from(window_s.max(1)).unwrap_or(60),
            max_sources: max_sources.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    /// Counts one anonymous request from `source` at `now_s`.
    pub fn hit(&self, source: &str, now_s: i64) -> Verdict {
        if self.limit == 0 {
            return Verdict::Allow;
        }
        // An address that does not parse (none: an in-process caller) is one source.
        let key = gatehouse_listener::source_of(
            source
                .parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        );
        let mut table = match self.table.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        };
        let window_s = self.window_s;
        if !table.windows.contains_key(&key)
            && table.windows.len() >= self.max_sources
            && now_s - table.last_purge_s >= 1
        {
            table.last_purge_s = now_s;
            let Table {
                windows,
                unrecorded,
                ..
            } = &mut *table;
            windows.retain(|_, w| w.started_s + window_s > now_s);
            unrecorded.retain(|k, _| windows.contains_key(k));
        }
        let is_tracked = table.windows.contains_key(&key) || table.windows.len() < self.max_sources;
        let fresh = Window {
            started_s: now_s,
            count: 0,
            is_refusal_recorded: false,
        };
        let window = if is_tracked {
            table.windows.entry(key).or_insert(fresh)
        } else {
            table.overflow.get_or_insert(fresh)
        };
        if window.started_s + window_s <= now_s {
            *window = fresh;
        }
        window.count = window.count.saturating_add(1);
        if window.count <= self.limit {
            return Verdict::Allow;
        }
        let retry_after_s = u64::try_from(window.started_s + window_s - now_s).unwrap_or(1);
        let is_first = !window.is_refusal_recorded;
        window.is_refusal_recorded = true;
        let record = if is_first {
            Some(table.unrecorded.remove(&key).unwrap_or(0))
        } else {
            if is_tracked {
                *table.unrecorded.entry(key).or_insert(0) += 1;
            }
            None
        };
        Verdict::Refuse {
            retry_after_s: retry_after_s.max(1),
            record,
        }
    }

    /// How many sources are tracked (for tests).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.table.lock().map(|t| t.windows.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // proves: OP-4
    #[test]
    fn a_source_over_the_limit_is_refused_and_recorded_once_per_window() {
        let l = SourceLimiter::new(3, 60, 100);
        for _ in 0..3 {
            assert_eq!(l.hit("192.0.2.1", 1000), Verdict::Allow);
        }
        assert_eq!(
            l.hit("192.0.2.1", 1000),
            Verdict::Refuse {
                retry_after_s: 60,
                record: Some(0)
            }
        );
        for _ in 0..5 {
            assert_eq!(
                l.hit("192.0.2.1", 1030),
                Verdict::Refuse {
                    retry_after_s: 30,
                    record: None
                }
            );
        }
        // Another source is untouched.
        assert_eq!(l.hit("192.0.2.2", 1030), Verdict::Allow);
        // A new window: allowed again, and the next recorded refusal says how
        // many went unrecorded before it.
        for _ in 0..3 {
            assert_eq!(l.hit("192.0.2.1", 1060), Verdict::Allow);
        }
        assert_eq!(
            l.hit("192.0.2.1", 1061),
            Verdict::Refuse {
                retry_after_s: 59,
                record: Some(5)
            }
        );
    }

    // proves: OP-4
    #[test]
    fn memory_is_bounded_under_address_rotation() {
        let l = SourceLimiter::new(2, 60, 50);
        for i in 0..10_000u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            let _ = l.hit(&ip, 1000);
        }
        assert_eq!(l.tracked(), 50);
        // The sources without room share the overflow window: refused.
        assert!(matches!(
            l.hit("198.51.100.9", 1000),
            Verdict::Refuse { .. }
        ));
        // Expired windows make room again.
        assert_eq!(l.hit("198.51.100.9", 1100), Verdict::Allow);
        assert!(l.tracked() <= 50);
        // One IPv6 /64 is one source.
        let l = SourceLimiter::new(1, 60, 50);
        assert_eq!(l.hit("2001:db8:1:2::1", 0), Verdict::Allow);
        assert!(matches!(
            l.hit("2001:db8:1:2:ffff::7", 0),
            Verdict::Refuse { .. }
        ));
        assert_eq!(l.hit("2001:db8:1:3::1", 0), Verdict::Allow);
        assert_eq!(l.tracked(), 2);
    }

    #[test]
    fn zero_turns_it_off() {
        let l = SourceLimiter::new(0, 60, 10);
        for _ in 0..100 {
            assert_eq!(l.hit("192.0.2.1", 0), Verdict::Allow);
        }
    }
}
