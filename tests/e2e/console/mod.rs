//! The real console (the debug build of `src-tauri`, the built UI inside) in WebKit,
//! driven through tauri-driver + WebKitWebDriver under Xvfb. Each test saves a
//! screenshot under `target/e2e-screenshots/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// One console at a time: they share the X display.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A console started with `env`, connected to `server` with `token` from its
/// connect screen (confirming the certificate's fingerprint on first contact,
/// after checking that it is the server's).
pub async fn connect(
    server: &gatehouse_testkit::TestServer,
    token: &str,
    dir: &Path,
    env: &[(&str, &str)],
) -> Console {
    let console = Console::start_with(dir, "connect", env).await;
    console.wait_for("connect-screen", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", token).await;
    console.click("connect-submit").await;
    // A server this data directory remembers is connected without a question.
    console
        .wait_for_css(
            "[data-testid='confirm-fingerprint'], [data-testid='shell']",
            30,
        )
        .await;
    if console.is_present("confirm-fingerprint").await {
        console.confirm_fingerprint(&server.fingerprint).await;
    }
    console.wait_for("shell", 30).await;
    console
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|p| p.parent()).unwrap().to_owned()
}

pub struct Console {
    driver: Child,
    client: Option<Client>,
}

impl Console {
    /// Starts tauri-driver with the console's environment, then a WebDriver session
    /// (which launches the console).
    pub async fn start(data_dir: &Path, start_mode: &str) -> Console {
        Self::start_with(data_dir, start_mode, &[]).await
    }

