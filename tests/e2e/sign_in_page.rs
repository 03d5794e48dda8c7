//! The hosted sign-in page of `/oauth2/authorize` in a real browser (WebKit's
//! MiniBrowser, driven by WebKitWebDriver under Xvfb), against a real server
//! (TK-6): used from the keyboard alone, a wrong password answered with an
//! alert, the phone-code screen, consent for a third-party app, and the
//! browser sent to the app's loopback redirect with a code. Each screen is
//! saved under `target/e2e-screenshots/` to be looked at.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use gatehouse_testkit::{Db, TestServer};
use serde_json::{json, Value};

use crate::console::{free_port, target_dir, ONE_AT_A_TIME};

const MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
const PASSWORD: &str = "correct horse battery staple 42";
/// The S256 challenge of `"v".repeat(64)`.
const CHALLENGE: &str = "w1TpKUdYE9hUAcNSeeSRFioHDxfUxuHho_JHAfZ_vDM";

struct Browser {
    driver: Child,
    client: Option<Client>,
}

impl Browser {
    async fn start() -> Browser {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "browser tests need a display: run them under xvfb-run (make test does)"
        );
        let port = free_port();
        let driver = Command::new("WebKitWebDriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("WebKitWebDriver is needed (make test installs webkit2gtk-driver)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("MiniBrowser"));
        // The test server's certificate is its own, pinned by the API tests.
        caps.insert("acceptInsecureCerts".into(), json!(true));
        caps.insert(
            "webkitgtk:browserOptions".into(),
            json!({"binary": MINIBROWSER, "args": ["--automation"]}),
        );
        let session = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::native()
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await;
        let client = match session {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!("cannot open a WebDriver session: {e}"),
            Err(_) => panic!("WebDriver session creation timed out"),
        };
        Browser {
            driver,
            client: Some(client),
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn screenshot(&self, name: &str) {
        let dir: PathBuf = target_dir().parent().unwrap().join("e2e-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        if let Ok(png) = self.client().screenshot().await {
            std::fs::write(dir.join(format!("sign-in-page-{name}.png")), png).unwrap();
        }
    }

    async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client()
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => {
                self.screenshot("failed").await;
                let body = self.client().source().await.unwrap_or_default();
                panic!("{css} did not appear: {e}\n{body}");
            }
        }
    }

    /// Types into whatever has the focus: the keyboard, not a click.
    async fn keys(&self, text: &str) {
        let active = self.client().active_element().await.unwrap();
        active.send_keys(text).await.unwrap();
    }

    async fn stop(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A `staff` person with a password, and a public third-party app.
async fn setup(server: &TestServer) -> String {
    let http = server.raw();
    let admin = &server.admin_token;
    let ok = |r: reqwest::Response, want: u16| async move {
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert_eq!(status, want, "{body}");
        serde_json::from_str::<Value>(&body).unwrap_or(Value::Null)
    };
    ok(
        http.put(server.url("/v1/user-types/staff"))
            .bearer_auth(admin)
            .json(&json!({"name": "staff", "sign_in": ["password", "phone_code"], "second_factor": "optional"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let user = ok(
        http.post(server.url("/v1/users"))
            .bearer_auth(admin)
            .json(&json!({"user_type": "staff", "display_name": "Sam Okafor", "email": "sam@example.com"}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    let id = user["id"].as_str().unwrap();
    ok(
        http.post(server.url(&format!("/v1/users/{id}/password")))
            .bearer_auth(admin)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await
            .unwrap(),
        204,
    )
    .await;
    let app = ok(
        http.post(server.url("/v1/clients"))
            .bearer_auth(admin)
            .json(&json!({
                "name": "Ward Rounds",
                "role": "user",
                "is_confidential": false,
                "grant_types": ["authorization_code", "refresh_token"],
                "scopes": ["openid", "profile", "email"],
                "redirect_uris": ["http://127.0.0.1/callback"],
            }))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    app["client"]["client_id"].as_str().unwrap().to_owned()
}

/// The app's loopback redirect: answers every request with a small page.
fn loopback() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<!doctype html><title>Ward Rounds</title><h1 id=done>Signed in</h1>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

// proves: TK-6 (the hosted page in a real browser: keyboard-only, errors
// announced, consent, the code delivered to the loopback redirect)
#[tokio::test]
async fn a_person_signs_in_on_the_hosted_page_with_the_keyboard_alone() {
    let _display = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let app = setup(&server).await;
    let port = loopback();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let url = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={app}&redirect_uri={}&scope=openid%20profile\
         &state=s-1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        redirect.replace(':', "%3A").replace('/', "%2F")
    ));
    let browser = Browser::start().await;
    browser.client().goto(&url).await.unwrap();
    browser.wait_css("input#email").await;
    browser.screenshot("1-password").await;
    // The email field has the focus: type, Tab to the password, Enter submits.
    browser.keys("sam@example.com").await;
    browser.keys(&Key::Tab.to_string()).await;
    browser.keys("not the password at all").await;
    browser.keys(&Key::Enter.to_string()).await;
    let alert = browser.wait_css("[role='alert']").await;
    let said = alert.text().await.unwrap();
    assert!(!said.is_empty());
    browser.screenshot("2-wrong-password").await;
    // The other ways in: a code by text message.
    let text_me = browser.wait_css("button[value='choose_phone']").await;
    text_me.click().await.unwrap();
    browser.wait_css("input#address[type='tel']").await;
    browser.screenshot("3-phone-code").await;
    browser
        .wait_css("button[value='choose_password']")
        .await
        .click()
        .await
        .unwrap();
    browser.wait_css("input#email").await;
    browser.keys("sam@example.com").await;
    browser.keys(&Key::Tab.to_string()).await;
    browser.keys(PASSWORD).await;
    browser.keys(&Key::Enter.to_string()).await;
    // A third-party app: the person is asked, and allows from the keyboard.
    browser.wait_css("button[value='allow']").await;
    browser.screenshot("4-consent").await;
    browser.keys(&Key::Tab.to_string()).await;
    let focused = browser.client().active_element().await.unwrap();
    assert_eq!(
        focused.attr("value").await.unwrap().as_deref(),
        Some("allow")
    );
    browser.keys(&Key::Enter.to_string()).await;
    browser.wait_css("h1#done").await;
    let landed = browser.client().current_url().await.unwrap();
    assert_eq!(landed.port(), Some(port));
    let query: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
    assert!(query
        .iter()
        .any(|(k, v)| k == "code" && v.starts_with("ghac_")));
    assert!(query.iter().any(|(k, v)| k == "state" && v == "s-1"));
    browser.screenshot("5-back-in-the-app").await;
    browser.stop().await;
    server.stop().await;
}
