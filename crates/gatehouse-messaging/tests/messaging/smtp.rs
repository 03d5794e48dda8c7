//! Email through a real SMTP server (aiosmtpd writing a Maildir).

use std::time::{Duration, Instant};

use gatehouse_messaging::harness::{Refusal, ServerTls, SmtpServer};
use gatehouse_messaging::{SendError, Sender, SmtpConfig, SmtpSender, SmtpTls};

use crate::{assert_holds_none, email, port_nobody_listens_on};

/// What the server sends: one long line, as `codes.rs` writes it.
const BODY: &str = "Your Gatehouse code is 493817. Enter it to sign in. It expires in 10 \
                    minutes. Nobody from Gatehouse will ever ask you for it.";

/// The Maildir text with quoted-printable soft line breaks undone (a long line
/// may be folded on the wire).
fn unfolded(text: &str) -> String {
    text.replace("=\r\n", "").replace("=\n", "")
}

#[tokio::test]
async fn email_is_delivered_to_a_real_smtp_server() {
    // proves: ID-11 ID-8
    let server = SmtpServer::start().await.unwrap();
    let sender = SmtpSender::new(&server.config()).unwrap();
    assert_eq!(sender.name(), "smtp");
    sender.send(&email("sam@example.test", BODY)).await.unwrap();

    let messages = server.maildir_messages();
    assert_eq!(messages.len(), 1, "{}", server.log());
    let text = unfolded(&messages[0]);
    for expected in [
        "To: sam@example.test",
        "From: Gatehouse <no-reply@example.test>",
        "Subject: Your Gatehouse sign-in code",
        "Content-Type: text/plain; charset=utf-8",
        "Message-ID: <",
        "@example.test>",
        BODY,
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
}

#[tokio::test]
async fn starttls_and_implicit_tls_deliver_with_the_servers_ca() {
    // proves: ID-11
    for tls in [ServerTls::StartTls, ServerTls::Implicit] {
        let server = SmtpServer::start_tls(tls).await.unwrap();
        let config = server.config();
        assert!(config.ca_file.is_some());
        let sender = SmtpSender::new(&config).unwrap();
        sender
            .send(&email("sam@example.test", "Your code is 271828"))
            .await
            .unwrap_or_else(|e| panic!("{tls:?}: {e}\n{}", server.log()));
        let messages = server.maildir_messages();
        assert_eq!(messages.len(), 1, "{tls:?}");
        assert!(messages[0].contains("271828"), "{tls:?}: {}", messages[0]);
    }
}

#[tokio::test]
async fn a_certificate_we_do_not_trust_sends_nothing_and_says_so() {
    // proves: ID-11
    for tls in [ServerTls::StartTls, ServerTls::Implicit] {
        let server = SmtpServer::start_tls(tls).await.unwrap();
        let config = SmtpConfig {
            ca_file: None,
            ..server.config()
        };
        let err = SmtpSender::new(&config)
            .unwrap()
            .send(&email("sam@example.test", "Your code is 161803"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, SendError::Misconfigured { reason } if reason.contains("not trusted") && reason.contains("ca_file")),
            "{tls:?}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert!(server.maildir_messages().is_empty(), "{tls:?}");
    }
}

#[tokio::test]
async fn a_server_that_requires_starttls_gets_no_cleartext_message() {
    // proves: ID-11
    let server = SmtpServer::start_tls(ServerTls::StartTls).await.unwrap();
    let config = SmtpConfig {
        tls: SmtpTls::NoneForLocalhostOnly,
        ..server.config()
    };
    let err = SmtpSender::new(&config)
        .unwrap()
        .send(&email("sam@example.test", "Your code is 141421"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused { .. }), "{err:?}");
    assert!(server.maildir_messages().is_empty());
}

#[tokio::test]
async fn a_refusing_server_is_refused_for_good_and_never_echoes_the_body() {
    // proves: ID-11 ID-8
    for (refusal, reply) in [(Refusal::Recipient, "550"), (Refusal::Data, "554")] {
        let server = SmtpServer::start_refusing(refusal).await.unwrap();
        let sender = SmtpSender::new(&server.config()).unwrap();
        let err = sender
            .send(&email("sam@example.test", "Your code is 314159"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SendError::Refused { .. }),
            "{refusal:?}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(err.code(), "message_refused");
        let said = err.to_string();
        assert!(said.contains(reply), "{refusal:?}: {said}");
        assert_holds_none(&said, &["314159", "sam@example.test"]);
        assert!(server.maildir_messages().is_empty());
    }
}

#[tokio::test]
async fn a_server_asking_to_try_later_is_retryable() {
    // proves: ID-11
    let server = SmtpServer::start_refusing(Refusal::TryLater).await.unwrap();
    let err = SmtpSender::new(&server.config())
        .unwrap()
        .send(&email("sam@example.test", "Your code is 577215"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("451"), "{err}");
}

#[tokio::test]
async fn nobody_listening_is_unavailable_and_retryable() {
    // proves: ID-11
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port: port_nobody_listens_on(),
        tls: SmtpTls::NoneForLocalhostOnly,
        ca_file: None,
        username: None,
        password: None,
        from: "Gatehouse <no-reply@example.test>".into(),
        hello_name: None,
        timeout_ms: 2_000,
    };
    let err = SmtpSender::new(&config)
        .unwrap()
        .send(&email("sam@example.test", "Your code is 662607"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.code(), "sender_unavailable");
    assert_holds_none(&err.to_string(), &["662607"]);
}

#[tokio::test]
async fn a_server_that_never_greets_is_unavailable_within_the_timeout() {
    // proves: ID-11
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let config = SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::NoneForLocalhostOnly,
        ca_file: None,
        username: None,
        password: None,
        from: "Gatehouse <no-reply@example.test>".into(),
        hello_name: None,
        timeout_ms: 300,
    };
    let started = Instant::now();
    let err = SmtpSender::new(&config)
        .unwrap()
        .send(&email("sam@example.test", "Your code is 299792"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    holder.abort();
}

#[tokio::test]
async fn cleartext_to_another_host_is_refused_by_the_configuration() {
    // proves: ID-11
    let config = SmtpConfig {
        host: "mail.example.com".into(),
        port: 25,
        tls: SmtpTls::NoneForLocalhostOnly,
        ca_file: None,
        username: Some("gatehouse".into()),
        password: Some("smtp-password-1".into()),
        from: "Gatehouse <no-reply@example.test>".into(),
        hello_name: None,
        timeout_ms: 1_000,
    };
    let (key, _) = config.validate().unwrap_err();
    assert_eq!(key, "messaging.email.smtp.tls");
    let err = SmtpSender::new(&config).unwrap_err();
    assert!(
        matches!(&err, SendError::Misconfigured { reason } if reason.contains("messaging.email.smtp.tls")),
        "{err:?}"
    );
    assert_holds_none(&err.to_string(), &["smtp-password-1"]);
    let starttls = SmtpConfig {
        tls: SmtpTls::Starttls,
        ..config
    };
    assert!(starttls.validate().is_ok());
}
