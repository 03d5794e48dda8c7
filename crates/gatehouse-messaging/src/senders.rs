//! The senders a server has, built once from the configuration: one per channel,
//! and the development outbox standing in for any channel without one.

use std::sync::Arc;

use crate::config::{EmailSenderConfig, SendersConfig, SmsSenderConfig};
use crate::{Channel, Clock, Outbox, SendError, Sender, SmsWebhookSender, SmtpSender};

/// The configured senders.
#[derive(Clone, Default)]
pub struct Senders {
    pub email: Option<Arc<dyn Sender>>,
    pub sms: Option<Arc<dyn Sender>>,
    pub outbox: Option<Arc<Outbox>>,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders")
            .field("email", &self.email.as_ref().map(|s| s.name()))
            .field("sms", &self.sms.as_ref().map(|s| s.name()))
            .field("outbox", &self.outbox.as_ref().map(|o| o.capacity()))
            .finish()
    }
}

impl Senders {
    /// Checks `config` (an error names the key) and builds its senders; `clock`
    /// stamps the outbox's entries.
    pub fn from_config(config: &SendersConfig, clock: Clock) -> Result<Senders, SendError> {
        config
            .validate()
            .map_err(|(key, reason)| SendError::misconfigured(format!("{key}: {reason}")))?;
        let email = match &config.email {
            Some(EmailSenderConfig::Smtp(smtp)) => {
                Some(Arc::new(SmtpSender::new(smtp)?) as Arc<dyn Sender>)
            }
            None => None,
        };
        let sms = match &config.sms {
            Some(SmsSenderConfig::Webhook(webhook)) => {
                Some(Arc::new(SmsWebhookSender::new(webhook)?) as Arc<dyn Sender>)
            }
            None => None,
        };
        let outbox = config
            .outbox
            .then(|| Arc::new(Outbox::new(config.outbox_capacity, clock)));
        Ok(Senders { email, sms, outbox })
    }

    /// Only an outbox of `capacity`, for every channel (development, tests).
    pub fn outbox_only(capacity: usize, clock: Clock) -> Senders {
        Senders {
            email: None,
            sms: None,
            outbox: Some(Arc::new(Outbox::new(capacity, clock))),
        }
    }

    /// The configured sender for `channel`, else the outbox when there is one,
    /// else none (the caller refuses with a retryable error and records it).
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
    use super::*;
    use crate::config::{SmtpConfig, SmtpTls};

    fn clock() -> Clock {
        Arc::new(chrono::Utc::now)
    }

    #[test]
    fn the_configured_sender_else_the_outbox_else_none() {
        // proves: ID-11
        let none = Senders::from_config(&SendersConfig::default(), clock()).unwrap();
        assert!(none.for_channel(Channel::Email).is_none() && none.outbox.is_none());

        let outbox = Senders::outbox_only(5, clock());
        assert_eq!(
            outbox.for_channel(Channel::Sms).map(|s| s.name()),
            Some("outbox")
        );

        let config = SendersConfig {
            email: Some(EmailSenderConfig::Smtp(SmtpConfig {
                host: "127.0.0.1".into(),
                port: 2525,
                tls: SmtpTls::NoneForLocalhostOnly,
                ca_file: None,
                username: None,
                password: None,
                from: "Gatehouse <no-reply@example.test>".into(),
                hello_name: None,
                timeout_ms: 1_000,
            })),
            outbox: true,
            ..SendersConfig::default()
        };
        let mixed = Senders::from_config(&config, clock()).unwrap();
        assert_eq!(
            mixed.for_channel(Channel::Email).map(|s| s.name()),
            Some("smtp")
        );
        assert_eq!(
            mixed.for_channel(Channel::Sms).map(|s| s.name()),
            Some("outbox")
        );
        let debug = format!("{mixed:?}");
        assert!(debug.contains("smtp"), "{debug}");
    }

    #[test]
    fn a_bad_configuration_is_misconfigured_and_names_the_key() {
        // proves: ID-11
        let config = SendersConfig {
            outbox_capacity: 0,
            ..SendersConfig::default()
        };
        let err = Senders::from_config(&config, clock()).err();
        assert!(
            matches!(&err, Some(SendError::Misconfigured { reason }) if reason.starts_with("messaging.outbox_capacity")),
            "{err:?}"
        );
    }
}
