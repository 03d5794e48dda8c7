//! Directory sign-in (ID-4, AD) over the real API against a real OpenLDAP
//! (`slapd`, started on free ports with a throwaway configuration): the user
//! is created on the first sign-in from the entry and found again by its DN;
//! a wrong password and an unknown login answer alike; what the directory
//! says of the account is answered as such; a directory that is down is
//! `directory_unavailable`.

use gatehouse_directory::harness::{password_for, Slapd};
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

// proves: ID-4, ID-7
async fn a_directory_user_signs_in_and_is_created_once(db: Db) {
    let slapd = Slapd::start().await.unwrap();
    let config = slapd.config();
    let server = TestServer::start_with(db, |c| {
        c.directory = Some(config);
        c.anonymous.requests_per_window = 0;
    })
    .await;
    let put = server
        .raw()
        .put(server.url("/v1/user-types/clinician"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"name": "clinician", "sign_in": ["directory"], "second_factor": "optional"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let mut user_ids = Vec::new();
    for _ in 0..2 {
        let signed = post(
            &server,
            "/v1/auth/directory",
            json!({"login": "alice", "password": password_for("alice")}),
        )
        .await;
        let record = record_of(&server, &signed).await;
        assert_eq!(signed.status(), 200);
        let body: Value = signed.json().await.unwrap();
        assert_eq!(body["status"], "signed_in");
        assert_eq!(record["details"]["sign_in_method"], "directory");
        assert!(!record.to_string().contains(&password_for("alice")));
        user_ids.push(body["user_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(user_ids[0], user_ids[1], "found again by the entry's DN");
    let user: Value = server
        .raw()
        .get(server.url(&format!("/v1/users/{}", user_ids[0])))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["user_type"], "clinician");
    assert_eq!(
        user["entitlements"],
        json!(["records:read", "research:read"])
    );
    // A wrong password and an unknown login: the same refusal.
    for (login, password) in [
        ("alice", "wrong password entirely"),
        ("nobody", "whatever it is"),
    ] {
        let refused = post(
            &server,
            "/v1/auth/directory",
            json!({"login": login, "password": password}),
        )
        .await;
        assert_error(refused, 401, ErrorCode::InvalidCredentials).await;
    }
    let empty = post(
        &server,
        "/v1/auth/directory",
        json!({"login": "alice", "password": ""}),
    )
    .await;
    assert_error(empty, 401, ErrorCode::InvalidCredentials).await;
    // Bob's type (operator) does not exist here: refused like the rest.
    let bob = post(
        &server,
        "/v1/auth/directory",
        json!({"login": "bob", "password": password_for("bob")}),
    )
    .await;
    assert_error(bob, 401, ErrorCode::InvalidCredentials).await;
    // The directory's own verdicts on the account.
    let dave = post(
        &server,
        "/v1/auth/directory",
        json!({"login": "dave", "password": password_for("dave")}),
    )
    .await;
    assert_error(dave, 401, ErrorCode::AccountLocked).await;
    drop(slapd);
    let down = post(
        &server,
        "/v1/auth/directory",
        json!({"login": "alice", "password": password_for("alice")}),
    )
    .await;
    let record = record_of(&server, &down).await;
    assert_error(down, 503, ErrorCode::DirectoryUnavailable).await;
    assert!(record["details"]["directory_error"].is_string());
}

on_both_databases!(a_directory_user_signs_in_and_is_created_once);
