//! Signing in with codes (ID-4, ID-5, ID-8), second factors and signing up
//! (ID-1, ID-2), over the real API with the server's outbox standing in for
//! the SMS and email providers: codes work once, for their own challenge, for
//! five tries; an unknown address is answered like a known one; a TOTP step
//! is never taken twice; a taken address signs up like a free one and never
//! finishes.

use gatehouse_server::clock::Clock;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;
use serde_json::{json, Value};

use crate::assert_error;
use crate::oauth::record_of;

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

async fn post(server: &TestServer, path: &str, body: Value) -> reqwest::Response {
    send(server, None, reqwest::Method::POST, path, Some(body)).await
}

async fn start(db: Db) -> TestServer {
    TestServer::start_with(db, |c| {
        c.messaging.outbox = true;
        // Every test signs in many times from one address.
        c.anonymous.requests_per_window = 0;
    })
    .await
}

/// The digits of the last code the outbox holds for `to`.
async fn last_code(server: &TestServer, to: &str) -> Option<String> {
    let outbox: Value = send(
        server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        "/v1/outbox",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let messages = outbox["items"].as_array().unwrap();
    let body = messages.iter().rev().find(|m| m["to"] == to)?["body"]
        .as_str()?
        .to_owned();
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 8)
        .map(str::to_owned)
}

async fn outbox_len(server: &TestServer, to: &str) -> usize {
    let outbox: Value = send(
        server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        "/v1/outbox",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["to"] == to)
        .count()
}

