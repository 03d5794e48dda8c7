#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Message senders against real counterparts: SMTP against Debian's aiosmtpd
//! (`gatehouse_messaging::harness::SmtpServer`, started per test on a free port),
//! the SMS webhook against a local stand-in for a Twilio-compatible provider
//! (`harness::SmsProvider`), the delivery-callback signature against Twilio's
//! published example, and the development outbox.

mod config;
mod outbox;
mod signatures;
mod sms;
mod smtp;

use gatehouse_messaging::{Channel, Message, MessageKind};

pub fn email(to: &str, body: &str) -> Message {
    Message {
        to: to.to_owned(),
        channel: Channel::Email,
        subject: "Your Gatehouse sign-in code".to_owned(),
        body: body.to_owned(),
        kind: MessageKind::SignInCode,
    }
}

pub fn sms(to: &str, body: &str) -> Message {
    Message {
        to: to.to_owned(),
        channel: Channel::Sms,
        subject: String::new(),
        body: body.to_owned(),
        kind: MessageKind::SignInCode,
    }
}

/// A port on 127.0.0.1 that nothing listens on (something did a moment ago).
pub fn port_nobody_listens_on() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Asserts that `text` holds none of `secrets`.
pub fn assert_holds_none(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} leaked into {text:?}");
    }
}
