//! Brute force (ID-7): the arithmetic of per-account lockout and delays, and a
//! per-source failure counter in bounded memory. Nothing here is stored or
//! timed: the caller keeps an [`AccountFailures`] per account and passes `now`.
//!
//! Per account, the times of the failures of the last hour are kept (at most
//! the maximum, itself at most 100), so the limit holds for every rolling
//! hour, not per fixed window: a fixed window would let 99 failures at the end
//! of one window and 100 at the start of the next through within seconds.
//! When a failure brings the failures of the last hour to the maximum, the
//! account is locked until the later of `lock_seconds` after that failure and
//! the moment the oldest of them is an hour old. That second bound is what
//! makes the limit hold: if some hour held more failures than the maximum,
//! the one that was the maximum-th in it would have found the maximum within
//! the hour and locked the account until the first in it was an hour old,
//! past the end of that hour, so no later one in it could have been counted.
//! A burst of the maximum therefore locks for the hour; failures spread over
//! the hour lock for `lock_seconds`, and after that each failure locks again
//! until the next oldest leaves the hour.
//!
//! Failures while it is locked change nothing (the caller refuses those
//! attempts before checking anything, and an attacker cannot keep a lock
//! alive by hammering it), and every lock ends by itself, at most the longer
//! of `lock_seconds` and an hour after the failure that set it. A successful
//! sign-in clears the failures (not a lock).
//!
//! No enumeration: the caller must keep, apply and answer the same for an
//! identifier that names no account (an `AccountFailures` keyed by the
//! normalised identifier), and a locked account answers exactly like a wrong
//! password, so neither the lock, the delay nor the message says whether an
//! account exists.

use std::time::Duration;

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::IdentityError;

/// The rolling hour failures are counted over.
pub const WINDOW_SECONDS: i64 = 3600;
/// NIST SP 800-63B §5.2.2: no more than 100 failed attempts.
pub const MAX_FAILURES_PER_HOUR: u32 = 100;
/// The longest lock a deployment may set: a lock is never permanent, and one
/// that lasts days is a denial of service anyone can cause.
pub const MAX_LOCK_SECONDS: i64 = 24 * 3600;
/// Failures answered without delay, then the delay doubles from the base.
const FREE_FAILURES: u32 = 3;
const BASE_DELAY_MS: u64 = 250;
const MAX_DELAY_MS: u64 = 4000;

/// A deployment's lockout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutRules {
    pub max_failures_per_hour: u32,
    pub lock_seconds: i64,
}

impl Default for LockoutRules {
    fn default() -> Self {
        Self {
            max_failures_per_hour: MAX_FAILURES_PER_HOUR,
            lock_seconds: 900,
        }
    }
}

impl LockoutRules {
    pub fn validate(&self) -> Result<(), IdentityError> {
        if !(1..=MAX_FAILURES_PER_HOUR).contains(&self.max_failures_per_hour) {
            return Err(IdentityError::invalid(
                "max_failures_per_hour",
                "must be 1 to 100",
            ));
        }
        if !(1..=MAX_LOCK_SECONDS).contains(&self.lock_seconds) {
            return Err(IdentityError::invalid("lock_seconds", "must be 1 to 86400"));
        }
        Ok(())
    }
}

/// What the store keeps per account. The default is an account with no
/// failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountFailures {
    /// The Unix-second times of the failures of the last hour, oldest first,
    /// at most `max_failures_per_hour` of them (older ones are dropped as they
    /// leave the hour or when more than the maximum would be kept).
    pub recent: Vec<i64>,
    pub locked_until: Option<i64>,
}

