//! The Users, Sign-up flows, Machines and Outbox screens (CO-6, CO-8, ID-2,
//! ID-10, ID-11) against a real server: search and filter, the detail with a
//! typed edit, a concurrent edit refused and reloaded, lock and unlock, ending
//! a session, the pending queue (approve; reject with a reason), users and
//! sessions to CSV, a flow edited with its preview, a client registered with
//! its secret shown once, a key rotation confirmed, and the outbox.

use gatehouse_testkit::{Db, TestServer};
use serde_json::{json, Value};

use super::{connect, ONE_AT_A_TIME};

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut request = server
        .raw()
        .request(method, server.url(path))
        .bearer_auth(&server.admin_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A clinician type with a department, people of it, one pending, one session.
async fn seed(server: &TestServer) -> (String, String) {
    call(
        server,
        reqwest::Method::PUT,
        "/v1/user-types/clinician",
        Some(
            json!({"name": "clinician", "sign_in": ["password"], "second_factor": "optional",
                    "attributes": [{"name": "department", "kind": "string", "is_required": true},
                                   {"name": "grade", "kind": "long"}]}),
        ),
    )
    .await;
    let mut first = String::new();
    for (i, (name, dept)) in [
        ("Ada Obi", "icu"),
        ("Ben Cole", "icu"),
        ("Cat Diaz", "oncology"),
    ]
    .into_iter()
    .enumerate()
    {
        let user = call(
            server,
            reqwest::Method::POST,
            "/v1/users",
            Some(json!({"user_type": "clinician", "display_name": name,
                        "email": format!("u{i}@example.com"), "attributes": {"department": dept}})),
        )
        .await;
        if i == 0 {
            first = user["id"].as_str().unwrap().to_owned();
        }
    }
    let pending = call(
        server,
        reqwest::Method::POST,
        "/v1/users",
        Some(json!({"user_type": "clinician", "display_name": "Pia Pending", "email": "pia@example.com",
                    "attributes": {"department": "icu"}, "status": "pending"})),
    )
    .await;
    call(
        server,
        reqwest::Method::POST,
        &format!("/v1/users/{first}/password"),
        Some(json!({"password": "correct horse battery staple 42"})),
    )
    .await;
    let signed_in = server
        .raw()
        .post(server.url("/v1/auth/password"))
        .json(&json!({"email": "u0@example.com", "password": "correct horse battery staple 42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    (first, pending["id"].as_str().unwrap().to_owned())
}

// proves: CO-6, CO-8 (users: filter, detail, typed edit, conflict, lock,
// sessions, pending queue, CSV)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_manages_users_sessions_and_sign_ups() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let (ada, pia) = seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    let env = [("GATEHOUSE_CONSOLE_EXPORT_DIR", exports.to_str().unwrap())];
    let console = connect(&server, &server.admin_token, dir.path(), &env).await;
    console.click("nav-users").await;
    console.wait_for("users-page", 30).await;
    console.wait_for("users-row", 30).await;
    console.screenshot("users-list").await;
    // A filter narrows the list at once.
    console
        .type_into("users-filter-attribute", "department:oncology")
        .await;
    poll(&console, "only Cat Diaz", || async {
        let rows = row_texts(&console, "users-row").await;
        rows.len() == 1 && rows[0].contains("Cat Diaz")
    })
    .await;
    // Exported with the filters.
    console.click("users-export").await;
    console.wait_for("users-export-result", 30).await;
    let csv = read_export(&exports, "users-").await;
    assert!(
        csv.contains("Cat Diaz") && !csv.contains("Ada Obi"),
        "{csv}"
    );
    console.type_into("users-filter-attribute", "").await;
    console.type_into("users-filter-q", "Ada").await;
    poll(&console, "only Ada", || async {
        let rows = row_texts(&console, "users-row").await;
        rows.len() == 1 && rows[0].contains("Ada Obi")
    })
    .await;
    console.click("users-row").await;
    console.wait_for("user-detail", 30).await;
    assert_eq!(console.text("user-detail-name").await, "Ada Obi");
    // Her factors: a password, no authenticator (never a secret).
    console.wait_for("factor-password", 20).await;
    assert_eq!(console.text("factor-password").await, "set");
    assert_eq!(console.text("factor-totp").await, "none");
    // A wrong type is refused before anything is sent.
    console.type_into("user-attr-grade", "senior").await;
    console.click("user-save").await;
    console.wait_for("user-field-error", 10).await;
    console.type_into("user-attr-grade", "4").await;
    console
        .type_into("user-attr-department", "cardiology")
        .await;
    console.click("user-save").await;
    poll(&console, "saved", || async {
        let user = call(
            &server,
            reqwest::Method::GET,
            &format!("/v1/users/{ada}"),
            None,
        )
        .await;
        user["attributes"]["department"] == "cardiology" && user["attributes"]["grade"] == 4
    })
    .await;
    // Another administrator changes Ada meanwhile: the console's next save is
    // refused, shown, and overwrites nothing.
    let now = call(
        &server,
        reqwest::Method::GET,
        &format!("/v1/users/{ada}"),
        None,
    )
    .await;
    call(
        &server,
        reqwest::Method::PATCH,
        &format!("/v1/users/{ada}"),
        Some(json!({"display_name": "Ada Obi-Eze", "expected_updated_at": now["updated_at"]})),
    )
    .await;
    console.type_into("user-attr-department", "radiology").await;
    console.click("user-save").await;
    console.wait_for("user-conflict", 20).await;
    console.screenshot("user-conflict").await;
    let after = call(
        &server,
        reqwest::Method::GET,
        &format!("/v1/users/{ada}"),
        None,
    )
    .await;
    assert_eq!(after["attributes"]["department"], "cardiology");
    console.click("user-reload").await;
    console
        .wait_text("user-detail-name", "Ada Obi-Eze", 20)
        .await;
    // Her session: listed, ended.
    console.wait_for("session-row", 30).await;
    console.screenshot("user-detail").await;
    console.click("session-end").await;
    poll(&console, "session ended", || async {
        let list = call(
            &server,
            reqwest::Method::GET,
            &format!("/v1/users/{ada}/sessions"),
            None,
        )
        .await;
        list["items"][0]["ended_at"].is_string()
    })
    .await;
    // Locked and unlocked.
    console.click("user-lock").await;
    console.wait_for("user-unlock", 20).await;
    console.click("user-unlock").await;
    console.wait_for("user-lock", 20).await;
    // Another administrator removes Ada (a removal is a disable: her history
    // stays) while she is open here: locking her is refused with the reason,
    // the detail shows her as she now is, and nothing is changed.
    call(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/users/{ada}"),
        None,
    )
    .await;
    console.click("user-lock").await;
    console.wait_for("user-error", 20).await;
    assert!(
        console.text("user-error").await.contains("disabled"),
        "{}",
        console.text("user-error").await
    );
    console.wait_text("user-status", "disabled", 20).await;
    poll(&console, "the list shows her disabled", || async {
        let rows = row_texts(&console, "users-row").await;
        rows.len() == 1 && rows[0].contains("disabled")
    })
    .await;
    console.screenshot("user-removed-elsewhere").await;
    let after = call(
        &server,
        reqwest::Method::GET,
        &format!("/v1/users/{ada}"),
        None,
    )
    .await;
    assert_eq!(after["status"], "disabled");
    // The pending queue (the search applies there too): Pia is rejected with
    // a reason.
    console.type_into("users-filter-q", "Pia").await;
    console.click("users-tab-pending").await;
    console.wait_for("pending-row", 30).await;
    console.screenshot("users-pending").await;
    console.click("pending-reject").await;
    console
        .type_into("reject-reason", "not on the staff list")
        .await;
    console.click("reject-confirm").await;
    poll(&console, "rejected", || async {
        let user = call(
            &server,
            reqwest::Method::GET,
            &format!("/v1/users/{pia}"),
            None,
        )
        .await;
        user["status"] == "disabled"
    })
    .await;
    console.stop().await;
    server.stop().await;
}

// proves: ID-2, ID-10, ID-11 (a flow edited with its preview; a client
// registered, its secret shown once; keys rotated on confirmation; the outbox)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_edits_a_flow_registers_a_client_and_rotates_keys() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(Db::Sqlite, |c| c.messaging.outbox = true).await;
    seed(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let console = connect(&server, &server.admin_token, dir.path(), &[]).await;
    console.click("nav-flows").await;
    console.wait_for("flows-page", 30).await;
    console.click("flow-type").await;
    // A type with no flow yet starts from email and approval; open it and ask
    // for the phone too.
    console.click("flow-open").await;
    console.click("flow-proof-phone").await;
    // The type signs in with a password only: without it the server refuses
    // the flow (its users could never sign in), and the page says so.
    console.click("flow-save").await;
    console.wait_for("flow-error", 20).await;
    console.click("flow-proof-password").await;
    console.screenshot("flow-editor").await;
    let preview = console.text("flow-preview").await.to_lowercase();
    assert!(
        preview.contains("phone") && preview.contains("approv"),
        "{preview}"
    );
    console.click("flow-save").await;
    poll(&console, "flow saved", || async {
        let flows = call(
            &server,
            reqwest::Method::GET,
            "/v1/registration-flows",
            None,
        )
        .await;
        flows["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["user_type"] == "clinician" && f["requires_approval"] == true)
    })
    .await;
    console.click("nav-machines").await;
    console.wait_for("machines-page", 30).await;
    console.click("client-new").await;
    console.type_into("client-name", "Billing").await;
    console.type_into("client-scopes", "audit:write").await;
    console.click("client-create").await;
    let secret = console.wait_for("client-secret", 30).await;
    let shown = secret.text().await.unwrap();
    console.screenshot("client-secret-once").await;
    assert!(shown.contains("ghs_"), "{shown}");
    console.click("machines-tab-keys").await;
    console.wait_for("key-row", 30).await;
    let keys_before = call(&server, reqwest::Method::GET, "/v1/keys", None).await;
    console.click("keys-rotate").await;
    let explanation = console.text("keys-rotate-explanation").await.to_lowercase();
    assert!(explanation.contains("expire"), "{explanation}");
    console.screenshot("keys-rotate-confirm").await;
    console.click("keys-rotate-confirm").await;
    poll(&console, "rotated", || async {
        call(&server, reqwest::Method::GET, "/v1/keys", None).await != keys_before
    })
    .await;
    // A sign-in code the server "sent" shows in the outbox.
    let _ = server
        .raw()
        .post(server.url("/v1/auth/otp/start"))
        .json(&json!({"email": "u1@example.com"}))
        .send()
        .await
        .unwrap();
    console.click("nav-outbox").await;
    console.wait_for("outbox-page", 30).await;
    console.screenshot("outbox").await;
    console.stop().await;
    server.stop().await;
}

async fn read_export(dir: &std::path::Path, prefix: &str) -> String {
    for _ in 0..100 {
        let found = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(prefix));
        if let Some(entry) = found {
            return std::fs::read_to_string(entry.path()).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {prefix} export in {}", dir.display());
}

/// Waits (20 s at most) until `check` holds.
async fn poll<F, Fut>(console: &super::Console, what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check().await {
        if std::time::Instant::now() > deadline {
            console
                .screenshot(&format!("failed-{}", what.replace(' ', "-")))
                .await;
            panic!("never: {what}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The text of every element with this test id.
async fn row_texts(console: &super::Console, testid: &str) -> Vec<String> {
    let mut out = Vec::new();
    let found = console
        .client()
        .find_all(fantoccini::Locator::Css(&format!(
            "[data-testid='{testid}']"
        )))
        .await
        .unwrap_or_default();
    for el in found {
        out.push(
            el.prop("textContent")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
        );
    }
    out
}
