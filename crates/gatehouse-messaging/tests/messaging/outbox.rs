//! The development outbox and how `Senders` picks a sender.

use std::sync::Arc;

use chrono::TimeZone;
use gatehouse_messaging::{Channel, Clock, Outbox, Sender, Senders, SendersConfig};

use crate::{email, sms};

fn fixed_clock() -> Clock {
    Arc::new(|| {
        chrono::Utc
            .with_ymd_and_hms(2025, 3, 14, 15, 9, 26)
            .single()
            .unwrap()
    })
}

#[tokio::test]
async fn the_outbox_keeps_the_newest_within_its_capacity() {
    // proves: ID-11 ID-8
    let outbox = Outbox::new(3, fixed_clock());
    assert_eq!(outbox.name(), "outbox");
    let mut receipts = Vec::new();
    for i in 1..=5 {
        let receipt = outbox
            .send(&sms("+447700900123", &format!("Your code is 00000{i}")))
            .await
            .unwrap();
        receipts.push(receipt.provider_id.unwrap());
    }
    assert_eq!(receipts.last().map(String::as_str), Some("outbox-5"));
    let kept = outbox.list();
    assert_eq!(kept.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(
        kept.iter().map(|e| e.body.as_str()).collect::<Vec<_>>(),
        [
            "Your code is 000003",
            "Your code is 000004",
            "Your code is 000005"
        ]
    );
    assert!(kept.iter().all(|e| e.at == fixed_clock()()));
    assert_eq!(outbox.latest_to("+447700900123").map(|e| e.id), Some(5));
    assert_eq!(outbox.latest_to("+447700900999"), None);
}

#[tokio::test]
async fn outbox_entries_serialize_for_the_outbox_page() {
    // proves: ID-11
    let outbox = Outbox::new(10, fixed_clock());
    outbox
        .send(&email("sam@example.test", "Your code is 424242"))
        .await
        .unwrap();
    let json = serde_json::to_value(outbox.list()).unwrap();
    assert_eq!(json[0]["id"], 1);
    assert_eq!(json[0]["channel"], "email");
    assert_eq!(json[0]["kind"], "sign_in_code");
    assert_eq!(json[0]["to"], "sam@example.test");
    assert_eq!(json[0]["body"], "Your code is 424242");
    assert_eq!(json[0]["at"], "2025-03-14T15:09:26Z");
}

#[tokio::test]
async fn senders_use_the_outbox_only_when_it_is_on() {
    // proves: ID-11
    let off = Senders::from_config(&SendersConfig::default(), fixed_clock()).unwrap();
    assert!(off.for_channel(Channel::Email).is_none());
    assert!(off.for_channel(Channel::Sms).is_none());

    let on = SendersConfig {
        outbox: true,
        outbox_capacity: 2,
        ..SendersConfig::default()
    };
    let senders = Senders::from_config(&on, fixed_clock()).unwrap();
    let sender = senders.for_channel(Channel::Sms).unwrap();
    sender
        .send(&sms("+447700900123", "Your code is 1"))
        .await
        .unwrap();
    let outbox = senders.outbox.as_ref().unwrap();
    assert_eq!(outbox.capacity(), 2);
    assert_eq!(outbox.list().len(), 1);

    let only = Senders::outbox_only(4, fixed_clock());
    assert_eq!(
        only.for_channel(Channel::Email).map(|s| s.name()),
        Some("outbox")
    );
}