impl AccountFailures {
    /// Whether attempts are refused at `now`. The lock ends exactly at
    /// `locked_until`.
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }

    /// The state after a failed attempt at `now`.
    pub fn record_failure(&self, rules: &LockoutRules, now: i64) -> AccountFailures {
        if self.is_locked(now) {
            return self.clone();
        }
        // Rules out of range are clamped, never trusted: a maximum of 0 or
        // 10,000 would disable the limit, a lock of years make it permanent.
        let max = rules.max_failures_per_hour.clamp(1, MAX_FAILURES_PER_HOUR) as usize;
        let lock = rules.lock_seconds.clamp(1, MAX_LOCK_SECONDS);
        // Whatever was stored, the times are kept in order.
        let mut recent = self.recent.clone();
        recent.sort_unstable();
        // A clock that went backwards counts the failure at the newest time
        // kept, so no failure leaves the hour early and the order holds.
        let at = recent.last().map_or(now, |newest| now.max(*newest));
        // Kept while less than an hour old (the hour before `at`, at included).
        recent.retain(|t| at.saturating_sub(*t) < WINDOW_SECONDS);
        recent.push(at);
        let excess = recent.len().saturating_sub(max);
        recent.drain(..excess);
        let locked_until = if recent.len() >= max {
            // Until the oldest of the maximum leaves the hour, so that no
            // rolling hour ever holds more than the maximum; at least
            // `lock_seconds`. Also at most the longer of the two from `now`
            // (which only binds after the clock went backwards), so that
            // times stored by a clock that was far ahead cannot make a lock
            // permanent: each lock then lets one failure through, and the
            // count stays at the maximum until those times are an hour old.
            let oldest = recent.first().map_or(at, |t| *t);
            let until = at
                .saturating_add(lock)
                .max(oldest.saturating_add(WINDOW_SECONDS));
            Some(until.min(now.saturating_add(lock.max(WINDOW_SECONDS))))
        } else {
            // Not locked at `now`: any lock there was has ended.
            None
        };
        AccountFailures {
            recent,
            locked_until,
        }
    }

    /// The state after a successful sign-in: the failures are cleared. A lock
    /// is kept (a caller that checked a password during one must not have the
    /// right guess end it); only [`AccountFailures::unlock`] ends one early.
    pub fn record_success(&self) -> AccountFailures {
        AccountFailures {
            locked_until: self.locked_until,
            ..AccountFailures::default()
        }
    }

    /// An administrator ends the lock and clears the failures.
    pub fn unlock(&self) -> AccountFailures {
        AccountFailures::default()
    }

    /// How long to wait before answering the next attempt, by the failures of
    /// the last hour: nothing for the first three, then 250 ms doubling to at
    /// most 4 s. Applied before answering, whatever the answer.
    pub fn delay(&self) -> Duration {
        let failures = u32::try_from(self.recent.len()).unwrap_or(u32::MAX);
        let Some(extra) = failures.checked_sub(FREE_FAILURES + 1) else {
            return Duration::ZERO;
        };
        let ms = BASE_DELAY_MS
            .checked_shl(extra)
            .filter(|ms| *ms <= MAX_DELAY_MS)
            .unwrap_or(MAX_DELAY_MS);
        Duration::from_millis(ms)
    }
}

/// Failures allowed per source per minute by default.
pub const DEFAULT_PER_SOURCE_PER_MINUTE: u32 = 30;
const DEPTH: usize = 4;
const WIDTH: usize = 4096;
const MINUTE: i64 = 60;

/// Failures per source (an IP address; a whole IPv6 /64, which one host
/// commonly has) over the last minute, in fixed memory whatever the number of
/// sources: a count-min sketch of 4 rows × 4096 counters for the current
/// minute and one for the previous, the last minute estimated by weighting
/// the previous one by how much of it is still inside the last 60 seconds.
///
/// A count-min sketch only overestimates: a source over the limit is always
/// throttled, and a flood from very many sources at once saturates it so that
/// innocent sources are throttled too (it fails closed, where a bounded map
/// would evict the attacker and fail open). Its hashes are keyed with random
/// bytes, so nobody can pick sources that collide with a victim's.
pub struct SourceThrottle {
    per_minute: u32,
    key: [u8; 32],
    minute: i64,
    current: Box<[u16]>,
    previous: Box<[u16]>,
}

impl std::fmt::Debug for SourceThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceThrottle")
            .field("per_minute", &self.per_minute)
            .field("minute", &self.minute)
            .finish_non_exhaustive()
    }
}

