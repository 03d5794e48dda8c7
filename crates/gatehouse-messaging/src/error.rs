//! The one error: why a message was not sent, whether to retry, and a stable code
//! for the caller's record. Reasons are for operators: they name the provider's
//! answer, never the message's body or a secret.

use crate::{mask, Message};

/// Longest reason kept: a provider's answer is not ours to store whole.
const MAX_REASON_CHARS: usize = 300;
/// Shorter bodies are not looked for: they would match ordinary words of the
/// reason, and real bodies (a sentence around a code) are longer.
const MIN_SCRUBBED_BODY_CHARS: usize = 8;

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider refused this message for good (a 5xx SMTP reply, an HTTP 4xx
    /// other than 429): sending it again will not help.
    #[error("the message was refused: {reason}")]
    Refused { reason: String },
    /// The provider could not be reached, took too long, or asked to try later
    /// (connection refused, a timeout, a 4xx SMTP reply, HTTP 5xx or 429).
    #[error("the sender is unavailable: {reason}")]
    Unavailable { reason: String },
    /// Our side is wrong: a bad configuration, a certificate we do not trust, a
    /// message on the wrong channel.
    #[error("the sender is misconfigured: {reason}")]
    Misconfigured { reason: String },
}

impl SendError {
    /// Worth trying again later (only `Unavailable`).
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

    pub fn reason(&self) -> &str {
        match self {
            SendError::Refused { reason }
            | SendError::Unavailable { reason }
            | SendError::Misconfigured { reason } => reason,
        }
    }

    pub(crate) fn refused(reason: impl Into<String>) -> Self {
        SendError::Refused {
            reason: reason.into(),
        }
    }

    pub(crate) fn unavailable(reason: impl Into<String>) -> Self {
        SendError::Unavailable {
            reason: reason.into(),
        }
    }

    pub(crate) fn misconfigured(reason: impl Into<String>) -> Self {
        SendError::Misconfigured {
            reason: reason.into(),
        }
    }

    /// The same error with a reason that cannot leak `message`: a server that
    /// echoes the body or the address gets neither into our records.
    pub(crate) fn scrubbed(self, message: &Message) -> Self {
        let clean = |reason: String| scrub(&reason, message);
        match self {
            SendError::Refused { reason } => SendError::Refused {
                reason: clean(reason),
            },
            SendError::Unavailable { reason } => SendError::Unavailable {
                reason: clean(reason),
            },
            SendError::Misconfigured { reason } => SendError::Misconfigured {
                reason: clean(reason),
            },
        }
    }
}

/// `reason` on one line, bounded, without `message`'s body or full address.
pub(crate) fn scrub(reason: &str, message: &Message) -> String {
    let mut out = reason.to_owned();
    if message.body.chars().count() >= MIN_SCRUBBED_BODY_CHARS {
        out = out.replace(&message.body, "[body]");
    }
    if !message.to.is_empty() {
        out = out.replace(&message.to, &mask(&message.to));
    }
    let mut out: String = out
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.chars().count() > MAX_REASON_CHARS {
        out = out.chars().take(MAX_REASON_CHARS).collect();
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, MessageKind};

    #[test]
    fn codes_and_retryability() {
        // proves: ID-11
        let refused = SendError::refused("550");
        let unavailable = SendError::unavailable("timed out");
        let misconfigured = SendError::misconfigured("ca_file");
        assert_eq!(refused.code(), "message_refused");
        assert_eq!(unavailable.code(), "sender_unavailable");
        assert_eq!(misconfigured.code(), "sender_misconfigured");
        assert!(!refused.is_retryable() && unavailable.is_retryable());
        assert!(!misconfigured.is_retryable());
    }

    #[test]
    fn a_reason_never_echoes_the_body_or_the_address() {
        // proves: ID-11
        let message = Message {
            to: "sam@example.com".into(),
            channel: Channel::Email,
            subject: "code".into(),
            body: "Your code is 424242".into(),
            kind: MessageKind::SignInCode,
        };
        let echoed = format!(
            "550 <sam@example.com> rejected\r\n{}{}",
            message.body,
            "x".repeat(500)
        );
        let reason = scrub(&echoed, &message);
        assert!(
            !reason.contains("424242") && !reason.contains("sam@"),
            "{reason}"
        );
        assert!(reason.contains("s…@example.com") && !reason.contains('\n'));
        assert!(reason.chars().count() <= MAX_REASON_CHARS + 1);
        let short = Message {
            body: "x".into(),
            ..message
        };
        assert_eq!(scrub("http://127.0.0.1/x", &short), "http://127.0.0.1/x");
    }
}
