//! Auditor mode on the people and machines screens (CO-7): an auditor sees
//! users, pending registrations, sign-up flows, clients, keys and the outbox
//! with no control that changes anything, and the server refuses every new
//! mutating command the window could call directly.

use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::Role;
use serde_json::{json, Value};

use super::{connect, Console, ONE_AT_A_TIME};

async fn invoke(console: &Console, command: &str, args: Value) -> Value {
    let script = "const [cmd, args, done] = arguments; \
        window.__TAURI_INTERNALS__.invoke(cmd, args).then((v) => done({ ok: v }), (e) => done({ err: e }));";
    console
        .client()
        .execute_async(script, vec![json!(command), args])
        .await
        .unwrap()
}

async fn admin_call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let response = server
        .raw()
        .request(method, server.url(path))
        .bearer_auth(&server.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

// proves: CO-7 (no control on the new screens; every new mutating command refused)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_changes_no_user_flow_client_or_key() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;
    admin_call(
        &server,
        put,
        "/v1/user-types/staff",
        json!({"name": "staff", "sign_in": ["password"], "second_factor": "optional"}),
    )
    .await;
    let user = admin_call(
        &server,
        post.clone(),
        "/v1/users",
        json!({"user_type": "staff", "display_name": "Sam Okafor", "email": "sam@example.com"}),
    )
    .await;
    let pending = admin_call(
        &server,
        post.clone(),
        "/v1/users",
        json!({"user_type": "staff", "display_name": "Pat Pending", "email": "pat@example.com",
               "status": "pending"}),
    )
    .await;
    let client = admin_call(
        &server,
        post,
        "/v1/clients",
        json!({"name": "Ward Rounds", "role": "user", "is_confidential": true,
               "grant_types": ["authorization_code"], "scopes": ["openid"],
               "redirect_uris": ["https://rounds.example/cb"]}),
    )
    .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    let client_id = client["client"]["client_id"].as_str().unwrap().to_owned();
    let auditor = server.mint(Role::Auditor).await;
    let dir = tempfile::tempdir().unwrap();
    let console = connect(&server, &auditor, dir.path(), &[]).await;

    console.click("nav-users").await;
    console.wait_for("users-row", 30).await;
    console.click("users-row").await;
    console.wait_for("user-detail", 30).await;
    for control in [
        "user-save",
        "user-lock",
        "user-unlock",
        "user-disable",
        "sessions-end-all",
        "user-edit-display-name",
    ] {
        assert!(
            !console.is_present(control).await,
            "{control} shown to an auditor"
        );
    }
    console.screenshot("auditor-user-detail").await;
    console.click("users-tab-pending").await;
    console.wait_for("pending-row", 30).await;
    assert!(!console.is_present("pending-approve").await);
    assert!(!console.is_present("pending-reject").await);
    console.click("nav-flows").await;
    console.wait_for("flows-page", 30).await;
    assert!(!console.is_present("flow-save").await);
    console.click("nav-machines").await;
    console.wait_for("client-row", 30).await;
    for control in ["client-new", "client-rotate", "client-disable"] {
        assert!(
            !console.is_present(control).await,
            "{control} shown to an auditor"
        );
    }
    console.click("machines-tab-keys").await;
    console.wait_for("key-row", 30).await;
    assert!(!console.is_present("keys-rotate").await);
    console.screenshot("auditor-machines").await;
    // The Gateway page reads (this server runs none) and offers no change.
    console.click("nav-gateway").await;
    console.wait_for("gateway-off", 30).await;
    assert!(!console.is_present("waf-save").await);

    let flow = json!({"user_type": "staff", "is_open": true, "proofs": ["email"],
                      "requires_approval": false, "attributes": []});
    let calls = [
        (
            "update_user",
            json!({"id": user_id, "request": {"display_name": "X", "expected_updated_at": user["updated_at"]}}),
        ),
        ("disable_user", json!({"id": user_id})),
        ("lock_user", json!({"id": user_id})),
        ("unlock_user", json!({"id": user_id})),
        ("approve_user", json!({"id": pending_id})),
        ("reject_user", json!({"id": pending_id, "reason": "no"})),
        ("end_user_sessions", json!({"id": user_id})),
        ("end_session", json!({"id": uuid_like()})),
        ("save_registration_flow", json!({"flow": flow})),
        (
            "create_client",
            json!({"request": {"name": "sneaky", "role": "user", "grant_types": ["client_credentials"], "scopes": ["audit:read"]}}),
        ),
        (
            "update_client",
            json!({"id": client_id, "request": {"name": "renamed"}}),
        ),
        ("rotate_client_secret", json!({"id": client_id})),
        ("disable_client", json!({"id": client_id})),
        ("rotate_keys", json!({})),
        (
            "update_waf",
            json!({"request": {"mode": "off", "paranoia_level": 1, "inbound_threshold": 5,
                   "outbound_threshold": 4, "exclusions": [], "base_generation": 1}}),
        ),
        ("unflag_source", json!({"source": "10.0.0.1"})),
    ];
    for (command, args) in calls {
        let answer = invoke(&console, command, args).await;
        assert_eq!(
            answer["err"]["code"], "forbidden",
            "{command} must be refused: {answer}"
        );
    }
    let after: Value = server
        .raw()
        .get(server.url(&format!("/v1/users/{user_id}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["display_name"], "Sam Okafor");
    assert_eq!(after["status"], "active");
    console.stop().await;
    server.stop().await;
}

fn uuid_like() -> String {
    "01890000-0000-7000-8000-000000000000".into()
}
