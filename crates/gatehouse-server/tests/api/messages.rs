//! Codes sent for real (ID-11, ID-8): by email through a real SMTP server
//! (Debian's aiosmtpd, writing a Maildir) and by SMS through a
//! Twilio-compatible webhook (a local stand-in for the provider), a server that
//! refuses answered as a retryable `delivery_failed` and recorded, and the
//! provider's signed delivery reports accepted only when they verify.

use gatehouse_messaging::harness::{sign_callback, Refusal, SmsProvider, SmtpServer, AUTH_TOKEN};
use gatehouse_messaging::{EmailSenderConfig, SmsSenderConfig};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;
use serde_json::{json, Value};

use crate::assert_error;
use crate::oauth::record_of;

async fn post(server: &TestServer, path: &str, body: Value) -> reqwest::Response {
    server
        .raw()
        .post(server.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A type that signs in with email codes and SMS codes, and one person.
async fn person(server: &TestServer) {
    let admin = &server.admin_token;
    let put = server
        .raw()
        .put(server.url("/v1/user-types/patient"))
        .bearer_auth(admin)
        .json(&json!({"name": "patient", "sign_in": ["email_code", "phone_code"], "second_factor": "optional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let created = server
        .raw()
        .post(server.url("/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"user_type": "patient", "display_name": "Pat", "email": "pat@example.com", "phone": "+447700900123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
}

fn digits(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .unwrap()
        .to_owned()
}

// proves: ID-11, ID-8
async fn codes_go_out_by_smtp_and_by_the_sms_webhook(db: Db) {
    let smtp = SmtpServer::start().await.unwrap();
    let provider = SmsProvider::start().await.unwrap();
    let mut sms = provider.config();
    sms.status_callback_url = Some("https://gatehouse.example.test/v1/messaging/sms-status".into());
    let (email_config, sms_config) = (smtp.config(), sms.clone());
    let server = TestServer::start_with(db, move |c| {
        c.messaging.email = Some(EmailSenderConfig::Smtp(email_config));
        c.messaging.sms = Some(SmsSenderConfig::Webhook(sms_config));
        c.anonymous.requests_per_window = 0;
    })
    .await;
    person(&server).await;

    // By email, through the real SMTP server.
    let started: Value = post(
        &server,
        "/v1/auth/otp/start",
        json!({"email": "pat@example.com"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let mail = smtp.maildir_messages();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("To: pat@example.com"), "{}", mail[0]);
    let code = digits(mail[0].split("\n\n").nth(1).unwrap_or(&mail[0]));
    let signed = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": started["challenge_id"], "code": code}),
    )
    .await;
    assert_eq!(signed.status(), 200);

    // By SMS, through the provider's webhook.
    let started: Value = post(
        &server,
        "/v1/auth/otp/start",
        json!({"phone": "+447700900123"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let posts = provider.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].field("To"), Some("+447700900123"));
    assert_eq!(
        posts[0].field("StatusCallback"),
        sms.status_callback_url.as_deref()
    );
    let code = digits(posts[0].field("Body").unwrap());
    let signed = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": started["challenge_id"], "code": code}),
    )
    .await;
    assert_eq!(signed.status(), 200);

    // The provider's delivery report, signed, is recorded; a forged one is not.
    let url = sms.status_callback_url.clone().unwrap();
    let params = vec![
        ("MessageSid".to_owned(), "SM0123".to_owned()),
        ("MessageStatus".to_owned(), "undelivered".to_owned()),
        ("ErrorCode".to_owned(), "30003".to_owned()),
        ("To".to_owned(), "+447700900123".to_owned()),
    ];
    let report = |signature: String| {
        server
            .raw()
            .post(server.url("/v1/messaging/sms-status"))
            .header("x-twilio-signature", signature)
            .form(&params)
            .send()
    };
    let accepted = report(sign_callback(AUTH_TOKEN, &url, &params))
        .await
        .unwrap();
    let record = record_of(&server, &accepted).await;
    assert_eq!(accepted.status(), 204);
    assert_eq!(record["details"]["delivery_state"], "undelivered");
    assert_eq!(record["details"]["delivery_error_code"], "30003");
    assert!(
        !record.to_string().contains("+447700900123"),
        "the number masked"
    );
    let forged = report(sign_callback("not-the-token", &url, &params))
        .await
        .unwrap();
    assert_error(forged, 403, ErrorCode::Forbidden).await;
}

// proves: ID-11 (a sender that refuses: retryable, recorded, nothing changed)
async fn a_refusing_smtp_server_is_a_retryable_delivery_failure(db: Db) {
    let smtp = SmtpServer::start_refusing(Refusal::Recipient)
        .await
        .unwrap();
    let email_config = smtp.config();
    let server = TestServer::start_with(db, move |c| {
        c.messaging.email = Some(EmailSenderConfig::Smtp(email_config));
        c.anonymous.requests_per_window = 0;
    })
    .await;
    person(&server).await;
    let refused = post(
        &server,
        "/v1/auth/otp/start",
        json!({"email": "pat@example.com"}),
    )
    .await;
    let record = record_of(&server, &refused).await;
    assert_eq!(refused.headers()["retry-after"], "60");
    assert_error(refused, 503, ErrorCode::DeliveryFailed).await;
    assert_eq!(record["details"]["delivery_error"], "message_refused");
    assert!(smtp.maildir_messages().is_empty());
    // No SMS sender and no outbox: refused the same way, nothing sent.
    let no_sender = post(
        &server,
        "/v1/auth/otp/start",
        json!({"phone": "+447700900123"}),
    )
    .await;
    assert_error(no_sender, 503, ErrorCode::DeliveryFailed).await;
}

on_both_databases!(
    codes_go_out_by_smtp_and_by_the_sms_webhook,
    a_refusing_smtp_server_is_a_retryable_delivery_failure,
);
