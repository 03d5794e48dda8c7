//! Gatehouse's message senders (ID-11): one-time codes and notices go out by
//! email or SMS through a [`Sender`]. Three kinds: [`SmtpSender`] (a real mail
//! server, `lettre` over rustls), [`SmsWebhookSender`] (a Twilio-compatible HTTP
//! provider, with [`verify_status_callback`] for its signed delivery reports) and
//! the development [`Outbox`], which keeps what it was given instead of sending it
//! (for the embedded console and for tests; off unless configured). [`Senders`]
//! builds them from [`SendersConfig`] and picks one per [`Channel`]. A failure is
//! one [`SendError`], which says whether to retry and carries a stable `code` for
//! the caller's record.
//!
//! It must never: put a message's body (it carries one-time codes) or a secret
//! (an SMTP password, a provider's auth token) into `Debug`, an error or a log;
//! send anything in clear text off the host (plain SMTP and `http://` are for
//! loopback only); follow a provider's redirect with our credentials; or wait on a
//! provider longer than the configured timeout.

mod config;
mod error;
mod outbox;
mod senders;
mod sms;
mod smtp;
mod tls;

#[cfg(feature = "harness")]
pub mod harness;

use serde::{Deserialize, Serialize};

pub use config::{
    EmailSenderConfig, SendersConfig, SmsSenderConfig, SmsWebhookConfig, SmtpConfig, SmtpTls,
    DEFAULT_OUTBOX_CAPACITY, DEFAULT_TIMEOUT_MS, MAX_OUTBOX_CAPACITY, MAX_TIMEOUT_MS,
};
pub use error::SendError;
pub use outbox::{Clock, Outbox, OutboxEntry};
pub use senders::Senders;
pub use sms::{verify_status_callback, DeliveryState, DeliveryStatus, SmsWebhookSender};
pub use smtp::SmtpSender;

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
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
/// validated). Its `Debug` masks the address and leaves the body out.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub channel: Channel,
    pub subject: String,
    pub body: String,
    pub kind: MessageKind,
}

/// `s…@example.com`, `…23`: enough to tell messages apart in a log.
pub fn mask(to: &str) -> String {
    match to.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}…@{domain}")
        }
        None => {
            let count = to.chars().count();
            let tail: String = to.chars().skip(count.saturating_sub(2)).collect();
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
    /// The provider's id for the message (an SMS provider's `sid`, the outbox's
    /// entry), when it gives one.
    pub provider_id: Option<String>,
}

/// Something that sends messages.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    /// `smtp`, `sms_webhook` or `outbox`: for records, never shown to people.
    fn name(&self) -> &'static str;
    async fn send(&self, message: &Message) -> Result<Receipt, SendError>;
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn addresses_are_masked_and_bodies_left_out() {
        // proves: ID-11
        assert_eq!(mask("sam@example.com"), "s…@example.com");
        assert_eq!(mask("+447700900123"), "…23");
        assert_eq!(mask("7"), "…7");
        assert_eq!(mask(""), "…");
        let debug = format!("{:?}", message("sam@example.com", "code 12345678"));
        assert!(
            !debug.contains("12345678") && !debug.contains("sam@"),
            "{debug}"
        );
        assert!(debug.contains("body_len: 13"), "{debug}");
    }
}
