//! The console's foundation: the embedded default, remote servers, certificate
//! pinning, the tokens page and the blocked dashboard. (First contact's
//! confirmation itself: `trust.rs`.)

use fantoccini::Locator;
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::Role;

use super::{connect, free_port, Console, ONE_AT_A_TIME};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_starts_connects_and_is_reused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "embedded").await;
    console.wait_for("shell", 90).await;
    assert_eq!(
        console.text("header-version").await,
        format!("v{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        console.text("header-role").await.to_lowercase(),
        "administrator"
    );
    assert!(console
        .text("header-identity")
        .await
        .contains("initial administrator"));
    assert!(
        !console.is_present("readonly-badge").await,
        "an administrator is not read-only"
    );
    console.screenshot("embedded-default").await;
    console.click("nav-settings").await;
    let fingerprint = console.text("settings-fingerprint").await;
    assert!(console
        .text("settings-token-storage")
        .await
        .to_lowercase()
        .contains("file"));
    assert!(console
        .text("settings-database")
        .await
        .to_lowercase()
        .contains("sqlite"));
    console.screenshot("settings").await;
    console.stop().await;

    // A second start reuses the same data: same certificate, same kept token.
    let console = Console::start(dir.path(), "embedded").await;
    console.wait_for("shell", 90).await;
    console.click("nav-settings").await;
    assert_eq!(console.text("settings-fingerprint").await, fingerprint);
    console.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_auditor_sees_the_read_only_badge() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let auditor = server.mint(Role::Auditor).await;
    let dir = tempfile::tempdir().unwrap();
    let console = connect(&server, &auditor, dir.path(), &[]).await;
    assert_eq!(console.text("header-role").await.to_lowercase(), "auditor");
    assert!(console
        .wait_for("readonly-badge", 5)
        .await
        .is_displayed()
        .await
        .unwrap());
    console.screenshot("remote-auditor").await;
    let shown = console.text("header-server").await;
    assert_eq!(shown, server.base_url);
    // The token stays on the Rust side: the page never holds it.
    let source = console.client().source().await.unwrap();
    assert!(!source.contains(&auditor), "the token reached the web view");
    console.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_connections_show_readable_errors_and_the_console_stays_usable() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "connect").await;
    console.wait_for("connect-screen", 30).await;

    // A wrong token.
    console.type_into("server-url", &server.base_url).await;
    console
        .type_into("server-token", &format!("gh_{}", "A".repeat(43)))
        .await;
    console.click("connect-submit").await;
    console.confirm_fingerprint(&server.fingerprint).await;
    console.wait_text("error-code", "invalid_token", 15).await;
    assert!(!console.text("error-message").await.is_empty());
    console.screenshot("wrong-token").await;

    // A plain-HTTP URL is refused before anything is sent.
    console
        .type_into(
            "server-url",
            &server.base_url.replace("https://", "http://"),
        )
        .await;
    console.type_into("server-token", "whatever").await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "invalid_server_url", 15)
        .await;

    // Nothing listens there.
    let closed = format!("https://127.0.0.1:{}", free_port());
    console.type_into("server-url", &closed).await;
    console.type_into("server-token", "whatever").await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "server_unreachable", 30)
        .await;

    // And after all that, a good token still connects (nothing was remembered
    // from the refused attempt: the fingerprint is asked again).
    let admin = server.admin_token.clone();
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &admin).await;
    console.click("connect-submit").await;
    console.confirm_fingerprint(&server.fingerprint).await;
    console.wait_for("shell", 30).await;
    console.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_and_an_impostor_are_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let first = TestServer::start(Db::Sqlite).await;
    let addr = first.base_url.trim_start_matches("https://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "connect").await;
    console.wait_for("connect-screen", 30).await;
    console.type_into("server-url", &first.base_url).await;
    console.type_into("server-token", &first.admin_token).await;
    console.click("connect-submit").await;
    console.confirm_fingerprint(&first.fingerprint).await;
    console.wait_for("shell", 30).await;
    console.click("sign-out").await;
    console.wait_for("connect-screen", 10).await;
    // Remembered, with its pin; its token forgotten on sign-out.
    let remembered = console.text("remembered-server").await;
    assert!(remembered.contains(&first.base_url), "{remembered}");
    assert!(!remembered.contains("token kept"), "{remembered}");

    // Another server (another certificate) now answers on the same address.
    first.stop().await;
    let second = TestServer::start_with(Db::Sqlite, |c| c.listen = addr.parse().unwrap()).await;
    console.type_into("server-url", &second.base_url).await;
    console.type_into("server-token", &second.admin_token).await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "certificate_changed", 30)
        .await;
    let message = console.text("error-message").await;
    assert!(
        message.contains(&second.fingerprint),
        "names the presented certificate: {message}"
    );
    console.screenshot("certificate-changed").await;

    // An address that speaks TLS but is not Gatehouse.
    let impostor = gatehouse_testkit::start_impostor("hello").await;
    console.type_into("server-url", &impostor).await;
    console.type_into("server-token", &second.admin_token).await;
    console.click("connect-submit").await;
    console
        .wait_text("error-code", "bad_server_response", 30)
        .await;
    // And the console is still usable: the embedded server opens.
    console.click("connect-embedded").await;
    console.wait_for("shell", 90).await;
    console.stop().await;
}

