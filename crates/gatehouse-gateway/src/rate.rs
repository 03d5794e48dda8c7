//! Rate limits (GW-3) in memory that does not grow with the callers: a
//! count-min sketch per window (`depth` rows of `width` counters, each row
//! hashed with its own random key, so no caller can aim collisions at
//! another), a sliding window from the current and the previous window's
//! counts, and conservative updates (only the smallest counters of a key
//! grow), which keep a rare key's collisions from inflating a hot one.
//!
//! A million addresses rotated through it cost nothing more than the first:
//! the sketch is allocated once. A key's estimate can only be too high, never
//! too low, so a hot caller is always held to its quota; a quiet one may be
//! held early only when the sketch is overloaded (its width sets how rarely).
//! IPv6 sources are counted by /64 (one subscriber's addresses are one
//! source).

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;

/// Rows of a sketch at most.
const MAX_DEPTH: usize = 8;

/// A caller's key: a source (IPv6 by /64) or an identity.
pub fn source_key(ip: IpAddr) -> [u8; 17] {
    let mut key = [0u8; 17];
    match ip {
        IpAddr::V4(v4) => {
            key[0] = 4;
            key[1..5].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                key[0] = 4;
                key[1..5].copy_from_slice(&v4.octets());
            }
            None => {
                key[0] = 6;
                key[1..9].copy_from_slice(&v6.octets()[..8]);
            }
        },
    }
    key
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateVerdict {
    Allowed { count: f64 },
    Limited { count: f64, retry_after_s: u64 },
}

struct Windows {
    /// Start of the current window, in microseconds.
    start_us: i64,
    current: Box<[AtomicU32]>,
    previous: Box<[AtomicU32]>,
}

/// One sketch: for sources, or for identities.
pub struct RateSketch {
    depth: usize,
    width: usize,
    window_us: i64,
    hashers: Vec<std::collections::hash_map::RandomState>,
    windows: RwLock<Windows>,
}

impl std::fmt::Debug for RateSketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateSketch")
            .field("depth", &self.depth)
            .field("width", &self.width)
            .finish()
    }
}

fn zeroed(n: usize) -> Box<[AtomicU32]> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

impl RateSketch {
    /// `width` is rounded up to a power of two; memory is
    /// `2 × depth × width × 4` bytes, all of it allocated here.
    pub fn new(depth: usize, width: usize, window_seconds: u64) -> RateSketch {
        let depth = depth.clamp(1, MAX_DEPTH);
        let width = width.clamp(64, 1 << 24).next_power_of_two();
        RateSketch {
            depth,
            width,
            window_us: i64::try_from(window_seconds.max(1))
                .unwrap_or(60)
                .saturating_mul(1_000_000),
            hashers: (0..depth)
                .map(|_| std::collections::hash_map::RandomState::new())
                .collect(),
            windows: RwLock::new(Windows {
                start_us: 0,
                current: zeroed(depth * width),
                previous: zeroed(depth * width),
            }),
        }
    }

    /// Bytes held by the counters.
    pub fn bytes(&self) -> usize {
        2 * self.depth * self.width * std::mem::size_of::<AtomicU32>()
    }

    /// The key's counter in each row (the first `depth` entries): no
    /// allocation, as it runs for every request.
    fn slots(&self, key: &[u8]) -> [usize; MAX_DEPTH] {
        let mut slots = [0usize; MAX_DEPTH];
        for (row, h) in self.hashers.iter().enumerate() {
            let mut hasher = h.build_hasher();
            hasher.write(key);
            // Truncation is the point: the low bits pick the column.
            #[allow(clippy::cast_possible_truncation)]
            let column = (hasher.finish() as usize) & (self.width - 1);
            slots[row] = row * self.width + column;
        }
        slots
    }

    /// Moves the windows on to the one holding `now_us`.
    fn roll(&self, now_us: i64) {
        let window_start = now_us - now_us.rem_euclid(self.window_us);
        if self
            .windows
            .read()
            .map_or(true, |w| w.start_us == window_start)
        {
            return;
        }
        let Ok(mut w) = self.windows.write() else {
            return;
        };
        if w.start_us == window_start {
            return;
        }
        let is_next = window_start - w.start_us == self.window_us;
        let fresh = zeroed(self.depth * self.width);
        let old = std::mem::replace(&mut w.current, fresh);
        // The previous window counts only if it is the one just before.
        w.previous = if is_next {
            old
        } else {
            zeroed(self.depth * self.width)
        };
        w.start_us = window_start;
    }

