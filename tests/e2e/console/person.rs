//! A person signing in to the console (CO-1, TK-6): with email, password and
//! a second factor through the identity API; and through the browser with
//! PKCE against a real server, the page driven as a browser would (cookie,
//! forms) and its redirect landing on the console's own loopback port.
//! Tokens never reach the web view; sign-out ends the session on the server.

use gatehouse_testkit::{Db, TestServer};
use serde_json::{json, Value};

use super::{Console, ONE_AT_A_TIME};

const PASSWORD: &str = "correct horse battery staple 42";

/// An `operator` type whose role is administrator, and Olu of it.
async fn operator(server: &TestServer, second_factor: &str) -> String {
    let http = server.raw();
    let admin = &server.admin_token;
    let put = http
        .put(server.url("/v1/user-types/operator"))
        .bearer_auth(admin)
        .json(
            &json!({"name": "operator", "role": "administrator", "sign_in": ["password"],
                      "second_factor": second_factor}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let user: Value = http
        .post(server.url("/v1/users"))
        .bearer_auth(admin)
        .json(&json!({"user_type": "operator", "display_name": "Olu Adeyemi", "email": "olu@example.com",
                      "phone": "+447700900125"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap().to_owned();
    let set = http
        .post(server.url(&format!("/v1/users/{id}/password")))
        .bearer_auth(admin)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);
    id
}

async fn open_sessions(server: &TestServer, user: &str) -> usize {
    let list: Value = server
        .raw()
        .get(server.url(&format!("/v1/users/{user}/sessions")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ended_at"].is_null())
        .count()
}

// proves: CO-1 (password and second factor in the console; tokens on the Rust
// side; sign-out ends the session on the server)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_a_password_and_a_text_message_code() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.messaging.outbox = true;
    })
    .await;
    let olu = operator(&server, "required").await;
    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "connect").await;
    console.wait_for("person-form", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("person-email", "olu@example.com").await;
    console.type_into("person-password", PASSWORD).await;
    console.click("person-submit").await;
    console.confirm_fingerprint(&server.fingerprint).await;
    console.wait_for("second-factor", 30).await;
    console.screenshot("person-second-factor").await;
    let code = latest_code(&server, "+447700900125").await;
    console.type_into("factor-code", &code).await;
    console.click("factor-submit").await;
    console.wait_for("shell", 30).await;
    assert_eq!(console.text("header-identity").await, "Olu Adeyemi");
    assert!(console
        .text("header-role")
        .await
        .to_lowercase()
        .contains("administrator"));
    console.screenshot("person-signed-in").await;
    let source = console.client().source().await.unwrap();
    assert!(
        !source.contains("ghr_") && !source.contains("eyJ"),
        "a token reached the web view"
    );
    assert_eq!(open_sessions(&server, &olu).await, 1);
    console.click("sign-out").await;
    console.wait_for("connect-screen", 30).await;
    assert_eq!(
        open_sessions(&server, &olu).await,
        0,
        "sign-out ends the session"
    );
    console.stop().await;
    server.stop().await;
}

// proves: CO-1 (a sign-in ended on the server mid-session: the console asks
// to sign in again and comes back to the view it was showing)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_ended_on_the_server_asks_to_sign_in_again_and_keeps_the_view() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let olu = operator(&server, "optional").await;
    let dir = tempfile::tempdir().unwrap();
    // Refresh before every command, so the next one learns the session ended.
    let env = [("GATEHOUSE_CONSOLE_REFRESH_MARGIN_SECONDS", "100000")];
    let console = Console::start_with(dir.path(), "connect", &env).await;
    console.wait_for("person-form", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("person-email", "olu@example.com").await;
    console.type_into("person-password", PASSWORD).await;
    console.click("person-submit").await;
    console.confirm_fingerprint(&server.fingerprint).await;
    console.wait_for("shell", 30).await;
    console.click("nav-machines").await;
    console.wait_for("machines-page", 30).await;
    // Its three tabs have loaded (each a command that refreshes first): none
    // is still on its way when the session ends.
    for row in ["client-row", "key-row", "token-row"] {
        console.wait_for(row, 30).await;
    }
    // An administrator ends every session of Olu's.
    let ended = server
        .raw()
        .delete(server.url(&format!("/v1/users/{olu}/sessions")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), 200);
    console.click("nav-flows").await;
    console.wait_for("sign-in-ended", 30).await;
    console.screenshot("sign-in-ended").await;
    console.type_into("person-email", "olu@example.com").await;
    console.type_into("person-password", PASSWORD).await;
    console.click("person-submit").await;
    console.wait_for("shell", 30).await;
    // Back where it was (the flows page it was opening).
    console.wait_for("flows-page", 30).await;
    console.stop().await;
    server.stop().await;
}

/// The newest code the development outbox sent to `to`.
async fn latest_code(server: &TestServer, to: &str) -> String {
    for _ in 0..50 {
        let outbox: Value = server
            .raw()
            .get(server.url("/v1/outbox"))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = outbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["to"] == to)
            .and_then(|m| m["body"].as_str())
            .and_then(|body| {
                body.split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 8)
            })
            .map(str::to_owned);
        if let Some(code) = found {
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no code was sent to {to}");
}

// proves: CO-1, TK-6 (the console signs in through the browser with PKCE and
// a loopback redirect; an abandoned browser sign-in is reported)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_through_the_browser_with_pkce() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    operator(&server, "optional").await;
    let dir = tempfile::tempdir().unwrap();
    // The "browser": a script that hands the page's address to this test.
    let seen = dir.path().join("opened-url");
    let script = dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let env = [
        ("GATEHOUSE_CONSOLE_BROWSER", script.to_str().unwrap()),
        ("GATEHOUSE_CONSOLE_SIGN_IN_WAIT_SECONDS", "20"),
    ];
    let console = Console::start_with(dir.path(), "connect", &env).await;
    console.wait_for("person-form", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.click("browser-sign-in").await;
    console.confirm_fingerprint(&server.fingerprint).await;
    console.wait_for("browser-waiting", 30).await;
    console.screenshot("browser-waiting").await;
    let url = wait_file(&seen).await;
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("client_id=gatehouse-console")
    );
    // The person signs in on the hosted page; it sends the browser back to
    // the console's loopback port with the code.
    let http = browser_client(&server);
    let page = http.get(&url).send().await.unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let request = html
        .split("name=\"request\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let answer = http
        .post(server.url("/oauth2/authorize"))
        .header("cookie", &cookie)
        .form(&[
            ("request", request.as_str()),
            ("step", "password"),
            ("email", "olu@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        303,
        "the console's own client asks no consent"
    );
    let back = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("http://127.0.0.1:"), "{back}");
    let landed = http.get(&back).send().await.unwrap();
    assert_eq!(landed.status(), 200);
    console.wait_for("shell", 30).await;
    assert_eq!(console.text("header-identity").await, "Olu Adeyemi");
    console.screenshot("browser-signed-in").await;
    console.click("sign-out").await;
    console.wait_for("connect-screen", 30).await;
    // Abandoned: nobody finishes in the browser; the console stops waiting and says so.
    std::fs::remove_file(&seen).unwrap();
    console.type_into("server-url", &server.base_url).await;
    console.click("browser-sign-in").await;
    console.wait_for("browser-waiting", 30).await;
    wait_file(&seen).await;
    console.click("browser-cancel").await;
    let error = console
        .wait_for_css("[role='alert'], [data-testid='error-banner']", 30)
        .await;
    assert!(error
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("cancelled"));
    console.screenshot("browser-abandoned").await;
    console.stop().await;
    server.stop().await;
}

fn browser_client(server: &TestServer) -> reqwest::Client {
    let verifier =
        std::sync::Arc::new(gatehouse_client::PinnedVerifier::new(&server.fingerprint).unwrap());
    reqwest::Client::builder()
        .use_preconfigured_tls(gatehouse_client::client_config(Some(verifier)).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn wait_file(path: &std::path::Path) -> String {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.is_empty() {
                return text;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the console did not open the browser");
}
