//! Lockout arithmetic and the per-source throttle (ID-7).

use std::net::IpAddr;
use std::time::Duration;

use gatehouse_identity::lockout::{
    source_key, AccountFailures, LockoutRules, SourceThrottle, DEFAULT_PER_SOURCE_PER_MINUTE,
    MAX_LOCK_SECONDS,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const T0: i64 = 1_700_000_000;
const HOUR: i64 = 3600;

fn fail(times: u32, from: AccountFailures, now: i64) -> AccountFailures {
    let rules = LockoutRules::default();
    (0..times).fold(from, |state, _| state.record_failure(&rules, now))
}

fn clamped(rules: &LockoutRules) -> (usize, i64) {
    (
        rules.max_failures_per_hour.clamp(1, 100) as usize,
        rules.lock_seconds.clamp(1, MAX_LOCK_SECONDS),
    )
}

/// The most failures any rolling hour [t, t + 3600) holds, `times` sorted.
fn most_in_any_hour(times: &[i64]) -> usize {
    let mut most = 0;
    let mut end = 0;
    for (start, t) in times.iter().enumerate() {
        while end < times.len() && times[end] < t + HOUR {
            end += 1;
        }
        most = most.max(end - start);
    }
    most
}

#[test]
fn the_hundredth_failure_locks_and_the_ninety_ninth_does_not() {
    // proves: ID-7 (≤100 failed attempts per account per hour)
    let rules = LockoutRules::default();
    rules.validate().unwrap();
    let state = fail(99, AccountFailures::default(), T0);
    assert_eq!(state.recent, vec![T0; 99]);
    assert!(!state.is_locked(T0));
    let state = state.record_failure(&rules, T0 + 10);
    assert!(state.is_locked(T0 + 10));
    assert_eq!(state.recent.len(), 100);
    assert_eq!(
        state.locked_until,
        Some(T0 + HOUR),
        "until the oldest leaves the hour, later than 900 s after the 100th"
    );
}

#[test]
fn the_lock_ends_exactly_when_due() {
    // proves: ID-7 (a lock is never permanent)
    let burst = fail(100, AccountFailures::default(), T0);
    assert!(burst.is_locked(T0 + HOUR - 1));
    assert!(!burst.is_locked(T0 + HOUR));
    assert!(!burst.is_locked(i64::MAX));
    // Spread over the hour, the oldest has left it before lock_seconds end.
    let rules = LockoutRules::default();
    let spread = (0..100).fold(AccountFailures::default(), |s, i| {
        s.record_failure(&rules, T0 + i * 36)
    });
    assert_eq!(spread.locked_until, Some(T0 + 99 * 36 + 900));
    assert!(spread.is_locked(T0 + 99 * 36 + 899));
    assert!(!spread.is_locked(T0 + 99 * 36 + 900));
}

#[test]
fn failures_during_a_lock_do_not_extend_it() {
    // proves: ID-7 (an attacker cannot keep a victim locked by hammering)
    let rules = LockoutRules::default();
    let locked = fail(100, AccountFailures::default(), T0);
    let mut state = locked.clone();
    for second in 0..HOUR {
        state = state.record_failure(&rules, T0 + second);
    }
    assert_eq!(state.locked_until, locked.locked_until);
    assert_eq!(state, locked, "the 101st…3700th change nothing");
    // The same for a lock set by failures spread over the hour.
    let spread = (0..100).fold(AccountFailures::default(), |s, i| {
        s.record_failure(&rules, T0 + i * 36)
    });
    let until = spread.locked_until.unwrap();
    let hammered =
        (T0 + 99 * 36..until).fold(spread.clone(), |s, now| s.record_failure(&rules, now));
    assert_eq!(hammered, spread);
}

#[test]
fn after_a_lock_each_failure_locks_until_the_next_oldest_leaves_the_hour() {
    // proves: ID-7 (one more failure each time one leaves the hour)
    let rules = LockoutRules {
        max_failures_per_hour: 100,
        lock_seconds: 1,
    };
    let mut state = (0..100).fold(AccountFailures::default(), |s, i| {
        s.record_failure(&rules, T0 + i * 36)
    });
    assert_eq!(
        state.locked_until,
        Some(T0 + HOUR),
        "the first leaves at 3600"
    );
    let mut allowed = Vec::new();
    for now in T0 + 99 * 36..T0 + 2 * HOUR {
        if !state.is_locked(now) {
            allowed.push(now - T0);
            state = state.record_failure(&rules, now);
            assert!(state.is_locked(now));
        }
    }
    // Each locks until the next oldest (36 s later) leaves the hour.
    let expected: Vec<i64> = (0..100).map(|i| HOUR + i * 36).collect();
    assert_eq!(allowed, expected);
    assert_eq!(state.recent.len(), 100);
}

#[test]
fn failures_leave_the_count_an_hour_after_they_happen() {
    // proves: ID-7 (the count is per rolling hour, not for ever)
    let rules = LockoutRules::default();
    let state = fail(99, AccountFailures::default(), T0);
    let still = state.record_failure(&rules, T0 + HOUR - 1);
    assert!(
        still.is_locked(T0 + HOUR - 1),
        "inside the hour: the 100th locks"
    );
    assert_eq!(still.locked_until, Some(T0 + HOUR - 1 + 900));
    let fresh = state.record_failure(&rules, T0 + HOUR);
    assert_eq!(fresh.recent, vec![T0 + HOUR]);
    assert!(!fresh.is_locked(T0 + HOUR));
    // After a lock, the failures that left the hour meanwhile are dropped.
    let locked = state.record_failure(&rules, T0 + 3500);
    assert_eq!(locked.locked_until, Some(T0 + 4400));
    let after = locked.record_failure(&rules, T0 + 4400);
    assert_eq!(after.recent, vec![T0 + 3500, T0 + 4400]);
    assert_eq!(after.locked_until, None);
    // One a minute: the hour's count slides, it never restarts at zero.
    let steady = (0..200).fold(AccountFailures::default(), |s, i| {
        s.record_failure(&rules, T0 + i * 60)
    });
    assert_eq!(steady.recent.len(), 60);
    assert_eq!(steady.recent.first(), Some(&(T0 + 140 * 60)));
    assert!(!steady.is_locked(T0 + 199 * 60));
}

#[test]
fn ninety_nine_at_the_end_of_an_hour_and_a_hundred_after_cannot_all_count() {
    // proves: ID-7 (no fixed-window gap: 99 + 100 within seconds is refused)
    let rules = LockoutRules::default();
    let late = (0..99).fold(AccountFailures::default(), |s, i| {
        s.record_failure(&rules, T0 + HOUR - 99 + i)
    });
    assert!(!late.is_locked(T0 + HOUR));
    let locked = late.record_failure(&rules, T0 + HOUR);
    assert!(locked.is_locked(T0 + HOUR));
    assert_eq!(
        locked.locked_until,
        Some(T0 + HOUR - 99 + HOUR),
        "until the oldest of the 99 leaves the hour"
    );
    let mut state = locked;
    let mut counted = 0;
    for _ in 0..99 {
        for now in T0 + HOUR + 1..T0 + HOUR + 60 {
            if !state.is_locked(now) {
                counted += 1;
            }
            state = state.record_failure(&rules, now);
        }
    }
    assert_eq!(counted, 0, "none of the next 99 in the following minute");
}

#[test]
fn an_attacker_retrying_whenever_a_lock_ends_never_gets_more_than_the_maximum_into_any_hour() {
    // proves: ID-7 (≤100 failures in every rolling hour, not per window)
    let grid = [
        (100, 900),
        (100, 1),
        (100, 3599),
        (100, 3601),
        (100, 86_400),
        (5, 60),
        (1, 1),
        (1000, 0), // clamped to 100 and 1 s
    ];
    for (max_failures_per_hour, lock_seconds) in grid {
        let rules = LockoutRules {
            max_failures_per_hour,
            lock_seconds,
        };
        let (max, lock) = clamped(&rules);
        // Per second: one attempt, or as many as are let through.
        for burst in [false, true] {
            // max - 1 failures at the very end of an hour, not locked.
            let prefill = i64::try_from(max - 1).unwrap();
            let mut state = AccountFailures::default();
            let mut counted: Vec<i64> = Vec::new();
            for i in 0..prefill {
                let now = T0 + HOUR - prefill + i;
                assert!(!state.is_locked(now));
                state = state.record_failure(&rules, now);
                counted.push(now);
            }
            assert!(!state.is_locked(T0 + HOUR));
            // Then three hours at 1 s steps, retrying the instant a lock ends.
            for now in T0 + HOUR..T0 + 4 * HOUR {
                for _ in 0..if burst { 1000 } else { 1 } {
                    if state.is_locked(now) {
                        break;
                    }
                    counted.push(now);
                    state = state.record_failure(&rules, now);
                    assert!(state.recent.len() <= max, "{rules:?}");
                    assert!(state.recent.windows(2).all(|w| w[0] <= w[1]));
                    if let Some(until) = state.locked_until {
                        assert!(until >= now + lock, "{rules:?}: at least lock_seconds");
                        assert!(until <= now + lock.max(HOUR), "{rules:?}: bounded");
                    }
                }
            }
            let most = most_in_any_hour(&counted);
            assert!(most <= max, "{rules:?} burst={burst}: {most} in one hour");
            // Every lock ended: the attacker, retrying each second, was never
            // refused for longer than the longer of lock_seconds and an hour.
            let longest_wait = counted.windows(2).map(|w| w[1] - w[0]).max();
            assert!(
                longest_wait <= Some(lock.max(HOUR)),
                "{rules:?} burst={burst}"
            );
            if lock <= HOUR {
                let last_hour = counted.iter().filter(|t| **t >= T0 + 3 * HOUR).count();
                assert!(last_hour >= 1, "{rules:?} burst={burst}");
            }
            if burst {
                assert_eq!(most, max, "{rules:?}: the limit is reached, not undercut");
            }
        }
    }
}

#[test]
fn the_lock_always_ends() {
    // proves: ID-7 (no permanent lock, whatever the rules or the clock)
    for max_failures_per_hour in [0, 1, 5, 100, 1000, u32::MAX] {
        for lock_seconds in [i64::MIN, -1, 0, 1, 60, 900, 3600, 86_400, i64::MAX] {
            let rules = LockoutRules {
                max_failures_per_hour,
                lock_seconds,
            };
            let (max, lock) = clamped(&rules);
            for now in [T0, 0, -T0, i64::MAX - 10, i64::MIN] {
                let state = (0..max).fold(AccountFailures::default(), |s, _| {
                    s.record_failure(&rules, now)
                });
                let until = state.locked_until.unwrap();
                assert!(until > now || now == i64::MAX, "{rules:?} {now}");
                assert!(until <= now.saturating_add(lock.max(HOUR)), "{rules:?}");
                assert!(!state.is_locked(until));
                assert!(!state.is_locked(i64::MAX));
            }
        }
    }
}

#[test]
fn a_clock_that_goes_backwards_neither_panics_nor_unlocks() {
    // proves: ID-7 (the count and the lock survive a clock step back)
    let rules = LockoutRules::default();
    let half = fail(50, AccountFailures::default(), T0 + 1000);
    let back = fail(49, half, T0);
    assert_eq!(
        back.recent,
        vec![T0 + 1000; 99],
        "counted at the newest time"
    );
    assert!(!back.is_locked(T0));
    let locked = back.record_failure(&rules, T0 - 5000);
    assert!(locked.is_locked(T0 - 5000));
    assert_eq!(locked.recent, vec![T0 + 1000; 100]);
    // The lock is bounded from the clock's now (an hour), not from the
    // newest time kept, so a step back cannot make it last for years.
    assert_eq!(locked.locked_until, Some(T0 - 5000 + HOUR));
    // Stepping back during a lock changes nothing and does not end it.
    assert_eq!(locked.record_failure(&rules, T0 - 2 * HOUR), locked);
    assert!(locked.is_locked(i64::MIN));
    // Once it ends, the count is still at the maximum: each failure locks
    // again, so the clock step gains the attacker nothing.
    let again = locked.record_failure(&rules, T0 - 5000 + HOUR);
    assert_eq!(again.locked_until, Some(T0 - 5000 + 2 * HOUR));
    assert_eq!(again.recent, vec![T0 + 1000; 100]);
    // Times stored by a clock that was far ahead: bounded from the real now.
    let ahead = AccountFailures {
        recent: vec![i64::MAX; 100],
        locked_until: None,
    };
    let state = ahead.record_failure(&rules, T0);
    assert_eq!(state.locked_until, Some(T0 + HOUR));
    assert!(!state.is_locked(T0 + HOUR));
    assert_eq!(state.recent.len(), 100);
}

#[test]
fn recent_never_holds_more_than_the_maximum() {
    // proves: ID-7 (the per-account state is bounded)
    let rules = LockoutRules::default();
    let mut state = AccountFailures::default();
    for now in T0..T0 + 2 * HOUR {
        state = state.record_failure(&rules, now);
        assert!(state.recent.len() <= 100);
    }
    // A stored state out of order and too long is sorted and cut on the next
    // failure.
    let stored = AccountFailures {
        recent: (0..500).map(|i| T0 - i).collect(),
        locked_until: None,
    };
    let state = stored.record_failure(&rules, T0);
    assert_eq!(state.recent.len(), 100);
    assert!(state.recent.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(state.recent.first(), Some(&(T0 - 98)));
    assert_eq!(state.locked_until, Some(T0 - 98 + HOUR));
    // A deployment that lowers its maximum keeps only the newest that many.
    let stricter = LockoutRules {
        max_failures_per_hour: 5,
        lock_seconds: 60,
    };
    let lowered = fail(50, AccountFailures::default(), T0).record_failure(&stricter, T0 + 1);
    assert_eq!(lowered.recent, vec![T0, T0, T0, T0, T0 + 1]);
    assert!(lowered.is_locked(T0 + 1));
    // The serialized form is the list itself.
    let json = serde_json::to_value(&lowered).unwrap();
    assert_eq!(json["recent"].as_array().map(Vec::len), Some(5));
    let back: AccountFailures = serde_json::from_value(json).unwrap();
    assert_eq!(back, lowered);
}

#[test]
fn success_clears_the_failures_but_not_a_lock() {
    // proves: ID-7 (a right guess during a lock does not end it)
    let state = fail(50, AccountFailures::default(), T0).record_success();
    assert_eq!(state, AccountFailures::default());
    let after = fail(99, state, T0 + 1);
    assert!(!after.is_locked(T0 + 1), "the count restarted at zero");
    let locked = fail(100, AccountFailures::default(), T0);
    let guessed = locked.record_success();
    assert!(guessed.is_locked(T0 + 1));
    assert_eq!(guessed.locked_until, locked.locked_until);
    assert!(guessed.recent.is_empty());
}

#[test]
fn an_admin_unlock_ends_the_lock() {
    // proves: ID-7 (administrators end a lock early)
    let locked = fail(100, AccountFailures::default(), T0);
    let unlocked = locked.unlock();
    assert!(!unlocked.is_locked(T0 + 1));
    assert_eq!(unlocked, AccountFailures::default());
}

#[test]
fn a_stricter_deployment_locks_sooner_and_bad_rules_are_refused() {
    // proves: ID-7 (the limit is at most 100; locks are bounded)
    let rules = LockoutRules {
        max_failures_per_hour: 5,
        lock_seconds: 60,
    };
    rules.validate().unwrap();
    let state = (0..5).fold(AccountFailures::default(), |s, _| {
        s.record_failure(&rules, T0)
    });
    assert_eq!(
        state.locked_until,
        Some(T0 + HOUR),
        "5 at once: for the hour"
    );
    let spread = [0, 3560, 3570, 3580, 3590]
        .iter()
        .fold(AccountFailures::default(), |s, t| {
            s.record_failure(&rules, T0 + t)
        });
    assert_eq!(spread.locked_until, Some(T0 + 3590 + 60), "lock_seconds");
    for (max, lock) in [(0, 900), (101, 900), (100, 0), (100, -1), (100, 86_401)] {
        let rules = LockoutRules {
            max_failures_per_hour: max,
            lock_seconds: lock,
        };
        assert!(rules.validate().is_err(), "{max} {lock}");
    }
    // Clamped even when not validated: 1,000 per hour still locks at 100.
    let lax = LockoutRules {
        max_failures_per_hour: 1000,
        lock_seconds: 900,
    };
    let state = (0..100).fold(AccountFailures::default(), |s, _| {
        s.record_failure(&lax, T0)
    });
    assert!(state.is_locked(T0));
}

#[test]
fn delays_grow_with_the_failures_of_the_last_hour() {
    // proves: ID-7 (throttling before the lock)
    let expected = [0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000];
    for (failures, ms) in expected.iter().enumerate() {
        let state = AccountFailures {
            recent: vec![T0; failures],
            ..AccountFailures::default()
        };
        assert_eq!(
            state.delay(),
            Duration::from_millis(*ms),
            "{failures} failures"
        );
    }
    let many = AccountFailures {
        recent: vec![T0; 100_000],
        ..AccountFailures::default()
    };
    assert_eq!(many.delay(), Duration::from_secs(4));
    assert_eq!(
        fail(3, AccountFailures::default(), T0)
            .record_success()
            .delay(),
        Duration::ZERO
    );
    // Failures that left the hour no longer slow the next attempt.
    let rules = LockoutRules::default();
    let old = fail(8, AccountFailures::default(), T0);
    assert_eq!(old.delay(), Duration::from_secs(4));
    let later = old.record_failure(&rules, T0 + HOUR);
    assert_eq!(later.delay(), Duration::ZERO);
}

#[test]
fn the_source_throttle_counts_per_source_per_minute() {
    // proves: ID-7 (per-source throttling: more than 30 in a minute)
    let mut rng = StdRng::seed_from_u64(1);
    let mut throttle = SourceThrottle::new(DEFAULT_PER_SOURCE_PER_MINUTE, &mut rng).unwrap();
    let attacker = source_key("203.0.113.7".parse().unwrap());
    let neighbour = source_key("203.0.113.8".parse().unwrap());
    let start = 1_700_000_040; // the start of a minute
    for _ in 0..30 {
        throttle.record_failure(&attacker, start + 5);
    }
    assert!(
        !throttle.is_throttled(&attacker, start + 5),
        "30 is allowed"
    );
    throttle.record_failure(&attacker, start + 5);
    assert!(
        throttle.is_throttled(&attacker, start + 5),
        "the 31st is not"
    );
    assert!(!throttle.is_throttled(&neighbour, start + 5));
    // Next minute, the previous one still counts for what is left of it.
    assert!(throttle.is_throttled(&attacker, start + 60));
    assert!(!throttle.is_throttled(&attacker, start + 60 + 59));
    assert!(!throttle.is_throttled(&attacker, start + 120));
    throttle.record_failure(&neighbour, start + 130);
    assert!(
        !throttle.is_throttled(&attacker, start + 130),
        "old minutes dropped"
    );
}

#[test]
fn ipv6_sources_are_counted_by_their_64() {
    // proves: ID-7 (rotating through one's own /64 does not escape)
    let a = source_key("2001:db8:1:2:aaaa::1".parse().unwrap());
    let b = source_key("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap());
    let c = source_key("2001:db8:1:3::1".parse().unwrap());
    assert_eq!(a, b);
    assert_ne!(a, c);
    let v4: IpAddr = "192.0.2.1".parse().unwrap();
    let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(source_key(v4), source_key(mapped));
    assert_ne!(source_key(v4), source_key("192.0.2.2".parse().unwrap()));
    let mut throttle = SourceThrottle::new(30, &mut StdRng::seed_from_u64(2)).unwrap();
    for i in 0..31u16 {
        let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
        throttle.record_failure(&source_key(ip), T0);
    }
    assert!(throttle.is_throttled(&a, T0));
}

#[test]
fn the_source_throttle_memory_is_bounded() {
    // proves: ID-7 (a flood of distinct sources cannot exhaust memory)
    let mut throttle = SourceThrottle::new(30, &mut StdRng::seed_from_u64(3)).unwrap();
    let before = throttle.memory_bytes();
    assert!(before < 200 * 1024, "{before} bytes");
    for i in 0..1_000_000u32 {
        throttle.record_failure(&i.to_be_bytes(), T0 + i64::from(i / 20_000));
    }
    assert_eq!(throttle.memory_bytes(), before);
    assert!(SourceThrottle::new(0, &mut StdRng::seed_from_u64(4)).is_err());
}

#[test]
fn the_source_throttle_only_overestimates() {
    // proves: ID-7 (collisions never let a source over the limit through)
    let mut throttle = SourceThrottle::new(30, &mut StdRng::seed_from_u64(5)).unwrap();
    for i in 0..5_000u32 {
        throttle.record_failure(&i.to_be_bytes(), T0);
    }
    for i in 0..5_000u32 {
        let source = i.to_be_bytes();
        if i % 100 == 0 {
            for _ in 0..31 {
                throttle.record_failure(&source, T0);
            }
            assert!(throttle.is_throttled(&source, T0), "source {i}");
        }
    }
    // 5,000 single failures spread over 4 × 4096 cells: almost nobody is
    // throttled by collisions alone.
    let innocent = (10_000..11_000u32)
        .filter(|i| throttle.is_throttled(&i.to_be_bytes(), T0))
        .count();
    assert_eq!(innocent, 0);
}