    /// The sliding-window count of `key` at `now_us` (never below the truth).
    pub fn estimate(&self, key: &[u8], now_us: i64) -> f64 {
        self.roll(now_us);
        let slots = self.slots(key);
        let Ok(w) = self.windows.read() else {
            return 0.0;
        };
        self.estimate_in(&w, &slots[..self.depth], now_us)
    }

    fn estimate_in(&self, w: &Windows, slots: &[usize], now_us: i64) -> f64 {
        let min = |counters: &[AtomicU32]| {
            slots
                .iter()
                .map(|&s| counters[s].load(Ordering::Relaxed))
                .min()
                .unwrap_or(0)
        };
        #[allow(clippy::cast_precision_loss)]
        let elapsed = (now_us - w.start_us) as f64 / self.window_us as f64;
        f64::from(min(&w.previous)) * (1.0 - elapsed.clamp(0.0, 1.0)) + f64::from(min(&w.current))
    }

    /// Counts one request of `key` unless that would take it over `quota`
    /// in the sliding window; a refused request is not counted.
    pub fn hit(&self, key: &[u8], quota: u32, now_us: i64) -> RateVerdict {
        self.roll(now_us);
        let slots = self.slots(key);
        let slots = &slots[..self.depth];
        let Ok(w) = self.windows.read() else {
            return RateVerdict::Allowed { count: 0.0 };
        };
        let count = self.estimate_in(&w, slots, now_us);
        if count + 1.0 > f64::from(quota) {
            let left_us = (w.start_us + self.window_us - now_us).max(0);
            let retry_after_s = u64::try_from(left_us / 1_000_000 + 1).unwrap_or(1);
            return RateVerdict::Limited {
                count,
                retry_after_s,
            };
        }
        // Conservative update: only the counters at the key's minimum grow.
        let least = slots
            .iter()
            .map(|&s| w.current[s].load(Ordering::Relaxed))
            .min()
            .unwrap_or(0);
        for &s in slots {
            let _ = w.current[s].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                (c <= least).then(|| c.saturating_add(1))
            });
        }
        RateVerdict::Allowed { count: count + 1.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000;

    // proves: GW-3 (a hot source is held at its quota)
    #[test]
    fn a_source_is_held_at_its_quota_and_freed_as_the_window_slides() {
        let sketch = RateSketch::new(4, 1 << 12, 60);
        let key = source_key("10.0.0.1".parse().unwrap());
        let allowed = (0..150)
            .filter(|_| matches!(sketch.hit(&key, 100, MINUTE), RateVerdict::Allowed { .. }))
            .count();
        assert_eq!(allowed, 100);
        assert!(matches!(
            sketch.hit(&key, 100, MINUTE + 30_000_000),
            RateVerdict::Limited {
                retry_after_s: 31,
                ..
            }
        ));
        // Half way through the next window, half of the last one still counts.
        let allowed = (0..100)
            .filter(|_| {
                matches!(
                    sketch.hit(&key, 100, 2 * MINUTE + 30_000_000),
                    RateVerdict::Allowed { .. }
                )
            })
            .count();
        assert_eq!(allowed, 50);
        // Two windows later, all forgotten.
        assert_eq!(sketch.estimate(&key, 5 * MINUTE), 0.0);
    }

    // proves: GW-3 (memory bounded under address rotation; the hot source still limited)
    #[test]
    fn rotating_addresses_neither_grow_memory_nor_free_a_hot_source() {
        let sketch = RateSketch::new(4, 1 << 16, 60);
        let bytes = sketch.bytes();
        let hot = source_key("192.0.2.7".parse().unwrap());
        let mut hot_allowed = 0;
        for i in 0u32..200_000 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            sketch.hit(&source_key(ip.into()), 100, MINUTE);
            if i % 1000 == 0 && matches!(sketch.hit(&hot, 100, MINUTE), RateVerdict::Allowed { .. })
            {
                hot_allowed += 1;
            }
        }
        assert_eq!(sketch.bytes(), bytes);
        // 200 tries at a quota of 100: never more than the quota, and within
        // 5 % of it.
        assert!((95..=100).contains(&hot_allowed), "{hot_allowed}");
    }

    // proves: GW-3 (IPv6 by /64)
    #[test]
    fn ipv6_sources_count_by_their_64() {
        let a = source_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = source_key("2001:db8:1:2:ffff::9".parse().unwrap());
        let c = source_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mapped = source_key("::ffff:10.0.0.1".parse().unwrap());
        assert_eq!(mapped, source_key("10.0.0.1".parse().unwrap()));
    }
}
