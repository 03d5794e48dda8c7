//! Gatehouse's message senders (ID-11): one-time codes and notices go out by
//! email or SMS through a [`Sender`]. The development [`Outbox`] keeps what it
//! was given instead of sending it, for the embedded console and for tests;
//! it is off unless configured.
//!
//! It must never: put a message's body (it carries one-time codes) or a
//! provider's secret into `Debug`, an error or a log; send anything in clear
//! text off the host.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    SignInCode,
    SignUpCode,
    AccountExists,
    FactorChanged,
    Notice,
}

/// One message to one address (an email address or an E.164 number, already
/// validated).
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub channel: Channel,
    pub subject: String,
    pub body: String,
    pub kind: MessageKind,
}

/// `s…@example.com`, `…23`: enough to tell messages apart in a log.
fn mask(to: &str) -> String {
    match to.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => {
            let tail: String = to
                .chars()
                .rev()
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        }
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("to", &mask(&self.to))
            .field("channel", &self.channel)
            .field("kind", &self.kind)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// What a provider said it did with a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// The provider's id for the message, when it gives one.
    pub provider_id: Option<String>,
}

/// Why a message was not sent. Reasons never hold the message's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider refused this message for good (a 5xx SMTP reply, an HTTP
    /// 4xx other than 429).
    #[error("the message was refused: {reason}")]
    Refused { reason: String },
    /// The provider could not be reached or asked to retry: retryable.
    #[error("the sender is unavailable: {reason}")]
    Unavailable { reason: String },
    #[error("the sender is misconfigured: {reason}")]
    Misconfigured { reason: String },
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Unavailable { .. })
    }

    /// The code the caller's record keeps.
    pub fn code(&self) -> &'static str {
        match self {
            SendError::Refused { .. } => "message_refused",
            SendError::Unavailable { .. } => "sender_unavailable",
            SendError::Misconfigured { .. } => "sender_misconfigured",
        }
    }
}

/// Something that sends messages of one channel.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    fn name(&self) -> &'static str;
    async fn send(&self, message: &Message) -> Result<Receipt, SendError>;
}

/// A message the outbox kept (the development outbox page shows them, body
/// included: they were never sent anywhere).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: u64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub to: String,
    pub channel: Channel,
    pub kind: MessageKind,
    pub subject: String,
    pub body: String,
}

/// The time the outbox stamps entries with (a parameter, for tests).
pub type Clock = Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;

struct Kept {
    next_id: u64,
    entries: VecDeque<OutboxEntry>,
}

/// Keeps the last `capacity` messages instead of sending them.
pub struct Outbox {
    capacity: usize,
    clock: Clock,
    kept: Mutex<Kept>,
}

impl Outbox {
    pub fn new(capacity: usize, clock: Clock) -> Outbox {
        Outbox {
            capacity: capacity.max(1),
            clock,
            kept: Mutex::new(Kept {
                next_id: 1,
                entries: VecDeque::new(),
            }),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        match self.kept.lock() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Oldest first.
    pub fn list(&self) -> Vec<OutboxEntry> {
        self.kept().entries.iter().cloned().collect()
    }

    pub fn latest_to(&self, to: &str) -> Option<OutboxEntry> {
        self.kept()
            .entries
            .iter()
            .rev()
            .find(|e| e.to == to)
            .cloned()
    }
}

#[async_trait::async_trait]
impl Sender for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, message: &Message) -> Result<Receipt, SendError> {
        let at = (self.clock)();
        let mut kept = self.kept();
        let id = kept.next_id;
        kept.next_id += 1;
        if kept.entries.len() >= self.capacity {
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
        Ok(Receipt {
            provider_id: Some(format!("outbox-{id}")),
        })
    }
}

/// The `[messaging]` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendersConfig {
    /// Keep messages in the server's outbox instead of sending them, for
    /// development and the embedded console; off unless set.
    pub outbox: bool,
    /// Messages the outbox keeps (1 to 10,000).
    pub outbox_capacity: usize,
}

impl Default for SendersConfig {
    fn default() -> Self {
        SendersConfig {
            outbox: false,
            outbox_capacity: 200,
        }
    }
}

impl SendersConfig {
    /// `Err((key, reason))` naming the bad key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=10_000).contains(&self.outbox_capacity) {
            return Err(("messaging.outbox_capacity", "must be 1 to 10000".into()));
        }
        Ok(())
    }
}

/// The senders a server has: one per channel, or the outbox.
#[derive(Clone, Default)]
pub struct Senders {
    pub email: Option<Arc<dyn Sender>>,
    pub sms: Option<Arc<dyn Sender>>,
    pub outbox: Option<Arc<Outbox>>,
}

impl Senders {
    pub fn from_config(config: &SendersConfig, clock: Clock) -> Result<Senders, SendError> {
        let outbox = config
            .outbox
            .then(|| Arc::new(Outbox::new(config.outbox_capacity, clock)));
        Ok(Senders {
            email: None,
            sms: None,
            outbox,
        })
    }

    /// The configured sender for `channel`, else the outbox when there is
    /// one, else none (the caller refuses with a retryable error).
    pub fn for_channel(&self, channel: Channel) -> Option<Arc<dyn Sender>> {
        let configured = match channel {
            Channel::Email => self.email.clone(),
            Channel::Sms => self.sms.clone(),
        };
        configured.or_else(|| self.outbox.clone().map(|o| o as Arc<dyn Sender>))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn message(to: &str, body: &str) -> Message {
        Message {
            to: to.into(),
            channel: Channel::Sms,
            subject: "s".into(),
            body: body.into(),
            kind: MessageKind::SignInCode,
        }
    }

    #[tokio::test]
    async fn the_outbox_keeps_the_newest_and_debug_hides_bodies() {
        // proves: ID-11
        let clock: Clock = Arc::new(chrono::Utc::now);
        let outbox = Outbox::new(3, clock);
        for i in 0..5 {
            outbox
                .send(&message("+447700900123", &format!("code {i}")))
                .await
                .unwrap();
        }
        let kept = outbox.list();
        assert_eq!(kept.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(outbox.latest_to("+447700900123").unwrap().body, "code 4");
        let debug = format!("{:?}", message("sam@example.com", "code 12345678"));
        assert!(
            !debug.contains("12345678") && !debug.contains("sam@"),
            "{debug}"
        );
    }
}
