//! The development outbox: keeps the last `capacity` messages instead of sending
//! them, for the embedded console's outbox page and for tests. Bodies are kept
//! (the page shows the codes: nothing was sent anywhere), so the server only
//! builds one when the configuration asks for it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

use crate::config::MAX_OUTBOX_CAPACITY;
use crate::{Channel, Message, MessageKind, Receipt, SendError, Sender};

/// The time the outbox stamps entries with (a parameter, for tests).
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

/// A message the outbox kept, body included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    /// Increasing from 1 over the outbox's life; never reused.
    pub id: u64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub to: String,
    pub channel: Channel,
    pub kind: MessageKind,
    pub subject: String,
    pub body: String,
}

struct Kept {
    next_id: u64,
    entries: VecDeque<OutboxEntry>,
}

/// Keeps the newest `capacity` messages (oldest dropped first).
pub struct Outbox {
    capacity: usize,
    clock: Clock,
    kept: Mutex<Kept>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("capacity", &self.capacity)
            .field("kept", &self.kept().entries.len())
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// `capacity` is held to 1..=10,000.
    pub fn new(capacity: usize, clock: Clock) -> Outbox {
        let capacity = capacity.clamp(1, MAX_OUTBOX_CAPACITY);
        Outbox {
            capacity,
            clock,
            kept: Mutex::new(Kept {
                next_id: 1,
                entries: VecDeque::with_capacity(capacity.min(256)),
            }),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        // A panic while holding the lock cannot leave `Kept` half-changed (each
        // change is one push or pop), so a poisoned lock is still good.
        match self.kept.lock() {
            Ok(kept) => kept,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Oldest first, newest last.
    pub fn list(&self) -> Vec<OutboxEntry> {
        self.kept().entries.iter().cloned().collect()
    }

    /// The newest message to `to`.
    pub fn latest_to(&self, to: &str) -> Option<OutboxEntry> {
        self.kept()
            .entries
            .iter()
            .rev()
            .find(|e| e.to == to)
            .cloned()
    }

    fn keep(&self, message: &Message) -> u64 {
        let at = (self.clock)();
        let mut kept = self.kept();
        let id = kept.next_id;
        kept.next_id += 1;
        while kept.entries.len() >= self.capacity {
            kept.entries.pop_front();
        }
        kept.entries.push_back(OutboxEntry {
            id,
            at,
            to: message.to.clone(),
            channel: message.channel,
            kind: message.kind,
            subject: message.subject.clone(),
            body: message.body.clone(),
        });
        id
    }
}

#[async_trait::async_trait]
impl Sender for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, message: &Message) -> Result<Receipt, SendError> {
        let id = self.keep(message);
        Ok(Receipt {
            provider_id: Some(format!("outbox-{id}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: u32) -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono::Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, second)
            .single()
            .unwrap_or_default()
    }

    fn message(to: &str, body: &str) -> Message {
        Message {
            to: to.into(),
            channel: Channel::Sms,
            subject: "s".into(),
            body: body.into(),
            kind: MessageKind::SignInCode,
        }
    }

    #[test]
    fn the_outbox_stamps_with_its_clock_and_finds_the_newest_per_address() {
        // proves: ID-11
        let outbox = Outbox::new(10, Arc::new(|| at(7)));
        outbox.keep(&message("+447700900123", "one"));
        outbox.keep(&message("+447700900999", "other"));
        outbox.keep(&message("+447700900123", "two"));
        let latest = outbox.latest_to("+447700900123");
        assert_eq!(latest.as_ref().map(|e| e.body.as_str()), Some("two"));
        assert_eq!(latest.map(|e| e.at), Some(at(7)));
        assert_eq!(outbox.latest_to("+447700900000"), None);
    }

    #[test]
    fn capacity_is_held_to_its_bounds() {
        let clock: Clock = Arc::new(|| at(0));
        assert_eq!(Outbox::new(0, clock.clone()).capacity(), 1);
        assert_eq!(
            Outbox::new(usize::MAX, clock).capacity(),
            MAX_OUTBOX_CAPACITY
        );
    }
}