    /// As `start`, with more environment for the console.
    pub async fn start_with(data_dir: &Path, start_mode: &str, env: &[(&str, &str)]) -> Console {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "console tests need a display: run them under xvfb-run (make test does)"
        );
        // `make bench-console` points this at the release build.
        let app = std::env::var_os("GATEHOUSE_CONSOLE_APP")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("gatehouse-console"));
        assert!(
            app.exists(),
            "{} is missing: build it first (make test does)",
            app.display()
        );
        let (port, native_port) = (free_port(), free_port());
        let driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("GATEHOUSE_CONSOLE_DATA_DIR", data_dir)
            .env("GATEHOUSE_CONSOLE_VAULT", "file")
            .env("GATEHOUSE_CONSOLE_START", start_mode)
            // The embedded server's demo traffic only where a test asks for it.
            .env("GATEHOUSE_CONSOLE_DEMO_TRAFFIC", "off")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver is needed (make test installs it)");
        let mut console = Console {
            driver,
            client: None,
        };
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), serde_json::json!("wry"));
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app }),
        );
        let session = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::native().capabilities(caps).connect(&url),
        )
        .await;
        match session {
            Ok(Ok(client)) => console.client = Some(client),
            Ok(Err(e)) => panic!("cannot open a WebDriver session: {e}"),
            Err(_) => panic!("WebDriver session creation timed out"),
        }
        console
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    pub async fn wait_for(&self, testid: &str, secs: u64) -> fantoccini::elements::Element {
        self.wait_for_css(&format!("[data-testid='{testid}']"), secs)
            .await
    }

    /// Waits for an element matching `css`: a condition only the awaited state
    /// meets (an attribute naming it), never text the state before also had.
    pub async fn wait_for_css(&self, css: &str, secs: u64) -> fantoccini::elements::Element {
        match self
            .client()
            .wait()
            .at_most(Duration::from_secs(secs))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(el) => el,
            Err(e) => {
                let name: String = css.chars().filter(char::is_ascii_alphanumeric).collect();
                self.screenshot(&format!("failed-waiting-for-{name}")).await;
                let body = self.client().source().await.unwrap_or_default();
                panic!("{css} did not appear: {e}\n{body}");
            }
        }
    }

    /// Waits until no element has this test id.
    pub async fn wait_gone(&self, testid: &str, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while self.is_present(testid).await {
            if std::time::Instant::now() > deadline {
                self.screenshot(&format!("failed-still-{testid}")).await;
                panic!("{testid} is still there after {secs} s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element with this test id is enabled, and returns it.
    pub async fn wait_enabled(&self, testid: &str, secs: u64) -> fantoccini::elements::Element {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let el = self.wait_for(testid, secs).await;
            if el.is_enabled().await.unwrap_or(false) {
                return el;
            }
            if std::time::Instant::now() > deadline {
                self.screenshot(&format!("failed-disabled-{testid}")).await;
                panic!("{testid} stayed disabled for {secs} s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The element's `textContent`, trimmed (WebKitWebDriver's rendered text is
    /// empty for ellipsis-clipped elements).
    pub async fn text(&self, testid: &str) -> String {
        let el = self.wait_for(testid, 10).await;
        el.prop("textContent")
            .await
            .unwrap()
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// Waits until `testid`'s text is `expected` (an earlier banner may still show).
    /// Waits (30 s at most) until `check` holds for the text of `testid`, and
    /// returns that text; `what` names the expectation in the failure.
    pub async fn wait_until(
        &self,
        testid: &str,
        what: &str,
        check: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let text = if self.is_present(testid).await {
                self.text(testid).await
            } else {
                String::new()
            };
            if check(&text) {
                return text;
            }
            if std::time::Instant::now() > deadline {
                self.screenshot(&format!("failed-{testid}")).await;
                panic!("{testid}: expected {what}, shows {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn wait_text(&self, testid: &str, expected: &str, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let mut last = String::new();
        while std::time::Instant::now() < deadline {
            if let Ok(el) = self
                .client()
                .find(Locator::Css(&format!("[data-testid='{testid}']")))
                .await
            {
                last = el
                    .prop("textContent")
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                if last == expected {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot(&format!("failed-waiting-for-{expected}"))
            .await;
        panic!("{testid} shows {last:?}, expected {expected:?}");
    }

    pub async fn is_present(&self, testid: &str) -> bool {
        self.client()
            .find(Locator::Css(&format!("[data-testid='{testid}']")))
            .await
            .is_ok()
    }

    pub async fn type_into(&self, testid: &str, text: &str) {
        // The connect screen opens on a person's sign-in; an API token is the
        // other mode.
        if testid == "server-token" && !self.is_present("server-token").await {
            self.click("connect-mode-token").await;
        }
        let el = self.wait_enabled(testid, 10).await;
        el.clear().await.unwrap();
        if text.is_empty() {
            // Emptied by typing, so the field hears an input event.
            el.send_keys(" \u{E003}").await.unwrap();
        } else {
            el.send_keys(text).await.unwrap();
        }
    }

    /// Clicks the element once it is enabled (a click on a disabled button is lost).
    pub async fn click(&self, testid: &str) {
        if let Err(e) = self.wait_enabled(testid, 10).await.click().await {
            self.screenshot(&format!("failed-click-{testid}")).await;
            panic!("cannot click {testid}: {e}");
        }
    }

    /// On first contact the console shows the certificate's fingerprint and waits:
    /// checks that it is `expected`, and confirms it.
    pub async fn confirm_fingerprint(&self, expected: &str) {
        self.wait_for("confirm-fingerprint", 30).await;
        let shown: String = self
            .text("presented-fingerprint")
            .await
            .split_whitespace()
            .collect();
        assert_eq!(shown, expected, "the fingerprint shown");
        self.click("confirm-connect").await;
    }

    pub async fn screenshot(&self, name: &str) {
        let dir = target_dir().parent().unwrap().join("e2e-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        if let Ok(png) = self.client().screenshot().await {
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }

    pub async fn stop(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        // SIGTERM, never SIGKILL: a killed tauri-driver leaves WebKitWebDriver on its port.
        let _ = Command::new("kill")
            .args(["-TERM", &self.driver.id().to_string()])
            .status();
        for _ in 0..50 {
            if self.driver.try_wait().ok().flatten().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = self.driver.kill();
    }
}

mod audit;
mod auditor;
mod auditor_people;
mod bench;
mod bench_users;
mod gateway;
mod people;
mod person;
mod policies;
mod shell;
mod trust;
