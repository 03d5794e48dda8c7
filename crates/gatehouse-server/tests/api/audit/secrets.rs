//! AU-4: secrets never reach the log. Every kind is sent with a unique marker,
//! then the whole database is searched for the markers: the SQLite file itself,
//! or on PostgreSQL everything the trail and the blocked log hold.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::AuditQuery;
use gatehouse_types::{IngestStatus, Role};
use serde_json::json;

use super::{all_blocked, event, find, ingest, mint, send, whole_trail};

fn marker(kind: &str) -> String {
    format!("MK{kind}{}", uuid::Uuid::new_v4().simple())
}

/// A new marker, kept in `secrets` to search for later.
fn keep(secrets: &mut Vec<String>, kind: &str) -> String {
    let m = marker(kind);
    secrets.push(m.clone());
    m
}

async fn secrets_never_reach_the_log(db: Db) {
    let is_sqlite = matches!(db, Db::Sqlite);
    let server = TestServer::start(db).await;
    let raw = server.raw();
    let admin = &server.admin_token;
    let mut secrets: Vec<String> = vec![admin.clone()];

    // Credentials in headers, good and bad.
    let unknown_bearer = {
        let m = keep(&mut secrets, "BEARER");
        format!("gh_{m}{}", "A".repeat(43 - m.len()))
    };
    let malformed_bearer = keep(&mut secrets, "MALFORMED");
    let cookie = keep(&mut secrets, "COOKIE");
    let set_cookie = keep(&mut secrets, "SETCOOKIE");
    let api_key_header = keep(&mut secrets, "APIKEYHDR");
    let info = server.url("/v1/server");
    assert_eq!(
        send(raw.get(&info).bearer_auth(&unknown_bearer)).await.0,
        401
    );
    assert_eq!(
        send(raw.get(&info).bearer_auth(&malformed_bearer)).await.0,
        401
    );
    let with_headers = raw
        .get(&info)
        .bearer_auth(admin)
        .header("cookie", format!("session={cookie}; theme=dark"))
        .header("set-cookie", format!("sid={set_cookie}"))
        .header("x-api-key", &api_key_header);
    assert_eq!(send(with_headers).await.0, 200);

    // Secrets in query strings, however spelt, on known and unknown routes.
    let queries = [
        format!(
            "/v1/audit/events?access_token={}",
            keep(&mut secrets, "QSACCESS")
        ),
        format!(
            "/v1/audit/events?q=x&password={}",
            keep(&mut secrets, "QSPASSWORD")
        ),
        format!(
            "/v1/audit/events?Access-Token={}",
            keep(&mut secrets, "QSSPELT")
        ),
        format!(
            "/v1/audit/events?access%5Ftoken={}",
            keep(&mut secrets, "QSENCODED")
        ),
        format!(
            "/v1/nothing?api_key={}&client_secret={}",
            keep(&mut secrets, "QSAPIKEY"),
            keep(&mut secrets, "QSCLIENT")
        ),
        format!("/v1/blocked?token={}", keep(&mut secrets, "QSBLOCKED")),
    ];
    for q in &queries {
        let (status, _) = send(raw.get(server.url(q)).bearer_auth(admin)).await;
        assert!(status == 400 || status == 404, "{q}: {status}");
    }

    // A request body is never stored, even one refused for naming a secret field.
    let body_secret = keep(&mut secrets, "BODY");
    let response = raw
        .post(server.url("/v1/api-tokens"))
        .bearer_auth(admin)
        .json(&json!({"name": "x", "role": "auditor", "password": body_secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    // The minted secret, used.
    let (minted, _) = mint(&server, Role::Auditor, "minted").await;
    secrets.push(minted.clone());
    assert_eq!(send(raw.get(&info).bearer_auth(&minted)).await.0, 200);

    // Reported events with secret fields at any depth.
    let (service, service_id) = mint(&server, Role::Service, "svc").await;
    secrets.push(service.clone());
    let visible = marker("VISIBLE");
    let mut reported = event("s1", "user.login");
    reported["details"] = json!({
        "password": keep(&mut secrets, "EVPASSWORD"),
        "token": keep(&mut secrets, "EVTOKEN"),
        "api_key": keep(&mut secrets, "EVAPIKEY"),
        "otp": keep(&mut secrets, "EVOTP"),
        "client_secret": keep(&mut secrets, "EVCLIENT"),
        "nested": {"items": [{"Authorization": keep(&mut secrets, "EVAUTH")}, {"totp": 123_456}]},
        "visible": visible,
    });
    reported["before"] = json!({"password": keep(&mut secrets, "EVBEFORE"), "X-Auth-Token": keep(&mut secrets, "EVXAUTH")});
    reported["after"] = json!({"refresh_token": keep(&mut secrets, "EVREFRESH"), "Api-Key": keep(&mut secrets, "EVAPIKEY2")});
    // Refused events are not stored at all.
    let mut refused = event("s2", "user.login");
    refused["outcome"] = json!("unknown");
    refused["details"] = json!({"password": keep(&mut secrets, "EVREFUSED"), "note": keep(&mut secrets, "EVREFUSEDNOTE")});
    let answer = ingest(&server, &service, vec![reported, refused]).await;
    assert_eq!(answer.results[0].status, IngestStatus::Accepted);
    assert_eq!(answer.results[1].status, IngestStatus::Rejected);

    // Redacted, not dropped: the record still says which fields there were.
    let stored = find(
        &server,
        AuditQuery {
            actor: Some(service_id.to_string()),
            action: Some("user.login".into()),
            ..AuditQuery::default()
        },
    )
    .await;
    let details = &stored[0].details.as_ref().unwrap()["reported"];
    assert_eq!(details["password"], "[redacted]");
    assert_eq!(details["nested"]["items"][0]["Authorization"], "[redacted]");
    assert_eq!(details["nested"]["items"][1]["totp"], "[redacted]");
    assert_eq!(details["visible"], visible.as_str());
    assert_eq!(
        stored[0].before.as_ref().unwrap()["X-Auth-Token"],
        "[redacted]"
    );
    assert_eq!(stored[0].after.as_ref().unwrap()["Api-Key"], "[redacted]");

    // Credentials recognised by their shape, under keys that name no secret, in
    // an ingested event and in a request's query, user agent and path.
    // proves: AU-4
    let shaped = |secrets: &mut Vec<String>, tag: &str| {
        let gh = keep(secrets, &format!("{tag}GH"));
        let jwt = keep(secrets, &format!("{tag}JWT"));
        let pem = keep(secrets, &format!("{tag}PEM"));
        let bearer = keep(secrets, &format!("{tag}BEARER"));
        (
            format!("gh_{gh}{}", "A".repeat(43 - gh.len())),
            format!("eyJ{jwt}.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"),
            format!("-----BEGIN EC PRIVATE KEY-----\n{pem}\n-----END EC PRIVATE KEY-----"),
            format!("Bearer {bearer}"),
        )
    };
    let (gh, jwt, pem, bearer) = shaped(&mut secrets, "EV");
    let mut by_shape = event("s3", "user.sync");
    by_shape["details"] = json!({
        "note": format!("called upstream with {bearer} and got {jwt} back"),
        "items": [gh, {"deep": [pem]}],
        "visible": visible,
    });
    by_shape["before"] = json!({"value": jwt});
    by_shape["after"] = json!({"value": pem, "other": [bearer]});
    // An id that is a credential is refused: redacted, it would be a duplicate.
    let credential_id = event(&shaped(&mut secrets, "ID").0, "user.sync");
    let answer = ingest(&server, &service, vec![by_shape, credential_id]).await;
    assert_eq!(answer.results[0].status, IngestStatus::Accepted);
    assert_eq!(answer.results[1].status, IngestStatus::Rejected);
    let stored = find(
        &server,
        AuditQuery {
            actor: Some(service_id.to_string()),
            action: Some("user.sync".into()),
            ..AuditQuery::default()
        },
    )
    .await;
    let details = &stored[0].details.as_ref().unwrap()["reported"];
    assert_eq!(
        details["note"],
        "called upstream with Bearer [redacted] and got [redacted] back"
    );
    assert_eq!(
        details["items"],
        json!(["[redacted]", {"deep": ["[redacted]"]}])
    );
    assert_eq!(details["visible"], visible.as_str());

    let (gh, jwt, pem, bearer) = shaped(&mut secrets, "RQ");
    let query = serde_urlencoded::to_string([
        ("q", pem.as_str()),
        ("actor", bearer.as_str()),
        ("note", &format!("see {jwt}")),
    ])
    .unwrap();
    let response = raw
        .get(server.url(&format!("/v1/audit/events?{query}")))
        .bearer_auth(admin)
        .header("user-agent", format!("tool/1 ({gh}; {jwt})"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let (gh, jwt, _, _) = shaped(&mut secrets, "PATH");
    let path = format!("/v1/nothing/{gh}/{jwt}");
    assert_eq!(
        send(raw.get(server.url(&path)).bearer_auth(admin)).await.0,
        404
    );

    // Everything the API can show of the trail and the blocked log...
    let mut seen = String::new();
    for r in whole_trail(&server.client()).await {
        seen.push_str(&serde_json::to_string(&r).unwrap());
    }
    for b in all_blocked(&server).await {
        seen.push_str(&serde_json::to_string(&b).unwrap());
    }
    assert!(seen.contains(&visible), "the search sees ordinary values");
    for s in &secrets {
        assert!(!seen.contains(s.as_str()), "{s} reached the log");
    }

    // ...and, on SQLite, every byte of the database and its write-ahead log.
    if is_sqlite {
        let dir = &server.config.data_dir;
        let mut bytes = std::fs::read(dir.join("gatehouse.db")).unwrap();
        if let Ok(wal) = std::fs::read(dir.join("gatehouse.db-wal")) {
            bytes.extend(wal);
        }
        let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(contains(&visible), "the scan sees ordinary values");
        for s in &secrets {
            assert!(!contains(s), "{s} is in the database file");
        }
    }
}

on_both_databases!(secrets_never_reach_the_log);
