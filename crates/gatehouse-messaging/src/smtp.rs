//! Email through an SMTP relay: `lettre` on tokio over rustls (ring), one
//! connection per message, STARTTLS that must succeed or TLS from the first byte,
//! the server's certificate verified against the system's roots and `ca_file`.
//! Clear text only to a mail server on this host (`validate` refuses the rest).
//!
//! Replies map to the one error: a 5xx reply is `Refused` (the server will not
//! take this message), a 4xx reply, a refused connection or a timeout is
//! `Unavailable` (retry later), and a certificate we do not trust, a server
//! without STARTTLS or a message on the wrong channel is `Misconfigured`.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{SmtpConfig, SmtpTls};
use crate::{tls, Channel, Message, Receipt, SendError, Sender};

const CA_FILE_KEY: &str = "messaging.email.smtp.ca_file";

/// Sends email through one SMTP relay.
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The right-hand side of our `Message-ID`s: the `from` address's domain.
    id_domain: String,
    server: String,
    tls: SmtpTls,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("server", &self.server)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// Checks `config` and prepares the transport (nothing is connected yet).
    pub fn new(config: &SmtpConfig) -> Result<SmtpSender, SendError> {
        config
            .validate()
            .map_err(|(key, reason)| SendError::misconfigured(format!("{key}: {reason}")))?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SendError::misconfigured(format!("messaging.email.smtp.from: {e}")))?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let tls = match config.tls {
            SmtpTls::NoneForLocalhostOnly => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(config)?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        if let Some(name) = &config.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(SmtpSender {
            transport: builder.build(),
            id_domain: from.email.domain().to_owned(),
            from,
            server: format!("{}:{}", config.host, config.port),
            tls: config.tls,
            timeout,
        })
    }

    fn email(&self, message: &Message) -> Result<lettre::Message, SendError> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|_| SendError::refused("the recipient is not an email address"))?;
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .message_id(Some(format!(
                "<{}@{}>",
                uuid::Uuid::new_v4().simple(),
                self.id_domain
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| SendError::misconfigured(format!("the message cannot be built: {e}")))
    }

    fn classify(&self, e: &lettre::transport::smtp::Error) -> SendError {
        let server = &self.server;
        if let Some(why) = tls::untrusted_certificate(e) {
            return SendError::misconfigured(format!(
                "the certificate of {server} is not trusted ({why}): check {CA_FILE_KEY}"
            ));
        }
        if e.is_permanent() {
            SendError::refused(format!("{server} refused the message: {e}"))
        } else if e.is_transient() {
            SendError::unavailable(format!("{server} asked to try later: {e}"))
        } else if e.is_timeout() {
            SendError::unavailable(format!("{server} did not answer in time"))
        } else if e.is_client() || e.is_tls() {
            SendError::misconfigured(format!("with {server}: {e}"))
        } else {
            SendError::unavailable(format!("cannot reach {server}: {e}"))
        }
    }
}

/// Trust exactly the system's roots and `ca_file`; verify the host name.
fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, SendError> {
    let roots = tls::trusted_roots(config.ca_file.as_deref(), CA_FILE_KEY)?;
    let mut params =
        TlsParameters::builder(config.host.clone()).certificate_store(CertificateStore::None);
    for root in roots {
        let cert = Certificate::from_der(root.to_vec())
            .map_err(|e| SendError::misconfigured(format!("{CA_FILE_KEY}: {e}")))?;
        params = params.add_root_certificate(cert);
    }
    params
        .build_rustls()
        .map_err(|e| SendError::misconfigured(format!("messaging.email.smtp.tls: {e}")))
}

/// `250 2.0.0 Ok: queued as 4F1A2B` → `4F1A2B`.
fn queue_id(response: &lettre::transport::smtp::response::Response) -> Option<String> {
    response.message().find_map(|line| {
        let (_, id) = line.split_once("queued as ")?;
        let id = id.split_whitespace().next()?;
        (!id.is_empty()).then(|| id.to_owned())
    })
}

#[async_trait::async_trait]
impl Sender for SmtpSender {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, message: &Message) -> Result<Receipt, SendError> {
        if message.channel != Channel::Email {
            return Err(SendError::misconfigured("the SMTP sender sends email only"));
        }
        let email = self.email(message).map_err(|e| e.scrubbed(message))?;
        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(response)) => Ok(Receipt {
                provider_id: queue_id(&response),
            }),
            Ok(Err(e)) => Err(self.classify(&e).scrubbed(message)),
            Err(_) => Err(SendError::unavailable(format!(
                "{} did not finish within {} ms",
                self.server,
                self.timeout.as_millis()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageKind;

    fn config() -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: SmtpTls::NoneForLocalhostOnly,
            ca_file: None,
            username: None,
            password: None,
            from: "Gatehouse <no-reply@example.test>".into(),
            hello_name: None,
            timeout_ms: 1_000,
        }
    }

    fn message(to: &str, channel: Channel) -> Message {
        Message {
            to: to.into(),
            channel,
            subject: "Your code".into(),
            body: "Your code is 123456".into(),
            kind: MessageKind::SignInCode,
        }
    }

    #[tokio::test]
    async fn the_wrong_channel_and_a_bad_address_are_refused_before_connecting() {
        // proves: ID-11
        let sender = SmtpSender::new(&config()).unwrap();
        let sms = sender.send(&message("+447700900123", Channel::Sms)).await;
        assert!(
            matches!(sms, Err(SendError::Misconfigured { .. })),
            "{sms:?}"
        );
        let bad = sender
            .send(&message("not an address", Channel::Email))
            .await;
        assert!(matches!(bad, Err(SendError::Refused { .. })), "{bad:?}");
    }

    #[test]
    fn cleartext_off_the_host_is_refused_at_construction() {
        // proves: ID-11
        let off_host = SmtpConfig {
            host: "mail.example.com".into(),
            ..config()
        };
        let err = SmtpSender::new(&off_host).err();
        assert!(
            matches!(&err, Some(SendError::Misconfigured { reason }) if reason.contains("messaging.email.smtp.tls")),
            "{err:?}"
        );
    }
}