/// A user type and one user of it; returns the user's id.
async fn person(server: &TestServer, kind: Value, user: Value) -> String {
    let admin = Some(server.admin_token.as_str());
    let name = kind["name"].as_str().unwrap().to_owned();
    let put = send(
        server,
        admin,
        reqwest::Method::PUT,
        &format!("/v1/user-types/{name}"),
        Some(kind),
    )
    .await;
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let created = send(
        server,
        admin,
        reqwest::Method::POST,
        "/v1/users",
        Some(user),
    )
    .await;
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let created: Value = created.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn set_password(server: &TestServer, id: &str) {
    let set = send(
        server,
        Some(&server.admin_token),
        reqwest::Method::POST,
        &format!("/v1/users/{id}/password"),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(set.status(), 204, "{}", set.text().await.unwrap());
}

// proves: ID-4, ID-8, ID-11
async fn a_phone_alone_signs_in_with_the_code_sent_by_sms(db: Db) {
    let server = start(db).await;
    let kind = json!({"name": "patient", "sign_in": ["phone_code"], "second_factor": "optional"});
    let pat = person(
        &server,
        kind,
        json!({"user_type": "patient", "display_name": "Pat", "phone": "+447700900123"}),
    )
    .await;
    let started = post(
        &server,
        "/v1/auth/otp/start",
        json!({"phone": "+447700900123"}),
    )
    .await;
    assert_eq!(started.status(), 200);
    let challenge: Value = started.json().await.unwrap();
    assert_eq!(challenge["methods"], json!(["sms"]));
    assert!(challenge["sent_to"].as_str().unwrap().ends_with("23"));
    let code = last_code(&server, "+447700900123").await.unwrap();
    let id = challenge["challenge_id"].as_str().unwrap();
    let signed = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": id, "code": code}),
    )
    .await;
    let record = record_of(&server, &signed).await;
    assert_eq!(signed.status(), 200);
    let body: Value = signed.json().await.unwrap();
    assert_eq!(body["status"], "signed_in");
    assert_eq!(body["user_id"], pat.as_str());
    assert_eq!(record["details"]["amr"], json!(["sms"]));
    assert!(!record.to_string().contains(&code), "no code in the record");
    // A code past its five minutes is refused, even the right one.
    let late: Value = post(
        &server,
        "/v1/auth/otp/start",
        json!({"phone": "+447700900123"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let late_code = last_code(&server, "+447700900123").await.unwrap();
    server.clock.advance(chrono::Duration::minutes(6));
    let expired = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": late["challenge_id"], "code": late_code}),
    )
    .await;
    assert_error(expired, 401, ErrorCode::ChallengeExpired).await;
    // The code and the challenge are spent.
    let again = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": id, "code": code}),
    )
    .await;
    assert_error(again, 401, ErrorCode::ChallengeExpired).await;
}

// proves: ID-7, ID-8
async fn an_unknown_phone_is_answered_as_a_known_one_and_a_code_has_five_tries(db: Db) {
    let server = start(db).await;
    let kind = json!({"name": "patient", "sign_in": ["phone_code"], "second_factor": "optional"});
    person(
        &server,
        kind,
        json!({"user_type": "patient", "display_name": "Pat", "phone": "+447700900123"}),
    )
    .await;
    let mut answers = Vec::new();
    for phone in ["+447700900123", "+447700900999"] {
        let started = post(&server, "/v1/auth/otp/start", json!({"phone": phone})).await;
        assert_eq!(started.status(), 200);
        let body: Value = started.json().await.unwrap();
        let keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        answers.push((keys, body["methods"].clone(), body["expires_in"].clone()));
        let id = body["challenge_id"].as_str().unwrap().to_owned();
        // Four wrong codes say how many tries are left, the fifth ends it, and
        // then even the right code is refused.
        for left in (1..=4).rev() {
            let wrong = post(
                &server,
                "/v1/auth/otp/verify",
                json!({"challenge_id": id, "code": "00000000"}),
            )
            .await;
            let error = assert_error(wrong, 401, ErrorCode::InvalidCode).await;
            assert!(
                error.message.contains(&format!("{left} tries left")),
                "{}",
                error.message
            );
        }
        let fifth = post(
            &server,
            "/v1/auth/otp/verify",
            json!({"challenge_id": id, "code": "00000000"}),
        )
        .await;
        assert_error(fifth, 401, ErrorCode::ChallengeExpired).await;
        if let Some(code) = last_code(&server, phone).await {
            let late = post(
                &server,
                "/v1/auth/otp/verify",
                json!({"challenge_id": id, "code": code}),
            )
            .await;
            assert_error(late, 401, ErrorCode::ChallengeExpired).await;
        }
    }
    assert_eq!(
        answers[0], answers[1],
        "the same answer for a known and an unknown phone"
    );
    assert_eq!(
        outbox_len(&server, "+447700900999").await,
        0,
        "no message to nobody"
    );
    // A challenge id that was never given is refused the same way.
    let forged = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": "ghc_nope", "code": "12345678"}),
    )
    .await;
    assert_error(forged, 401, ErrorCode::ChallengeExpired).await;
    // Malformed input is a validation error, with nothing sent.
    for body in [
        json!({"phone": "07700 900123"}),
        json!({}),
        json!({"phone": "+447700900123", "email": "a@example.com"}),
    ] {
        let bad = post(&server, "/v1/auth/otp/start", body).await;
        assert_error(bad, 422, ErrorCode::ValidationFailed).await;
    }
}

// proves: ID-8 (sends rate-limited per destination, whether or not it has an account)
async fn a_destination_gets_at_most_five_codes_in_fifteen_minutes(db: Db) {
    let server = start(db).await;
    for phone in ["+447700900555", "+447700900556"] {
        for _ in 0..5 {
            let ok = post(&server, "/v1/auth/otp/start", json!({"phone": phone})).await;
            assert_eq!(ok.status(), 200);
        }
        let limited = post(&server, "/v1/auth/otp/start", json!({"phone": phone})).await;
        assert_eq!(limited.headers()["retry-after"], "900");
        assert_error(limited, 429, ErrorCode::RateLimited).await;
        server.clock.advance(chrono::Duration::minutes(16));
        let later = post(&server, "/v1/auth/otp/start", json!({"phone": phone})).await;
        assert_eq!(later.status(), 200, "the window moved on");
    }
}

// proves: ID-4, ID-5 (password + SMS code)
async fn a_password_then_an_sms_code_signs_in_with_two_factors(db: Db) {
    let server = start(db).await;
    let kind = json!({"name": "clinician", "sign_in": ["password_and_phone_code"], "second_factor": "required"});
    let id = person(&server, kind, json!({"user_type": "clinician", "display_name": "Cleo", "email": "cleo@example.com", "phone": "+447700900777"})).await;
    set_password(&server, &id).await;
    let first = post(
        &server,
        "/v1/auth/password",
        json!({"email": "cleo@example.com", "password": PASSWORD}),
    )
    .await;
    assert_eq!(first.status(), 200);
    let step: Value = first.json().await.unwrap();
    assert_eq!(step["status"], "challenge_required");
    assert_eq!(step["methods"], json!(["sms"]));
    assert!(
        step.get("access_token").is_none(),
        "no token before the second factor"
    );
    let challenge = step["challenge_id"].as_str().unwrap();
    let code = last_code(&server, "+447700900777").await.unwrap();
    // The challenge takes only the methods it names.
    let totp = post(
        &server,
        "/v1/auth/mfa",
        json!({"challenge_id": challenge, "method": "totp", "code": "123456"}),
    )
    .await;
    assert_error(totp, 422, ErrorCode::ValidationFailed).await;
    // A code for another challenge (the first factor's kind) does not work here.
    let wrong = post(
        &server,
        "/v1/auth/otp/verify",
        json!({"challenge_id": challenge, "code": code}),
    )
    .await;
    assert_error(wrong, 401, ErrorCode::ChallengeExpired).await;
    let done = post(
        &server,
        "/v1/auth/mfa",
        json!({"challenge_id": challenge, "method": "sms", "code": code}),
    )
    .await;
    let record = record_of(&server, &done).await;
    assert_eq!(done.status(), 200);
    let body: Value = done.json().await.unwrap();
    assert_eq!(body["status"], "signed_in");
    assert_eq!(record["details"]["amr"], json!(["pwd", "sms", "mfa"]));
    // A wrong password never reaches the second step.
    let refused = post(
        &server,
        "/v1/auth/password",
        json!({"email": "cleo@example.com", "password": "not the password at all"}),
    )
    .await;
    assert_error(refused, 401, ErrorCode::InvalidCredentials).await;
}

/// The TOTP code of `secret` (base32) at `unix` seconds.
fn totp_code(secret: &str, unix: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).unwrap();
    totp.generate(u64::try_from(unix).unwrap())
}