/// The API tokens page mints (the secret shown once) and revokes; the blocked
/// dashboard draws its charts; an auditor sees neither mint nor revoke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_page_and_blocked_dashboard() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    // Something to chart: refused requests of two kinds.
    let raw = server.raw();
    for _ in 0..3 {
        raw.get(server.url("/v1/server")).send().await.unwrap();
    }
    let auditor = server.mint(Role::Auditor).await;
    raw.post(server.url("/v1/api-tokens"))
        .bearer_auth(&auditor)
        .json(&serde_json::json!({"name": "x", "role": "auditor"}))
        .send()
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let console = Console::start(dir.path(), "connect").await;
    console.wait_for("connect-screen", 30).await;
    console.type_into("server-url", &server.base_url).await;
    console.type_into("server-token", &server.admin_token).await;
    console.click("connect-submit").await;
    console.confirm_fingerprint(&server.fingerprint).await;
    console.wait_for("shell", 30).await;

    console.click("nav-blocked").await;
    console.wait_for("chart-over_time", 30).await;
    let total = console.text("blocked-total").await;
    assert!(total.starts_with("4"), "{total}");
    let source = console.client().source().await.unwrap();
    assert!(source.contains("authentication") && source.contains("authorization"));
    console.screenshot("blocked-dashboard").await;

    console.click("nav-machines").await;
    console.click("machines-tab-tokens").await;
    console.wait_for("tokens-table", 30).await;
    console.type_into("mint-name", "ci pipeline").await;
    console.click("mint-submit").await;
    let secret = console
        .wait_for("minted-secret", 30)
        .await
        .text()
        .await
        .unwrap();
    assert!(secret.starts_with("gh_"), "{secret}");
    assert!(
        server
            .anonymous()
            .with_token(&secret)
            .server_info()
            .await
            .is_ok(),
        "the minted token works"
    );
    console.screenshot("tokens-minted").await;
    // Revoke the minted one (rows share a creation time, so find it by name).
    let xpath = "//tr[td[normalize-space()='ci pipeline']]//button[@data-testid='revoke']";
    // The list reloads after the secret shows: wait for the new row.
    console
        .client()
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !console
        .client()
        .find_all(Locator::XPath(xpath))
        .await
        .unwrap()
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "revoke did not take");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        server
            .anonymous()
            .with_token(&secret)
            .server_info()
            .await
            .is_err(),
        "the revoked token no longer works"
    );
    console.stop().await;

    // An auditor: no mint form, no revoke buttons.
    let dir = tempfile::tempdir().unwrap();
    let console = connect(&server, &auditor, dir.path(), &[]).await;
    console.click("nav-machines").await;
    console.click("machines-tab-tokens").await;
    console.wait_for("token-row", 30).await;
    assert!(!console.is_present("mint-form").await);
    assert!(!console.is_present("revoke").await);
    console.stop().await;
}