impl SourceThrottle {
    /// `per_minute`: failures a source may make in a minute (1 to 10,000).
    pub fn new(
        per_minute: u32,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, IdentityError> {
        if !(1..=10_000).contains(&per_minute) {
            return Err(IdentityError::invalid(
                "per_source_per_minute",
                "must be 1 to 10000",
            ));
        }
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Ok(Self {
            per_minute,
            key,
            minute: i64::MIN,
            current: vec![0; DEPTH * WIDTH].into_boxed_slice(),
            previous: vec![0; DEPTH * WIDTH].into_boxed_slice(),
        })
    }

    /// Counts a failed attempt from `source` at `now`.
    pub fn record_failure(&mut self, source: &[u8], now: i64) {
        self.advance(now);
        for cell in self.cells(source) {
            if let Some(count) = self.current.get_mut(cell) {
                *count = count.saturating_add(1);
            }
        }
    }

    /// Whether `source` made more than the allowed failures in the last minute.
    pub fn is_throttled(&self, source: &[u8], now: i64) -> bool {
        let minute = now.div_euclid(MINUTE);
        let into = now.rem_euclid(MINUTE);
        let cells = self.cells(source);
        let estimate = |counts: &[u16]| {
            cells
                .iter()
                .map(|c| counts.get(*c).copied().unwrap_or(0))
                .min()
                .map_or(0, i64::from)
        };
        // Scaled by 60 to stay in integers: the previous minute counts for
        // the part of it still inside the last 60 seconds.
        let scaled = if minute <= self.minute {
            estimate(&self.current) * MINUTE + estimate(&self.previous) * (MINUTE - into)
        } else if minute == self.minute.saturating_add(1) {
            estimate(&self.current) * (MINUTE - into)
        } else {
            0
        };
        scaled > i64::from(self.per_minute) * MINUTE
    }

    /// The memory it holds: the same for one source or a million.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + std::mem::size_of_val(&*self.current)
            + std::mem::size_of_val(&*self.previous)
    }

    fn advance(&mut self, now: i64) {
        let minute = now.div_euclid(MINUTE);
        // A clock that went backwards counts into the current minute.
        if minute <= self.minute {
            return;
        }
        if minute == self.minute.saturating_add(1) {
            std::mem::swap(&mut self.current, &mut self.previous);
        } else {
            self.previous.fill(0);
        }
        self.current.fill(0);
        self.minute = minute;
    }

    fn cells(&self, source: &[u8]) -> [usize; DEPTH] {
        let digest = Sha256::new()
            .chain_update(self.key)
            .chain_update(source)
            .finalize();
        let mut cells = [0usize; DEPTH];
        for (row, cell) in cells.iter_mut().enumerate() {
            let at = row * 2;
            let bits = u16::from_le_bytes([digest[at], digest[at + 1]]) as usize;
            *cell = row * WIDTH + bits % WIDTH;
        }
        cells
    }
}

/// The key a source is counted under: an IPv4 address whole (as its IPv6
/// mapped form), an IPv6 address by its /64, since one host or household
/// commonly holds a whole /64 and could otherwise rotate through it.
pub fn source_key(ip: std::net::IpAddr) -> [u8; 16] {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => {
            let mut key = v6.octets();
            key[8..].fill(0);
            key
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_rules_are_clamped_not_trusted() {
        // proves: ID-7 (the limit holds even if validation was skipped)
        let rules = LockoutRules {
            max_failures_per_hour: 0,
            lock_seconds: i64::MAX,
        };
        assert!(rules.validate().is_err());
        let state = AccountFailures::default().record_failure(&rules, 0);
        assert_eq!(state.locked_until, Some(MAX_LOCK_SECONDS));
    }

    #[test]
    fn rows_use_separate_ranges() {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let throttle = SourceThrottle::new(30, &mut rng).unwrap();
        for (row, cell) in throttle.cells(b"source").iter().enumerate() {
            assert!((row * WIDTH..(row + 1) * WIDTH).contains(cell));
        }
    }
}
