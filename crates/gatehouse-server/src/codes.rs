//! One-time codes on the server (ID-8, ID-11): issued, stored hashed, sent
//! through the configured sender, and checked.
//!
//! Sends are limited per destination (in the database, so every replica
//! counts them, at most [`MAX_SENDS_PER_DESTINATION`] in
//! [`SEND_WINDOW_SECONDS`]) and per source (a fixed-size sketch). A decoy
//! (an address with no account, or one that may not sign in this way) is
//! counted and stored exactly like a real send and answered the same; only
//! the message is not sent. A sender that fails is answered with the
//! retryable `delivery_failed`, and the record says why; the code itself is
//! never in a record, a log or an error.

use gatehouse_identity::code::{self, CodeCheck, Purpose, StoredCode};
use gatehouse_messaging::{Channel, Message, MessageKind};
use gatehouse_store::CodeRow;
use gatehouse_types::ErrorCode;
use serde_json::json;

use crate::app::AppState;
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::Audit;

/// How long a code sent by SMS or email is good for.
pub const CODE_TTL_SECONDS: i64 = 300;
/// Codes one address may be sent in [`SEND_WINDOW_SECONDS`].
pub const MAX_SENDS_PER_DESTINATION: u64 = 5;
pub const SEND_WINDOW_SECONDS: i64 = 900;
const US: i64 = 1_000_000;

/// Where a code goes, and whether it really goes.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The address as validated (an email address or an E.164 number).
    pub to: &'a str,
    pub channel: Channel,
    /// The address masked, for answers and the record.
    pub masked: String,
    /// `false` for a decoy: everything happens but the send.
    pub is_real: bool,
}

fn rate_limited(retry_after: u64) -> ApiFailure {
    ApiFailure::new(
        ErrorCode::RateLimited,
        "too many codes were sent: wait before asking for another",
    )
    .retry_after(retry_after)
}

/// Issues a code for `purpose` bound to `binding`, stores its hash, and sends
/// it (unless `delivery` is a decoy). Refuses with `rate_limited` past either
/// limit, with `delivery_failed` when the sender fails.
pub async fn send_code(
    state: &AppState,
    audit: &Audit,
    binding: &str,
    purpose: Purpose,
    delivery: &Delivery<'_>,
) -> Result<(), ApiFailure> {
    let identity = &state.identity;
    let now_us = to_micros(state.clock.now());
    let now_s = now_us / US;
    let source = &audit.facts.source_ip;
    audit.detail("code_channel", json!(channel_name(delivery.channel)));
    audit.detail("code_sent_to", json!(delivery.masked));
    if identity.is_send_throttled(source, now_s) {
        audit.detail("code_refused", json!("source_limit"));
        return Err(rate_limited(60));
    }
    let key = identity.destination_key(delivery.to);
    let since = now_us.saturating_sub(SEND_WINDOW_SECONDS * US);
    let sent = state.store.challenges().count_sends(&key, since).await?;
    if sent >= MAX_SENDS_PER_DESTINATION {
        audit.detail("code_refused", json!("destination_limit"));
        return Err(rate_limited(
            u64::try_from(SEND_WINDOW_SECONDS).unwrap_or(900),
        ));
    }
    identity.record_send(source, now_s);
    let issued = code::issue(
        &identity.code_key,
        purpose,
        binding,
        now_s,
        CODE_TTL_SECONDS,
        &mut rand::rngs::OsRng,
    );
    let row = CodeRow {
        binding: binding.to_owned(),
        purpose: purpose.as_str().to_owned(),
        hash: issued.hash.to_vec(),
        expires_at_us: issued.expires_at.saturating_mul(US),
        checks: 0,
        is_consumed: false,
    };
    state
        .store
        .challenges()
        .put_code(&row, &key, now_us)
        .await?;
    if !delivery.is_real {
        return Ok(());
    }
    let message = message(purpose, delivery, &issued.code);
    let Some(sender) = identity.senders.for_channel(delivery.channel) else {
        audit.detail("delivery_error", json!("sender_not_configured"));
        return Err(delivery_failed());
    };
    match sender.send(&message).await {
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, channel = channel_name(delivery.channel), "a code could not be sent");
            audit.detail("delivery_error", json!(e.code()));
            Err(delivery_failed())
        }
    }
}

pub fn delivery_failed() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::DeliveryFailed,
        "the code could not be sent: try again in a minute",
    )
    .retry_after(60)
}

pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    }
}

