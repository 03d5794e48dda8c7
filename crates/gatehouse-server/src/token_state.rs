//! What every replica must know about access tokens beyond their signature
//! (TK-5): the tokens revoked before they expire, the clients whose tokens were
//! all revoked, and when the key set changed. Learned from the token events,
//! polled every 250 ms, so a revocation anywhere holds everywhere within a
//! second; a change made on this replica holds here at once. The hot path only
//! reads memory (TK-7).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gatehouse_store::{Store, TokenEventRow};

use crate::clock::Clock;
use crate::signing::KeyRing;

/// Between two polls of the token events.
pub const POLL: Duration = Duration::from_millis(250);
/// Each poll reads again this far back: an event committed late (its
/// transaction began before one already seen) is still read.
const OVERLAP_US: i64 = 5_000_000;
/// Events read per poll at most; more are read on the next.
const BATCH: u32 = 5_000;

#[derive(Default)]
struct Known {
    /// Revoked access tokens: jti → until when it matters (Unix seconds).
    revoked: HashMap<String, i64>,
    /// Clients whose tokens issued at or before this (µs) are refused.
    cuts: HashMap<String, i64>,
    /// The newest event time seen.
    high_water_us: i64,
}

#[derive(Default)]
pub struct TokenState {
    known: Mutex<Known>,
}

impl TokenState {
    fn known(&self) -> MutexGuard<'_, Known> {
        match self.known.lock() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Whether a token (`jti`, of `client_id`, issued at `iat_s`) was revoked.
    pub fn is_revoked(&self, jti: &str, client_id: &str, iat_s: i64) -> bool {
        let known = self.known();
        known.revoked.contains_key(jti)
            || known
                .cuts
                .get(client_id)
                .is_some_and(|cut| iat_s.saturating_mul(1_000_000) <= *cut)
    }

    /// Records a revocation made here, before any poll sees it.
    pub fn revoke_token(&self, jti: &str, not_after_s: i64) {
        self.known().revoked.insert(jti.to_owned(), not_after_s);
    }

    /// Refuses every token of `client_id` issued at or before `at_us`.
    pub fn cut_client(&self, client_id: &str, at_us: i64) {
        let mut known = self.known();
        let cut = known.cuts.entry(client_id.to_owned()).or_insert(at_us);
        *cut = (*cut).max(at_us);
    }

    /// Applies events; returns whether the key set changed.
    fn apply(&self, events: &[TokenEventRow]) -> bool {
        let mut keys_changed = false;
        for e in events {
            match e.kind.as_str() {
                "token" => self.revoke_token(&e.subject, e.not_after_us / 1_000_000),
                "client" => self.cut_client(&e.subject, e.at_us),
                "keys" => keys_changed = true,
                _ => {}
            }
            let mut known = self.known();
            known.high_water_us = known.high_water_us.max(e.at_us);
        }
        keys_changed
    }

    /// Forgets revocations of tokens that have expired anyway.
    fn forget_expired(&self, now_s: i64) {
        self.known().revoked.retain(|_, until| *until > now_s);
    }

    /// Loads what is in force now, then keeps polling; reloads the key ring
    /// when another replica changed the keys.
    pub async fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        keys: Arc<KeyRing>,
    ) -> Result<Arc<TokenState>, gatehouse_store::StoreError> {
        let state = Arc::new(TokenState::default());
        let now_us = clock.now().timestamp_micros();
        let loaded = store.token_events().in_force(now_us).await?;
        state.apply(&loaded);
        {
            let mut known = state.known();
            known.high_water_us = known.high_water_us.max(now_us - OVERLAP_US);
        }
        let weak = Arc::downgrade(&state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut polls: u64 = 0;
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { return };
                let since = state.known().high_water_us - OVERLAP_US;
                // The whole window, a page at a time: a burst of revocations
                // larger than a page is read to its end, never stalled on.
                let mut after_seq = 0;
                let mut keys_changed = false;
                loop {
                    match store.token_events().since(since, after_seq, BATCH).await {
                        Ok(events) => {
                            keys_changed |= state.apply(&events);
                            match events.last() {
                                Some(last) if events.len() == BATCH as usize => {
                                    after_seq = last.seq
                                }
                                _ => break,
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the token events");
                            break;
                        }
                    }
                }
                if keys_changed {
                    let now_s = clock.now().timestamp();
                    if let Err(e) = keys.reload(now_s).await {
                        tracing::error!(error = %e, "cannot reload the signing keys");
                    }
                }
                polls += 1;
                // About once a minute: forget what expired; every ten, prune the table.
                if polls.is_multiple_of(240) {
                    let now = clock.now();
                    state.forget_expired(now.timestamp());
                    if polls.is_multiple_of(2400) {
                        if let Err(e) = store.token_events().prune(now.timestamp_micros()).await {
                            tracing::warn!(error = %e, "cannot prune the token events");
                        }
                    }
                }
            }
        });
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, subject: &str, not_after_us: i64, at_us: i64) -> TokenEventRow {
        TokenEventRow {
            seq: 0,
            kind: kind.into(),
            subject: subject.into(),
            not_after_us,
            at_us,
        }
    }

    #[test]
    fn events_revoke_tokens_and_cut_clients_idempotently() {
        // proves: TK-5
        let s = TokenState::default();
        let events = [
            event("token", "j1", 500_000_000, 100_000_000),
            event("client", "c1", 0, 200_000_000),
            event("keys", "", 0, 250_000_000),
        ];
        assert!(s.apply(&events));
        // Applied twice (overlapping polls): the same state.
        s.apply(&events);
        assert!(s.is_revoked("j1", "c2", 150));
        assert!(!s.is_revoked("j2", "c2", 150));
        // Issued at or before the cut: refused; after: accepted.
        assert!(s.is_revoked("j2", "c1", 200));
        assert!(!s.is_revoked("j2", "c1", 201));
        // A cut never moves back.
        s.cut_client("c1", 100_000_000);
        assert!(s.is_revoked("j2", "c1", 200));
        s.forget_expired(500);
        assert!(!s.is_revoked("j1", "c2", 150));
        assert_eq!(s.known().high_water_us, 250_000_000);
    }
}