// proves: ID-4, ID-5, ID-8 (TOTP enrolment, replay refused, recovery codes once)
async fn a_person_enrols_totp_and_then_needs_it_to_sign_in(db: Db) {
    let server = start(db).await;
    let kind = json!({"name": "staff", "sign_in": ["password"], "second_factor": "optional"});
    let id = person(
        &server,
        kind,
        json!({"user_type": "staff", "display_name": "Sam", "email": "sam@example.com"}),
    )
    .await;
    set_password(&server, &id).await;
    let signed: Value = post(
        &server,
        "/v1/auth/password",
        json!({"email": "sam@example.com", "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(signed["status"], "signed_in");
    let token = signed["access_token"].as_str().unwrap().to_owned();
    let me = |method, path: &'static str, body| {
        let (server, token) = (&server, token.clone());
        async move { send(server, Some(&token), method, path, body).await }
    };
    let factors: Value = me(reqwest::Method::GET, "/v1/me/factors", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(factors["has_totp"], false);
    let enrolled = me(reqwest::Method::POST, "/v1/me/factors/totp", None).await;
    let record = record_of(&server, &enrolled).await;
    assert_eq!(enrolled.status(), 201);
    let enrolment: Value = enrolled.json().await.unwrap();
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    assert!(enrolment["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/Gatehouse:"));
    assert!(
        !record.to_string().contains(&secret),
        "no secret in the record"
    );
    let now = server.clock.now().timestamp();
    let wrong = me(
        reqwest::Method::POST,
        "/v1/me/factors/totp/confirm",
        Some(json!({"code": "000000"})),
    )
    .await;
    assert_error(wrong, 401, ErrorCode::InvalidCode).await;
    let code = totp_code(&secret, now);
    let confirmed = me(
        reqwest::Method::POST,
        "/v1/me/factors/totp/confirm",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(confirmed.status(), 200);
    let recovery: Value = confirmed.json().await.unwrap();
    let recovery: Vec<String> = serde_json::from_value(recovery["recovery_codes"].clone()).unwrap();
    assert_eq!(recovery.len(), 10);
    // A second enrolment is refused while one is confirmed.
    let again = me(reqwest::Method::POST, "/v1/me/factors/totp", None).await;
    assert_error(again, 409, ErrorCode::Conflict).await;

    // Signing in now needs the authenticator.
    let step: Value = post(
        &server,
        "/v1/auth/password",
        json!({"email": "sam@example.com", "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(step["status"], "challenge_required");
    assert_eq!(step["methods"], json!(["totp", "recovery_code"]));
    let challenge = step["challenge_id"].as_str().unwrap().to_owned();
    // The code used to confirm is spent: the same step is never taken twice.
    let replay = post(
        &server,
        "/v1/auth/mfa",
        json!({"challenge_id": challenge, "method": "totp", "code": code}),
    )
    .await;
    assert_error(replay, 401, ErrorCode::InvalidCode).await;
    let next = totp_code(&secret, now + 30);
    let done = post(
        &server,
        "/v1/auth/mfa",
        json!({"challenge_id": challenge, "method": "totp", "code": next}),
    )
    .await;
    let record = record_of(&server, &done).await;
    assert_eq!(done.status(), 200);
    assert_eq!(record["details"]["amr"], json!(["pwd", "otp", "mfa"]));

    // A recovery code works once.
    for expected in [200, 401] {
        let step: Value = post(
            &server,
            "/v1/auth/password",
            json!({"email": "sam@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
        let challenge = step["challenge_id"].as_str().unwrap();
        let used = post(
            &server,
            "/v1/auth/mfa",
            json!({"challenge_id": challenge, "method": "recovery_code", "code": recovery[0]}),
        )
        .await;
        assert_eq!(used.status(), expected);
    }
    let factors: Value = me(reqwest::Method::GET, "/v1/me/factors", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(factors["has_totp"], true);
    assert_eq!(factors["recovery_codes_left"], 9);
    let removed = me(reqwest::Method::DELETE, "/v1/me/factors/totp", None).await;
    assert_eq!(removed.status(), 204);
    let step: Value = post(
        &server,
        "/v1/auth/password",
        json!({"email": "sam@example.com", "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        step["status"], "signed_in",
        "no authenticator, no second step"
    );
}

async fn flow(server: &TestServer, kind: &str, body: Value) {
    let put = send(
        server,
        Some(&server.admin_token),
        reqwest::Method::PUT,
        &format!("/v1/registration-flows/{kind}"),
        Some(body),
    )
    .await;
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
}

// proves: ID-1, ID-2, ID-8 (sign-up with an email code; a taken address answers alike)
async fn signing_up_proves_the_address_and_a_taken_one_never_finishes(db: Db) {
    let server = start(db).await;
    let kind = json!({"name": "patient", "sign_in": ["email_code"], "second_factor": "optional"});
    person(
        &server,
        kind,
        json!({"user_type": "patient", "display_name": "Owner", "email": "owner@example.com"}),
    )
    .await;
    flow(&server, "patient", json!({"user_type": "patient", "is_open": true, "proofs": ["email"], "requires_approval": false})).await;
    let mut answers = Vec::new();
    let mut ids = Vec::new();
    for email in ["new@example.com", "owner@example.com"] {
        let started = post(
            &server,
            "/v1/signup",
            json!({"user_type": "patient", "display_name": "Newcomer", "email": email}),
        )
        .await;
        assert_eq!(started.status(), 202);
        let body: Value = started.json().await.unwrap();
        assert_eq!(body["next_step"], "verify_email");
        let keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        answers.push((keys, body["next_step"].clone(), body["expires_in"].clone()));
        ids.push(body["registration_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(answers[0], answers[1]);
    // The owner of the taken address is told; no code goes to them.
    assert!(last_code(&server, "owner@example.com").await.is_none());
    assert_eq!(outbox_len(&server, "owner@example.com").await, 1);
    let code = last_code(&server, "new@example.com").await.unwrap();
    let done = post(
        &server,
        &format!("/v1/signup/{}/verify", ids[0]),
        json!({"code": code}),
    )
    .await;
    assert_eq!(done.status(), 200);
    let body: Value = done.json().await.unwrap();
    assert_eq!(body["next_step"], "done");
    let users: Value = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        "/v1/users?q=newcomer",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(users["items"][0]["email"], "new@example.com");
    assert_eq!(users["items"][0]["status"], "active");
    assert_eq!(users["items"][0]["is_email_verified"], true);
    // The taken address's sign-up never finishes.
    let decoy = post(
        &server,
        &format!("/v1/signup/{}/verify", ids[1]),
        json!({"code": code}),
    )
    .await;
    assert_error(decoy, 401, ErrorCode::InvalidCode).await;
    // Closed types, unknown types and bad details are refused before anything.
    for body in [
        json!({"user_type": "nobody", "display_name": "X", "email": "x@example.com"}),
        json!({"user_type": "patient", "display_name": "X", "email": "not an address"}),
        json!({"user_type": "patient", "display_name": "X", "phone": "+447700900123"}),
        json!({"user_type": "patient", "display_name": "", "email": "x@example.com"}),
    ] {
        let refused = post(&server, "/v1/signup", body).await;
        assert_error(refused, 422, ErrorCode::ValidationFailed).await;
    }
}

// proves: ID-2 (an administrator approves; pending users cannot sign in)
async fn a_sign_up_that_needs_approval_waits_for_an_administrator(db: Db) {
    let server = start(db).await;
    let kind = json!({"name": "staff", "sign_in": ["password"], "second_factor": "optional"});
    person(
        &server,
        kind,
        json!({"user_type": "staff", "display_name": "First", "email": "first@example.com"}),
    )
    .await;
    flow(&server, "staff", json!({"user_type": "staff", "is_open": true, "proofs": ["email", "password"], "requires_approval": true})).await;
    let weak = post(&server, "/v1/signup", json!({"user_type": "staff", "display_name": "Pending Person", "email": "p@example.com", "password": "password"})).await;
    assert_error(weak, 422, ErrorCode::ValidationFailed).await;
    let started: Value = post(&server, "/v1/signup", json!({"user_type": "staff", "display_name": "Pending Person", "email": "p@example.com", "password": PASSWORD})).await.json().await.unwrap();
    let code = last_code(&server, "p@example.com").await.unwrap();
    let id = started["registration_id"].as_str().unwrap();
    let done: Value = post(
        &server,
        &format!("/v1/signup/{id}/verify"),
        json!({"code": code}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(done["next_step"], "await_approval");
    let refused = post(
        &server,
        "/v1/auth/password",
        json!({"email": "p@example.com", "password": PASSWORD}),
    )
    .await;
    assert_error(refused, 401, ErrorCode::InvalidCredentials).await;
    let pending: Value = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::GET,
        "/v1/users?status=pending",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let user = pending["items"][0]["id"].as_str().unwrap().to_owned();
    let approved = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::POST,
        &format!("/v1/users/{user}/approve"),
        None,
    )
    .await;
    let record = record_of(&server, &approved).await;
    assert_eq!(approved.status(), 200);
    assert_eq!(record["action"], "users.approve");
    assert!(record["before"].to_string().contains("pending"));
    let signed: Value = post(
        &server,
        "/v1/auth/password",
        json!({"email": "p@example.com", "password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(signed["status"], "signed_in");
    // Approving twice is refused; so is rejecting an active user.
    let twice = send(
        &server,
        Some(&server.admin_token),
        reqwest::Method::POST,
        &format!("/v1/users/{user}/reject"),
        Some(json!({"reason": "duplicate"})),
    )
    .await;
    assert_error(twice, 422, ErrorCode::ValidationFailed).await;
}

on_both_databases!(
    a_phone_alone_signs_in_with_the_code_sent_by_sms,
    an_unknown_phone_is_answered_as_a_known_one_and_a_code_has_five_tries,
    a_destination_gets_at_most_five_codes_in_fifteen_minutes,
    a_password_then_an_sms_code_signs_in_with_two_factors,
    a_person_enrols_totp_and_then_needs_it_to_sign_in,
    signing_up_proves_the_address_and_a_taken_one_never_finishes,
    a_sign_up_that_needs_approval_waits_for_an_administrator,
);