/// The message carrying `code`: short, with what it is for and how long it
/// lasts, and nothing a phisher could reuse as a link.
fn message(purpose: Purpose, delivery: &Delivery<'_>, code: &str) -> Message {
    let (subject, what, kind) = match purpose {
        Purpose::SignUpEmail | Purpose::SignUpPhone => (
            "Your Gatehouse sign-up code",
            "to finish signing up",
            MessageKind::SignUpCode,
        ),
        Purpose::SecondFactor => (
            "Your Gatehouse sign-in code",
            "to finish signing in",
            MessageKind::SignInCode,
        ),
        Purpose::SignIn | Purpose::ContactChange => (
            "Your Gatehouse sign-in code",
            "to sign in",
            MessageKind::SignInCode,
        ),
    };
    let minutes = CODE_TTL_SECONDS / 60;
    Message {
        to: delivery.to.to_owned(),
        channel: delivery.channel,
        subject: subject.to_owned(),
        body: format!(
            "Your Gatehouse code is {code}. Enter it {what}. It expires in {minutes} minutes. \
             Nobody from Gatehouse will ever ask you for it."
        ),
        kind,
    }
}

/// A notice to an address that needs no code (someone tried to sign up with
/// an address that already has an account). Sent best-effort: its failure
/// is recorded, never answered, so the answer is the same as for a new
/// address.
pub async fn send_notice(state: &AppState, audit: &Audit, delivery: &Delivery<'_>) {
    let Some(sender) = state.identity.senders.for_channel(delivery.channel) else {
        return;
    };
    let message = Message {
        to: delivery.to.to_owned(),
        channel: delivery.channel,
        subject: "Someone tried to sign up with your address".to_owned(),
        body: "Someone tried to create a Gatehouse account with this address, which already \
               has one. If it was you, sign in instead (or reset your password). If not, you \
               need do nothing: no account was created."
            .to_owned(),
        kind: MessageKind::AccountExists,
    };
    if let Err(e) = sender.send(&message).await {
        audit.detail("delivery_error", json!(e.code()));
    }
}

/// What presenting a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Accepted,
    Wrong {
        checks_left: u32,
    },
    /// No code, or expired, used, or out of tries: a new one is needed.
    Gone,
}

/// Checks `presented` against the code for `purpose` bound to `binding`,
/// storing the try (or the use) before answering.
pub async fn check_code(
    state: &AppState,
    binding: &str,
    purpose: Purpose,
    presented: &str,
) -> Result<Checked, ApiFailure> {
    let now_s = to_micros(state.clock.now()) / US;
    let codes = state.store.challenges();
    // A lost compare-and-swap means another request changed the code: read
    // it again (a few times at most; then it is being hammered: refuse).
    for _ in 0..3 {
        let Some(row) = codes.find_code(binding, purpose.as_str()).await? else {
            return Ok(Checked::Gone);
        };
        let Ok(hash) = <[u8; 32]>::try_from(row.hash.as_slice()) else {
            return Err(ApiFailure::internal());
        };
        let stored = StoredCode {
            hash,
            purpose,
            binding: binding.to_owned(),
            expires_at: row.expires_at_us / US,
            checks: u32::try_from(row.checks).unwrap_or(u32::MAX),
            is_consumed: row.is_consumed,
        };
        let (outcome, next) = code::check(
            &state.identity.code_key,
            &stored,
            presented,
            purpose,
            binding,
            now_s,
        );
        let checked = match outcome {
            CodeCheck::Accepted => Checked::Accepted,
            CodeCheck::Wrong { checks_left } => Checked::Wrong { checks_left },
            CodeCheck::Expired | CodeCheck::Exhausted | CodeCheck::Consumed => {
                return Ok(Checked::Gone)
            }
        };
        let after = CodeRow {
            checks: i64::from(next.checks),
            is_consumed: next.is_consumed,
            ..row.clone()
        };
        if codes.check_code(&row, &after).await? {
            return Ok(checked);
        }
    }
    Ok(Checked::Gone)
}

/// The answer to a wrong code.
pub fn wrong_code(checks_left: u32) -> ApiFailure {
    if checks_left == 0 {
        return gone();
    }
    ApiFailure::new(
        ErrorCode::InvalidCode,
        format!("the code is not right: {checks_left} tries left"),
    )
}

/// The answer when the challenge, sign-up or code is past use.
pub fn gone() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::ChallengeExpired,
        "this sign-in step expired, was used, or ran out of tries: start again",
    )
}
