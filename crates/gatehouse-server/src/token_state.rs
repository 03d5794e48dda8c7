//! What every replica must know about access tokens beyond their signature
//! (TK-5): the tokens revoked before they expire, the clients whose tokens were
//! all revoked, and when the key set changed. Learned from the token events,
//! polled every 250 ms, so a revocation anywhere holds everywhere within a
//! second; a change made on this replica holds here at once. The hot path only
//! reads memory (TK-7).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gatehouse_store::{ClientRow, Store, TokenEventRow};

use crate::clock::Clock;
use crate::signing::KeyRing;

/// Between two polls of the token events.
pub const POLL: Duration = Duration::from_millis(250);
/// Each poll reads again this far back: an event committed late (its
/// transaction began before one already seen) is still read.
const OVERLAP_US: i64 = 5_000_000;
/// Events read per query; a poll reads its whole window, a page at a time.
const BATCH: u32 = 5_000;
/// How long a client read for an OAuth endpoint is reused: a change made on
/// this replica, or a cut made on any, drops it sooner.
const CLIENT_TTL: Duration = Duration::from_secs(1);
/// Clients kept at most (only clients that exist are kept, so callers cannot
/// grow it with made-up ids); past it the cache starts over.
const MAX_CLIENTS: usize = 10_000;

/// Ended sessions share the revoked map with `jti`s (UUIDs, never this form).
fn session_key(sid: &str) -> String {
    format!("sid:{sid}")
}

/// Users cut off share the cuts map with client ids (UUIDs, never this form).
fn user_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

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
    /// Clients as the OAuth endpoints last read them, and when.
    clients: Mutex<HashMap<String, (ClientRow, std::time::Instant)>>,
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

    /// Whether a person's token (`jti`, of session `sid` and user `user_id`,
    /// issued at `iat_s`) was revoked, its session ended, or its user cut off.
    pub fn is_user_token_revoked(&self, jti: &str, sid: &str, user_id: &str, iat_s: i64) -> bool {
        let known = self.known();
        known.revoked.contains_key(jti)
            || known.revoked.contains_key(&session_key(sid))
            // Tokens of seconds wholly before the cut: the cut's own second
            // holds tokens from both sides of it, and every session open at
            // the cut has ended with it (its tokens are refused by `sid`).
            || known
                .cuts
                .get(&user_key(user_id))
                .is_some_and(|cut| iat_s < cut.div_euclid(1_000_000))
    }

    /// Refuses every token of session `sid` (ended here, before any poll).
    pub fn end_session(&self, sid: &str, not_after_s: i64) {
        self.revoke_token(&session_key(sid), not_after_s);
    }

    /// Refuses every token of `user_id` issued at or before `at_us`.
    pub fn cut_user(&self, user_id: &str, at_us: i64) {
        self.cut_client(&user_key(user_id), at_us);
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

    fn clients(&self) -> MutexGuard<'_, HashMap<String, (ClientRow, std::time::Instant)>> {
        match self.clients.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The client `id` as read less than a second ago, if it was.
    pub fn cached_client(&self, id: &str) -> Option<ClientRow> {
        let clients = self.clients();
        clients
            .get(id)
            .filter(|(_, at)| at.elapsed() < CLIENT_TTL)
            .map(|(row, _)| row.clone())
    }

    pub fn remember_client(&self, row: ClientRow) {
        let mut clients = self.clients();
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        clients.insert(row.id.clone(), (row, std::time::Instant::now()));
    }

    /// Drops a changed client, so its next use reads it again.
    pub fn forget_client(&self, id: &str) {
        self.clients().remove(id);
    }

    /// Applies events; returns whether the key set changed.
    fn apply(&self, events: &[TokenEventRow]) -> bool {
        let mut keys_changed = false;
        for e in events {
            match e.kind.as_str() {
                "token" => self.revoke_token(&e.subject, e.not_after_us / 1_000_000),
                "client" => {
                    self.cut_client(&e.subject, e.at_us);
                    self.forget_client(&e.subject);
                }
                "session" => self.end_session(&e.subject, e.not_after_us / 1_000_000),
                "user" => self.cut_user(&e.subject, e.at_us),
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

    fn client(id: &str) -> ClientRow {
        ClientRow {
            id: id.into(),
            name: "c".into(),
            is_confidential: true,
            role: "service".into(),
            grants: "client_credentials".into(),
            scopes: "audit:write".into(),
            redirect_uris: "[]".into(),
            status: "active".into(),
            secret_hash: Some(vec![1; 32]),
            previous_secret_hash: None,
            previous_secret_until_us: None,
            tokens_valid_after_us: 0,
            created_at_us: 0,
            created_by: "t".into(),
            updated_at_us: 0,
        }
    }

    #[test]
    fn a_cut_on_any_replica_drops_the_cached_client_and_the_cache_is_bounded() {
        // proves: TK-5
        let s = TokenState::default();
        s.remember_client(client("c1"));
        assert_eq!(s.cached_client("c1").map(|c| c.id), Some("c1".into()));
        s.apply(&[event("client", "c1", 0, 1)]);
        assert!(s.cached_client("c1").is_none());
        for i in 0..MAX_CLIENTS + 5 {
            s.remember_client(client(&format!("c{i}")));
        }
        assert!(s.clients().len() <= MAX_CLIENTS);
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
