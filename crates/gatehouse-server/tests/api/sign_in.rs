//! People signing in with a password (ID-4, ID-6, ID-7), their sessions and
//! refresh tokens (ID-9, TK-4), over the real API: every refusal answers the
//! same, the lockout holds and ends, a reused refresh token ends its session,
//! and an ended session's tokens are refused at once.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;
use serde_json::{json, Value};

use crate::assert_error;
use crate::oauth::{recent_records, record_of};

const PASSWORD: &str = "correct horse battery staple 42";

async fn send(
    server: &TestServer,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = server.raw().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// A `staff` type (password alone), a `nurse` type (second factor required),
/// and one user of each with a password; returns their ids.
async fn people(server: &TestServer) -> (String, String) {
    let admin = Some(server.admin_token.as_str());
    for (name, second) in [("staff", "optional"), ("nurse", "required")] {
        let put = send(
            server,
            admin,
            reqwest::Method::PUT,
            &format!("/v1/user-types/{name}"),
            Some(json!({"name": name, "sign_in": ["password"], "second_factor": second})),
        )
        .await;
        assert_eq!(put.status(), 200);
    }
    let mut ids = Vec::new();
    for (kind, email) in [("staff", "sam@example.com"), ("nurse", "nia@example.com")] {
        let created: Value = send(
            server,
            admin,
            reqwest::Method::POST,
            "/v1/users",
            Some(json!({"user_type": kind, "display_name": kind, "email": email})),
        )
        .await
        .json()
        .await
        .unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let set = send(
            server,
            admin,
            reqwest::Method::POST,
            &format!("/v1/users/{id}/password"),
            Some(json!({"password": PASSWORD})),
        )
        .await;
        assert_eq!(set.status(), 204, "{}", set.text().await.unwrap());
        ids.push(id);
    }
    (ids.remove(0), ids.remove(0))
}

async fn sign_in(server: &TestServer, email: &str, password: &str) -> reqwest::Response {
    send(
        server,
        None,
        reqwest::Method::POST,
        "/v1/auth/password",
        Some(json!({"email": email, "password": password})),
    )
    .await
}

// proves: ID-4, ID-9, TK-1
async fn a_password_sign_in_opens_a_session_whose_token_acts_as_the_person(db: Db) {
    let server = TestServer::start(db).await;
    let (sam, _) = people(&server).await;
    let response = sign_in(&server, "Sam@Example.com", PASSWORD).await;
    let record = record_of(&server, &response).await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["user_id"], sam.as_str());
    assert!(tokens["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("ghr_"));
    assert_eq!(record["details"]["sign_in_outcome"], "success");
    assert_eq!(record["resource"]["id"], sam.as_str());
    assert!(!record.to_string().contains(PASSWORD));
    let access = tokens["access_token"].as_str().unwrap();
    // The person reads their own profile (builtin.user) and nothing else.
    let own = send(
        &server,
        Some(access),
        reqwest::Method::GET,
        &format!("/v1/users/{sam}"),
        None,
    )
    .await;
    let record = record_of(&server, &own).await;
    assert_eq!(own.status(), 200);
    assert_eq!(record["actor"]["kind"], "user");
    assert_eq!(record["actor"]["id"], sam.as_str());
    let list = send(
        &server,
        Some(access),
        reqwest::Method::GET,
        "/v1/users",
        None,
    )
    .await;
    assert_error(list, 403, ErrorCode::Forbidden).await;
    // The session is listed for administrators.
    let sessions: Value = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        &format!("/v1/users/{sam}/sessions"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(sessions["items"][0]["id"], tokens["session_id"]);
    assert_eq!(sessions["items"][0]["amr"], json!(["pwd"]));
    server.stop().await;
}

// proves: ID-7
async fn every_refusal_answers_the_same_and_the_record_says_why(db: Db) {
    let server = TestServer::start(db).await;
    let (sam, nia) = people(&server).await;
    let other: Value = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::POST,
        "/v1/users",
        Some(json!({"user_type": "staff", "display_name": "Lou", "email": "lou@example.com"})),
    )
    .await
    .json()
    .await
    .unwrap();
    let lou = other["id"].as_str().unwrap().to_owned();
    let locked = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::POST,
        &format!("/v1/users/{sam}/lock"),
        None,
    )
    .await;
    assert_eq!(locked.status(), 200);
    let cases = [
        ("nobody@example.com", PASSWORD, "unknown_account", None),
        ("sam@example.com", PASSWORD, "locked", Some(sam.as_str())),
        (
            "nia@example.com",
            PASSWORD,
            "no_second_factor",
            Some(nia.as_str()),
        ),
        (
            "lou@example.com",
            PASSWORD,
            "no_password_set",
            Some(lou.as_str()),
        ),
    ];
    let mut answers = Vec::new();
    for (email, password, reason, user) in cases {
        let response = sign_in(&server, email, password).await;
        let record = record_of(&server, &response).await;
        assert_eq!(record["details"]["sign_in_failure"], reason, "{email}");
        if let Some(user) = user {
            assert_eq!(record["resource"]["id"], user, "{email}");
        }
        let mut headers: Vec<String> = response
            .headers()
            .iter()
            .filter(|(k, _)| *k != "x-request-id" && *k != "date")
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
            .collect();
        headers.sort();
        let error = assert_error(response, 401, ErrorCode::InvalidCredentials).await;
        answers.push((headers, error.message));
    }
    // A wrong password for a user who could sign in answers exactly the same.
    let unlocked = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::DELETE,
        &format!("/v1/users/{sam}/lock"),
        None,
    )
    .await;
    assert_eq!(unlocked.status(), 200);
    let wrong = sign_in(&server, "sam@example.com", "not the right password at all").await;
    let record = record_of(&server, &wrong).await;
    assert_eq!(record["details"]["sign_in_failure"], "wrong_password");
    assert!(!record.to_string().contains("not the right password"));
    let mut headers: Vec<String> = wrong
        .headers()
        .iter()
        .filter(|(k, _)| *k != "x-request-id" && *k != "date")
        .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
        .collect();
    headers.sort();
    let error = assert_error(wrong, 401, ErrorCode::InvalidCredentials).await;
    answers.push((headers, error.message));
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:#?}");
    // Nothing anywhere in the trail holds a password.
    assert_eq!(
        recent_records(&server, "q=staple").await,
        Vec::<Value>::new()
    );
    server.stop().await;
}

