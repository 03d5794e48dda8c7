//! Many writers at once keep one chain and one record per request; what a client
//! claims about itself does not replace what the server saw.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::Role;

use super::{event, mint, records_of, send, the_record_of, whole_trail};

async fn concurrent_requests_keep_one_chain(db: Db) {
    let server = TestServer::start(db).await;
    let (service_a, _) = mint(&server, Role::Service, "a").await;
    let (service_b, _) = mint(&server, Role::Service, "b").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let raw = server.raw();
        let url = server.url(if i % 3 == 0 {
            "/v1/server"
        } else {
            "/v1/audit/events"
        });
        let admin = server.admin_token.clone();
        let service = if (i / 2) % 2 == 0 {
            service_a.clone()
        } else {
            service_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            let request = if i % 3 == 0 {
                raw.get(url).bearer_auth(admin)
            } else {
                // Every event twice, from two requests racing each other.
                let events = vec![event(&format!("c{}", i / 2), "race.run")];
                raw.post(url)
                    .bearer_auth(service)
                    .json(&serde_json::json!({ "events": events }))
            };
            let (status, rid) = send(request).await;
            assert_eq!(status, 200);
            (i, rid)
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    for (i, rid) in &done {
        let records = records_of(&server, rid).await;
        let expected = if i % 3 == 0 { 1 } else { 2 };
        assert!(
            records.len() <= expected && !records.is_empty(),
            "{i}: {records:#?}"
        );
    }
    let trail = whole_trail(&server.client()).await;
    let seqs: Vec<u64> = trail.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=trail.len() as u64).collect::<Vec<_>>());
    // Each (service, event id) is stored exactly once however the races went.
    let mut events: Vec<(String, String)> = trail
        .iter()
        .filter_map(|r| r.event_id.clone().map(|e| (r.actor.id.clone(), e)))
        .collect();
    let n = events.len();
    events.sort();
    events.dedup();
    assert_eq!(events.len(), n, "no event stored twice");
    let report = server.client().verify_audit().await.unwrap();
    assert!(report.is_intact, "{report:?}");
}

async fn the_source_is_the_peer_not_what_the_client_claims(db: Db) {
    let server = TestServer::start(db).await;
    let request = server
        .raw()
        .get(server.url("/v1/server"))
        .bearer_auth(&server.admin_token)
        .header("x-forwarded-for", "10.6.6.6")
        .header("x-real-ip", "10.6.6.7")
        .header("forwarded", "for=10.6.6.8");
    let (_, rid) = send(request).await;
    assert_eq!(the_record_of(&server, &rid).await.source_ip, "127.0.0.1");
    let (_, rid) = send(
        server
            .raw()
            .get(server.url("/v1/server"))
            .header("x-forwarded-for", "10.6.6.6"),
    )
    .await;
    let blocked = super::blocked_of(&server, &rid).await;
    assert_eq!(blocked[0].source_ip, "127.0.0.1");
}

on_both_databases!(
    concurrent_requests_keep_one_chain,
    the_source_is_the_peer_not_what_the_client_claims,
);
