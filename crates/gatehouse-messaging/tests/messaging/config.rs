//! The `[messaging]` section as an operator writes it, and the senders built from it.

use std::sync::Arc;

use gatehouse_messaging::harness::{SmsProvider, SmtpServer};
use gatehouse_messaging::{
    Channel, EmailSenderConfig, Senders, SendersConfig, SmsSenderConfig, SmsWebhookSender,
    SmtpSender, SmtpTls,
};

use crate::{assert_holds_none, email, sms};

const EXAMPLE: &str = r#"
outbox = true
outbox_capacity = 50

[email.smtp]
host = "smtp.example.com"
port = 587
tls = "starttls"
from = "Gatehouse <no-reply@example.com>"
username = "gatehouse"
password = "smtp-password-1"

[sms.webhook]
url = "https://api.example.com/2010-04-01/Accounts/AC1/Messages.json"
account_sid = "AC1"
auth_token = "sms-token-1"
from = "+15005550006"
status_callback_url = "https://gatehouse.example.com/v1/messaging/sms/status"
"#;

#[test]
fn the_documented_section_parses_and_validates() {
    // proves: ID-11
    let config: SendersConfig = toml::from_str(EXAMPLE).unwrap();
    config.validate().unwrap();
    let Some(EmailSenderConfig::Smtp(smtp)) = &config.email else {
        panic!("{config:?}")
    };
    assert_eq!((smtp.tls, smtp.timeout_ms), (SmtpTls::Starttls, 10_000));
    let Some(SmsSenderConfig::Webhook(webhook)) = &config.sms else {
        panic!("{config:?}")
    };
    assert_eq!(webhook.timeout_ms, 10_000);

    let defaults: SendersConfig = toml::from_str("").unwrap();
    assert_eq!(defaults, SendersConfig::default());
    assert!(!defaults.outbox && defaults.outbox_capacity == 200);
}

#[test]
fn unknown_keys_and_unknown_senders_are_refused() {
    // proves: ID-11
    for bad in [
        "outbx = true",
        "[email.smtp]\nhost = \"h\"\nport = 25\nfrom = \"a@b.c\"\npasword = \"x\"",
        "[email.sendmail]\npath = \"/usr/sbin/sendmail\"",
        "[sms.webhook]\nurl = \"https://x\"\naccount_sid = \"a\"\nauth_token = \"t\"\nfrom = \"f\"\nverify = false",
        "[email.smtp]\nhost = \"h\"\nport = 25\nfrom = \"a@b.c\"\ntls = \"none\"",
    ] {
        assert!(toml::from_str::<SendersConfig>(bad).is_err(), "{bad}");
    }
}

#[test]
fn debug_never_shows_a_password_a_token_or_a_body() {
    // proves: ID-11 ID-8
    let config: SendersConfig = toml::from_str(EXAMPLE).unwrap();
    let debug = format!("{config:?}");
    assert_holds_none(&debug, &["smtp-password-1", "sms-token-1"]);
    assert!(debug.contains("[hidden]"), "{debug}");

    let Some(EmailSenderConfig::Smtp(smtp)) = &config.email else {
        panic!()
    };
    let Some(SmsSenderConfig::Webhook(webhook)) = &config.sms else {
        panic!()
    };
    assert_holds_none(&format!("{smtp:?}"), &["smtp-password-1"]);
    assert_holds_none(&format!("{webhook:?}"), &["sms-token-1"]);
    let smtp_sender = SmtpSender::new(smtp).unwrap();
    let sms_sender = SmsWebhookSender::new(webhook).unwrap();
    assert_holds_none(
        &format!("{smtp_sender:?} {sms_sender:?}"),
        &["smtp-password-1", "sms-token-1"],
    );

    let message = email("sam@example.test", "Your code is 424242");
    let debug = format!("{message:?}");
    assert_holds_none(&debug, &["424242", "sam@example.test"]);
    assert!(
        debug.contains("s…@example.test") && debug.contains("body_len"),
        "{debug}"
    );
    let debug = format!("{:?}", sms("+447700900123", "Your code is 424242"));
    assert_holds_none(&debug, &["424242", "+447700900123"]);
    assert!(debug.contains("…23"), "{debug}");
}

#[tokio::test]
async fn senders_built_from_the_configuration_reach_the_real_counterparts() {
    // proves: ID-11
    let smtp = SmtpServer::start().await.unwrap();
    let provider = SmsProvider::start().await.unwrap();
    let config = SendersConfig {
        email: Some(EmailSenderConfig::Smtp(smtp.config())),
        sms: Some(SmsSenderConfig::Webhook(provider.config())),
        outbox: true,
        ..SendersConfig::default()
    };
    let senders = Senders::from_config(&config, Arc::new(chrono::Utc::now)).unwrap();
    let to_email = senders.for_channel(Channel::Email).unwrap();
    let to_phone = senders.for_channel(Channel::Sms).unwrap();
    assert_eq!((to_email.name(), to_phone.name()), ("smtp", "sms_webhook"));
    to_email
        .send(&email("sam@example.test", "Your code is 111111"))
        .await
        .unwrap();
    to_phone
        .send(&sms("+447700900123", "Your code is 222222"))
        .await
        .unwrap();
    assert_eq!(smtp.maildir_messages().len(), 1);
    assert_eq!(provider.posts().len(), 1);
    // The outbox stands in only for channels without a sender.
    assert!(senders.outbox.as_ref().unwrap().list().is_empty());
}