// proves: ID-7
async fn a_hundred_guesses_lock_the_account_until_the_hour_lets_go(db: Db) {
    let server = TestServer::start_with(db, |c| c.identity.max_failures_per_hour = 3).await;
    let (sam, _) = people(&server).await;
    for _ in 0..3 {
        let wrong = sign_in(&server, "sam@example.com", "a wrong password guess").await;
        assert_error(wrong, 401, ErrorCode::InvalidCredentials).await;
    }
    // Locked: the right password is refused too, and the record says locked.
    let right = sign_in(&server, "sam@example.com", PASSWORD).await;
    let record = record_of(&server, &right).await;
    assert_eq!(record["details"]["sign_in_failure"], "locked");
    assert_error(right, 401, ErrorCode::InvalidCredentials).await;
    let user: Value = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        &format!("/v1/users/{sam}"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(user["locked_until"].is_string(), "{user}");
    // It ends by itself once the oldest failure leaves the hour.
    server.clock.advance(chrono::Duration::seconds(3601));
    assert_eq!(
        sign_in(&server, "sam@example.com", PASSWORD).await.status(),
        200
    );
    // An administrator ends one early.
    for _ in 0..3 {
        sign_in(&server, "sam@example.com", "a wrong password guess").await;
    }
    assert_eq!(
        sign_in(&server, "sam@example.com", PASSWORD).await.status(),
        401
    );
    let unlock = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::DELETE,
        &format!("/v1/users/{sam}/lock"),
        None,
    )
    .await;
    assert_eq!(unlock.status(), 200);
    assert_eq!(
        sign_in(&server, "sam@example.com", PASSWORD).await.status(),
        200
    );
    server.stop().await;
}

