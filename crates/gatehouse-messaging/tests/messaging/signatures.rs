//! Signed delivery-status callbacks (`X-Twilio-Signature`).

use gatehouse_messaging::harness::sign_callback;
use gatehouse_messaging::{verify_status_callback, DeliveryState, DeliveryStatus};

/// The worked example in Twilio's webhook security documentation
/// (twilio.com/docs/usage/security, "Validating signatures from Twilio"): auth
/// token `12345`, this URL and these parameters sign to `0/KCTR6DLpKmkAf8muzZqo1nDgQ=`.
const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const SIGNATURE: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

/// Out of order on purpose: the signature sorts them.
fn params() -> Vec<(String, String)> {
    [
        ("To", "+18005551212"),
        ("Digits", "1234"),
        ("CallSid", "CA1234567890ABCDE"),
        ("From", "+12349013030"),
        ("Caller", "+12349013030"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect()
}

#[test]
fn twilios_published_example_verifies() {
    // proves: ID-11
    assert!(verify_status_callback(TOKEN, URL, &params(), SIGNATURE));
    assert_eq!(sign_callback(TOKEN, URL, &params()), SIGNATURE);
}

#[test]
fn a_tampered_url_parameter_signature_or_token_is_rejected() {
    // proves: ID-11
    let tampered_url = "https://mycompany.com/myapp.php?foo=1&bar=3";
    assert!(!verify_status_callback(
        TOKEN,
        tampered_url,
        &params(),
        SIGNATURE
    ));
    assert!(!verify_status_callback(
        TOKEN,
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        &params(),
        SIGNATURE
    ));

    let mut changed = params();
    changed[1].1 = "9999".to_owned();
    assert!(!verify_status_callback(TOKEN, URL, &changed, SIGNATURE));
    let mut added = params();
    added.push(("MessageStatus".to_owned(), "delivered".to_owned()));
    assert!(!verify_status_callback(TOKEN, URL, &added, SIGNATURE));
    let mut removed = params();
    removed.pop();
    assert!(!verify_status_callback(TOKEN, URL, &removed, SIGNATURE));
    let mut renamed = params();
    renamed[0].0 = "to".to_owned();
    assert!(!verify_status_callback(TOKEN, URL, &renamed, SIGNATURE));

    for signature in [
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ",
        "1/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ==",
        "",
        "not base64 at all",
    ] {
        assert!(
            !verify_status_callback(TOKEN, URL, &params(), signature),
            "{signature:?}"
        );
    }
    assert!(!verify_status_callback("54321", URL, &params(), SIGNATURE));
}

#[test]
fn a_signed_delivery_report_is_read_after_it_verifies() {
    // proves: ID-11
    let url = "https://gatehouse.example.test/v1/messaging/sms/status";
    let form: Vec<(String, String)> = [
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("MessageStatus", "failed"),
        ("ErrorCode", "30006"),
        ("To", "+447700900123"),
        ("AccountSid", "AC00000000000000000000000000000000"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    let signature = sign_callback("token-1", url, &form);
    assert!(verify_status_callback("token-1", url, &form, &signature));
    let status = DeliveryStatus::from_form(&form).unwrap();
    assert_eq!(status.message_sid, "SM0123456789abcdef0123456789abcdef");
    assert_eq!(status.status, DeliveryState::Failed);
    assert!(status.status.is_failure());
    assert_eq!(status.error_code.as_deref(), Some("30006"));
    assert_eq!(status.to, "+447700900123");
}
