//! SMS through a Twilio-compatible provider (a local stand-in: no real provider is
//! reachable from a test machine).

use std::time::{Duration, Instant};

use gatehouse_messaging::harness::{ProviderReply, SmsProvider, ACCOUNT_SID, AUTH_TOKEN, FROM};
use gatehouse_messaging::{SendError, Sender, SmsWebhookConfig, SmsWebhookSender};

use crate::{assert_holds_none, port_nobody_listens_on, sms};

const TO: &str = "+447700900123";
const CALLBACK: &str = "https://gatehouse.example.test/v1/messaging/sms/status";

#[tokio::test]
async fn a_sent_sms_posts_the_form_with_basic_auth_and_keeps_the_sid() {
    // proves: ID-11 ID-8
    let provider = SmsProvider::start().await.unwrap();
    let config = SmsWebhookConfig {
        status_callback_url: Some(CALLBACK.to_owned()),
        ..provider.config()
    };
    let sender = SmsWebhookSender::new(&config).unwrap();
    assert_eq!(sender.name(), "sms_webhook");
    let body = "Your Gatehouse code is 493817. It expires in 10 minutes.";
    let receipt = sender.send(&sms(TO, body)).await.unwrap();

    let posts = provider.posts();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    let sid = receipt.provider_id.unwrap();
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(
        post.path,
        format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    );
    assert_eq!(
        post.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(post.field("To"), Some(TO));
    assert_eq!(post.field("From"), Some(FROM));
    assert_eq!(post.field("Body"), Some(body));
    assert_eq!(post.field("StatusCallback"), Some(CALLBACK));
    assert_eq!(
        post.basic_auth(),
        Some((ACCOUNT_SID.to_owned(), AUTH_TOKEN.to_owned()))
    );
}

#[tokio::test]
async fn over_https_the_providers_certificate_is_verified() {
    // proves: ID-11
    let provider = SmsProvider::start_https().await.unwrap();
    let config = provider.config();
    assert!(config.url.starts_with("https://") && config.ca_file.is_some());
    let receipt = SmsWebhookSender::new(&config)
        .unwrap()
        .send(&sms(TO, "Your code is 271828"))
        .await
        .unwrap();
    assert!(receipt.provider_id.is_some());
    assert_eq!(provider.posts().len(), 1);

    // Without the CA that signed it, nothing is posted, and the reason says why.
    let untrusting = SmsWebhookConfig {
        ca_file: None,
        ..provider.config()
    };
    let err = SmsWebhookSender::new(&untrusting)
        .unwrap()
        .send(&sms(TO, "Your code is 314159"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SendError::Misconfigured { reason } if reason.contains("not trusted")),
        "{err:?}"
    );
    assert_eq!(provider.posts().len(), 1);
}

#[tokio::test]
async fn no_status_callback_is_sent_unless_configured() {
    // proves: ID-11
    let provider = SmsProvider::start().await.unwrap();
    let sender = SmsWebhookSender::new(&provider.config()).unwrap();
    sender.send(&sms(TO, "Your code is 1")).await.unwrap();
    assert_eq!(provider.posts()[0].field("StatusCallback"), None);
}

#[tokio::test]
async fn a_provider_refusal_is_permanent_and_carries_its_code_not_our_body() {
    // proves: ID-11 ID-8
    let provider = SmsProvider::start().await.unwrap();
    provider.reply_with(ProviderReply::invalid_to());
    let sender = SmsWebhookSender::new(&provider.config()).unwrap();
    let err = sender
        .send(&sms(TO, "Your code is 314159"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Refused { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.code(), "message_refused");
    let said = err.to_string();
    assert!(
        said.contains("400") && said.contains("21211") && said.contains("invalid To"),
        "{said}"
    );
    assert_holds_none(&said, &["314159", TO, AUTH_TOKEN]);
}

#[tokio::test]
async fn a_busy_or_failing_provider_is_unavailable_and_retryable() {
    // proves: ID-11
    let provider = SmsProvider::start().await.unwrap();
    let sender = SmsWebhookSender::new(&provider.config()).unwrap();
    for status in [503, 429, 500] {
        provider.reply_with(ProviderReply::Unavailable(status));
        let err = sender
            .send(&sms(TO, "Your code is 271828"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SendError::Unavailable { .. }),
            "{status}: {err:?}"
        );
        assert!(err.is_retryable());
        assert_eq!(err.code(), "sender_unavailable");
        assert!(err.to_string().contains(&status.to_string()), "{err}");
    }
    // Back to normal, it sends again.
    provider.reply_with(ProviderReply::Created);
    assert!(sender.send(&sms(TO, "Your code is 2")).await.is_ok());
}

#[tokio::test]
async fn a_provider_that_hangs_is_unavailable_within_the_timeout() {
    // proves: ID-11
    let provider = SmsProvider::start().await.unwrap();
    provider.reply_with(ProviderReply::Hang);
    let config = SmsWebhookConfig {
        timeout_ms: 300,
        ..provider.config()
    };
    let started = Instant::now();
    let err = SmsWebhookSender::new(&config)
        .unwrap()
        .send(&sms(TO, "Your code is 161803"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(provider.posts().len(), 1, "the request did arrive");
}

#[tokio::test]
async fn nobody_listening_is_unavailable() {
    // proves: ID-11
    let config = SmsWebhookConfig {
        url: format!("http://127.0.0.1:{}/send", port_nobody_listens_on()),
        account_sid: ACCOUNT_SID.to_owned(),
        auth_token: AUTH_TOKEN.to_owned(),
        from: FROM.to_owned(),
        status_callback_url: None,
        ca_file: None,
        timeout_ms: 2_000,
    };
    let err = SmsWebhookSender::new(&config)
        .unwrap()
        .send(&sms(TO, "Your code is 141421"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Unavailable { .. }), "{err:?}");
    assert_holds_none(&err.to_string(), &["141421", AUTH_TOKEN]);
}

#[tokio::test]
async fn an_email_message_is_not_sent_by_sms() {
    // proves: ID-11
    let provider = SmsProvider::start().await.unwrap();
    let sender = SmsWebhookSender::new(&provider.config()).unwrap();
    let err = sender
        .send(&crate::email("sam@example.test", "Your code is 3"))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::Misconfigured { .. }), "{err:?}");
    assert!(provider.posts().is_empty());
}

#[test]
fn plain_http_to_another_host_is_refused_by_the_configuration() {
    // proves: ID-11
    let config = SmsWebhookConfig {
        url: "http://sms.example.com/2010-04-01/Accounts/AC1/Messages.json".into(),
        account_sid: "AC1".into(),
        auth_token: "sms-token-1".into(),
        from: FROM.into(),
        status_callback_url: None,
        ca_file: None,
        timeout_ms: 1_000,
    };
    assert_eq!(
        config.validate().unwrap_err().0,
        "messaging.sms.webhook.url"
    );
    let err = SmsWebhookSender::new(&config).unwrap_err();
    assert!(matches!(err, SendError::Misconfigured { .. }), "{err:?}");
    assert_holds_none(&err.to_string(), &["sms-token-1"]);
}