// proves: TK-4, ID-9
async fn refresh_rotates_and_a_reused_refresh_token_ends_the_session(db: Db) {
    let server = TestServer::start(db).await;
    let (sam, _) = people(&server).await;
    let first: Value = sign_in(&server, "sam@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh = |token: &str| {
        send(
            &server,
            None,
            reqwest::Method::POST,
            "/v1/auth/refresh",
            Some(json!({"refresh_token": token})),
        )
    };
    let second: Value = refresh(first["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["session_id"], first["session_id"]);
    let access = second["access_token"].as_str().unwrap().to_owned();
    let me = format!("/v1/users/{sam}");
    assert_eq!(
        send(&server, Some(&access), reqwest::Method::GET, &me, None)
            .await
            .status(),
        200
    );
    // The first refresh token again: a thief or a bug; the session ends.
    let reused = refresh(first["refresh_token"].as_str().unwrap()).await;
    let record = record_of(&server, &reused).await;
    assert_eq!(record["details"]["refresh_outcome"], "reused");
    assert_error(reused, 401, ErrorCode::InvalidToken).await;
    let after = send(&server, Some(&access), reqwest::Method::GET, &me, None).await;
    assert_error(after, 401, ErrorCode::InvalidToken).await;
    let latest = refresh(second["refresh_token"].as_str().unwrap()).await;
    assert_error(latest, 401, ErrorCode::InvalidToken).await;
    for bad in ["", "ghr_short", "gh_notarefreshtoken", &"x".repeat(5000)] {
        assert_error(refresh(bad).await, 401, ErrorCode::InvalidToken).await;
    }
    let sessions: Value = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        &format!("/v1/users/{sam}/sessions"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(sessions["items"][0]["end_reason"], "refresh_reuse");
    server.stop().await;
}

// proves: ID-9
async fn logout_lock_password_change_and_end_all_refuse_the_sessions_tokens_at_once(db: Db) {
    let server = TestServer::start(db).await;
    let (sam, _) = people(&server).await;
    let me = format!("/v1/users/{sam}");
    let token = |v: &Value| v["access_token"].as_str().unwrap().to_owned();
    let signed: Value = sign_in(&server, "sam@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let logout = send(
        &server,
        Some(&token(&signed)),
        reqwest::Method::POST,
        "/v1/auth/logout",
        None,
    )
    .await;
    assert_eq!(logout.status(), 204);
    assert_error(
        send(
            &server,
            Some(&token(&signed)),
            reqwest::Method::GET,
            &me,
            None,
        )
        .await,
        401,
        ErrorCode::InvalidToken,
    )
    .await;
    let admin = Some(server.admin_token.as_str());
    let changes: [(reqwest::Method, String, Option<Value>, &str); 3] = [
        (
            reqwest::Method::DELETE,
            format!("/v1/users/{sam}/sessions"),
            None,
            "admin",
        ),
        (
            reqwest::Method::POST,
            format!("/v1/users/{sam}/lock"),
            None,
            "locked",
        ),
        (
            reqwest::Method::POST,
            format!("/v1/users/{sam}/password"),
            Some(json!({"password": "another long passphrase 7"})),
            "password_changed",
        ),
    ];
    let mut password = PASSWORD;
    for (method, path, body, reason) in changes {
        // Each change is made in a new second, so tokens issued after it are new.
        server.clock.advance(chrono::Duration::seconds(2));
        let signed: Value = sign_in(&server, "sam@example.com", password)
            .await
            .json()
            .await
            .unwrap();
        let access = token(&signed);
        assert_eq!(
            send(&server, Some(&access), reqwest::Method::GET, &me, None)
                .await
                .status(),
            200
        );
        server.clock.advance(chrono::Duration::seconds(2));
        let done = send(&server, admin, method, &path, body).await;
        assert!(done.status().is_success(), "{path}: {}", done.status());
        let refused = send(&server, Some(&access), reqwest::Method::GET, &me, None).await;
        assert_error(refused, 401, ErrorCode::InvalidToken).await;
        let sessions: Value = send(
            &server,
            admin,
            reqwest::Method::GET,
            &format!("/v1/users/{sam}/sessions"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(sessions["items"][0]["end_reason"], reason, "{path}");
        if reason == "locked" {
            let unlock = send(&server, admin, reqwest::Method::DELETE, &path, None).await;
            assert_eq!(unlock.status(), 200);
        }
        if reason == "password_changed" {
            password = "another long passphrase 7";
        }
    }
    assert_eq!(
        sign_in(&server, "sam@example.com", password).await.status(),
        200
    );
    // A weak password is refused, and nothing changes.
    for weak in [
        "short",
        "passwordpassword",
        "qwertyuiopasdfgh",
        "sam@example.comsam@example.com",
    ] {
        let refused = send(
            &server,
            admin,
            reqwest::Method::POST,
            &format!("/v1/users/{sam}/password"),
            Some(json!({"password": weak})),
        )
        .await;
        assert_eq!(refused.status(), 422, "{weak}");
        assert_error(refused, 422, ErrorCode::ValidationFailed).await;
    }
    assert_eq!(
        sign_in(&server, "sam@example.com", password).await.status(),
        200
    );
    server.stop().await;
}

// proves: ID-9
async fn an_administrator_ends_one_session_and_the_others_go_on(db: Db) {
    let server = TestServer::start(db).await;
    let (sam, _) = people(&server).await;
    let me = format!("/v1/users/{sam}");
    let first: Value = sign_in(&server, "sam@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let second: Value = sign_in(&server, "sam@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/sessions/{}", first["session_id"].as_str().unwrap());
    let admin = Some(server.admin_token.as_str());
    let ended = send(&server, admin, reqwest::Method::DELETE, &path, None).await;
    let record = record_of(&server, &ended).await;
    assert_eq!(record["action"], "sessions.end");
    let ended: Value = ended.json().await.unwrap();
    assert_eq!(ended["end_reason"], "admin");
    let token = |v: &Value| v["access_token"].as_str().unwrap().to_owned();
    let refused = send(
        &server,
        Some(&token(&first)),
        reqwest::Method::GET,
        &me,
        None,
    )
    .await;
    assert_error(refused, 401, ErrorCode::InvalidToken).await;
    let other = send(
        &server,
        Some(&token(&second)),
        reqwest::Method::GET,
        &me,
        None,
    )
    .await;
    assert_eq!(other.status(), 200);
    // Its refresh token no longer refreshes.
    let refresh = send(
        &server,
        None,
        reqwest::Method::POST,
        "/v1/auth/refresh",
        Some(json!({"refresh_token": first["refresh_token"]})),
    )
    .await;
    assert_error(refresh, 401, ErrorCode::InvalidToken).await;
    // Ending it again keeps the first end; unknown and malformed ids.
    let again: Value = send(&server, admin, reqwest::Method::DELETE, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["ended_at"], ended["ended_at"]);
    let unknown = format!("/v1/sessions/{}", uuid::Uuid::new_v4());
    assert_error(
        send(&server, admin, reqwest::Method::DELETE, &unknown, None).await,
        404,
        ErrorCode::NotFound,
    )
    .await;
    assert_error(
        send(
            &server,
            admin,
            reqwest::Method::DELETE,
            "/v1/sessions/nope",
            None,
        )
        .await,
        400,
        ErrorCode::InvalidParameter,
    )
    .await;
    server.stop().await;
}

on_both_databases!(
    an_administrator_ends_one_session_and_the_others_go_on,
    a_password_sign_in_opens_a_session_whose_token_acts_as_the_person,
    every_refusal_answers_the_same_and_the_record_says_why,
    a_hundred_guesses_lock_the_account_until_the_hour_lets_go,
    refresh_rotates_and_a_reused_refresh_token_ends_the_session,
    logout_lock_password_change_and_end_all_refuse_the_sessions_tokens_at_once,
);
