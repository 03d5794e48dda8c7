//! The audit trail browser (CO-3), the blocked dashboard's click-through (CO-5)
//! and export to CSV (CO-8), in the real console against a real server.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fantoccini::Locator;
use gatehouse_client::ExportFormat;
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::{AuditQuery, CreateApiTokenRequest, Role};
use serde_json::json;

use super::{connect, Console, ONE_AT_A_TIME};

/// The audit list holds a first page of its search, and there is more.
const PARTIAL: &str = "[data-testid='audit-count'][data-state='partial']";

/// Connects a fresh console (with `env`) to `server` with `token`.
async fn rows(console: &Console) -> Vec<fantoccini::elements::Element> {
    console
        .client()
        .find_all(Locator::Css("[data-testid='audit-row']"))
        .await
        .unwrap()
}

async fn hash(console: &Console) -> String {
    let url = console.client().current_url().await.unwrap();
    url.fragment().unwrap_or_default().to_owned()
}

/// An exported CSV opens in LibreOffice without complaint: `--convert-to xlsx`
/// succeeds, says nothing on stderr, and writes the workbook.
pub fn opens_in_libreoffice(csv: &Path) {
    let out = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
        ])
        .arg(out.path())
        .arg(csv)
        .output()
        .expect("LibreOffice (soffice) is needed: make test installs it");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "soffice failed: {stderr}");
    // The launcher's own note that no Java runtime is installed says nothing
    // about the file; anything else on stderr does.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("javaldx"))
        .collect();
    assert!(complaints.is_empty(), "soffice complained: {stderr}");
    let name = csv.file_stem().unwrap().to_string_lossy().into_owned();
    let xlsx = out.path().join(format!("{name}.xlsx"));
    let workbook = std::fs::read(&xlsx).unwrap_or_default();
    assert!(
        workbook.len() > 1000 && workbook.starts_with(b"PK"),
        "no workbook written ({} bytes)",
        workbook.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_trail_filters_details_follow_and_export() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let admin = server.client();
    // A change with a before/after, with a name a spreadsheet would run as a formula.
    let evil = "=HYPERLINK(\"http://attacker.example\",\"x\")";
    let minted = admin
        .create_api_token(&CreateApiTokenRequest {
            name: evil.into(),
            role: Role::Administrator,
            expires_in_seconds: None,
        })
        .await
        .unwrap();
    // It acts, so its name is a cell of the trail on its own.
    admin
        .with_token(&minted.secret)
        .create_api_token(&CreateApiTokenRequest {
            name: "second".into(),
            role: Role::Auditor,
            expires_in_seconds: None,
        })
        .await
        .unwrap();
    admin.revoke_api_token(minted.token.id).await.unwrap();
    for _ in 0..2 {
        server
            .raw()
            .get(server.url("/v1/server"))
            .send()
            .await
            .unwrap();
    }

    let exports = tempfile::tempdir().unwrap();
    let export_dir = exports.path().join("out");
    std::fs::create_dir(&export_dir).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = [("GATEHOUSE_CONSOLE_EXPORT_DIR", export_dir.to_str().unwrap())];
    let console = connect(&server, &server.admin_token, dir.path(), &env).await;
    console.click("nav-audit").await;
    console.wait_for("audit-row", 30).await;
    assert!(rows(&console).await.len() >= 5);
    // How long the first page took is shown (and measured by `make bench-console`).
    console.wait_for("audit-timing", 10).await;

    // The revocation's detail: every field, and its before/after.
    // (its time cell: the other cells hold click-to-filter links)
    let revoke = "//div[@data-testid='audit-row'][span[contains(., 'api_tokens.revoke')]]/span[1]";
    console
        .client()
        .find(Locator::XPath(revoke))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    console.wait_for("detail-diff", 10).await;
    let changed = console
        .client()
        .find_all(Locator::Css(
            "[data-testid='diff-field'][data-kind='changed']",
        ))
        .await
        .unwrap();
    assert!(!changed.is_empty(), "a revocation changes revoked_at");
    let decision = console.text("detail-decision").await;
    assert!(decision.starts_with("allow"), "{decision}");
    console.screenshot("audit-detail").await;

    // Clicking the request id filters by it: one record, in the hash.
    console.click("detail-filter-request").await;
    console.wait_for("chip-request_id", 10).await;
    assert!(hash(&console).await.contains("request_id="));
    console
        .wait_until("audit-count", "1 record", |t| t.starts_with("1 records"))
        .await;
    // Back restores the unfiltered view; forward the filtered one.
    console.client().back().await.unwrap();
    console.wait_gone("chip-request_id", 10).await;
    // Counted, not the "500+ … more as you scroll" of a search not yet answered.
    console
        .wait_until("audit-count", "all records", |t| {
            !t.contains('+') && !t.starts_with("1 records")
        })
        .await;
    console.client().forward().await.unwrap();
    console.wait_for("chip-request_id", 10).await;

    // The filter form: an action, applied.
    console.click("filter-clear").await;
    console
        .type_into("filter-action-input", "api_tokens.create")
        .await;
    console.click("filter-apply").await;
    console.wait_for("chip-action", 10).await;
    // `gatehouse init`'s administrator token and the two minted above.
    console
        .wait_until("audit-count", "3 records", |t| t.starts_with("3 records"))
        .await;

    // Export with those filters: the server's own CSV, byte for byte, formula
    // neutralised, and LibreOffice opens it.
    console.click("audit-export").await;
    let result = console
        .wait_until("audit-export-result", "saved", |t| t.starts_with("Saved"))
        .await;
    let file = std::fs::read_dir(&export_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .unwrap_or_else(|| panic!("no file exported ({result})"));
    let exported = std::fs::read(&file).unwrap();
    let filters = AuditQuery {
        action: Some("api_tokens.create".into()),
        ..AuditQuery::default()
    };
    let expected = admin
        .export_audit(ExportFormat::Csv, &filters)
        .await
        .unwrap();
    assert_eq!(exported, expected, "the export is the server's CSV");
    let text = String::from_utf8(exported).unwrap();
    // The actor's name is a quoted cell that starts with `'`, not `=`.
    assert!(
        text.contains(",\"'=HYPERLINK("),
        "formula neutralised: {text}"
    );
    assert!(!text.contains(",\"=HYPERLINK("), "{text}");
    assert_eq!(
        std::fs::read_dir(&export_dir).unwrap().count(),
        1,
        "no partial file left"
    );
    opens_in_libreoffice(&file);
    console.screenshot("audit-filtered-exported").await;

    // A reopened console comes back to the same view and filters.
    console.stop().await;
    let console = connect(&server, &server.admin_token, dir.path(), &env).await;
    console.wait_for("chip-action", 30).await;
    assert!(hash(&console).await.contains("action=api_tokens.create"));
    console
        .wait_until("audit-count", "3 records", |t| t.starts_with("3 records"))
        .await;

    // An export to a place that cannot be written: a message, no file.
    std::fs::remove_dir_all(&export_dir).unwrap();
    console.click("audit-export").await;
    console.wait_text("error-code", "storage_failed", 20).await;
    let message = console.text("error-message").await;
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains("choose another folder"), "{message}");
    console.screenshot("audit-export-failed").await;

    // An invalid filter (a hand-edited address): the window says which.
    console
        .client()
        .execute("window.location.hash = '#/audit?from=yesterday'", vec![])
        .await
        .unwrap();
    console.wait_text("error-code", "invalid_input", 20).await;
    assert!(console
        .text("error-message")
        .await
        .contains("from must be a date"));

    // Chain verification.
    console.click("filter-clear").await;
    console.click("verify-chain").await;
    let status = console
        .wait_until("chain-status", "verified", |t| t.starts_with("Verified"))
        .await;
    assert!(status.contains("records"), "{status}");

    // Follow live: new records appear at the top as they are committed.
    console.click("follow-live").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.list_api_tokens().await.unwrap();
    let live = "//div[@data-testid='audit-row' and contains(@class, 'live')][span[contains(., 'api_tokens.list')]]";
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while console.client().find(Locator::XPath(live)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the new record did not arrive live"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    console.screenshot("audit-live").await;
    console.click("follow-live").await;
    console.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocked_dashboard_opens_the_audit_trail_and_a_server_gone_mid_scroll_is_said() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    // More than two pages of records, and three refused requests.
    let service = server.mint(Role::Service).await;
    for batch in 0..2 {
        let events: Vec<_> = (0..700)
            .map(|i| {
                json!({
                    "event_id": format!("e-{batch}-{i}"),
                    "action": "orders.ship",
                    "outcome": "success",
                    "resource": {"type": "order", "id": format!("{batch}-{i}")},
                })
            })
            .collect();
        let status = server
            .raw()
            .post(server.url("/v1/audit/events"))
            .bearer_auth(&service)
            .json(&json!({ "events": events }))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    for _ in 0..3 {
        server
            .raw()
            .get(server.url("/v1/server"))
            .send()
            .await
            .unwrap();
    }
    // And two refused for authorization: an auditor trying to mint.
    let auditor = server.mint(Role::Auditor).await;
    for _ in 0..2 {
        let status = server
            .raw()
            .post(server.url("/v1/api-tokens"))
            .bearer_auth(&auditor)
            .json(&json!({"name": "x", "role": "auditor"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403);
    }

    let dir = tempfile::tempdir().unwrap();
    let exports = tempfile::tempdir().unwrap();
    let env = [(
        "GATEHOUSE_CONSOLE_EXPORT_DIR",
        exports.path().to_str().unwrap(),
    )];
    let console = connect(&server, &server.admin_token, dir.path(), &env).await;
    console.click("nav-blocked").await;
    console.wait_for("chart-by_reason", 30).await;
    // The breakdowns export: the server's CSV for the same range (the test
    // server's clock stands still, so its default range is the dashboard's).
    console.click("blocked-export").await;
    console
        .wait_until("blocked-export-result", "saved", |t| t.starts_with("Saved"))
        .await;
    let file = std::fs::read_dir(exports.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".csv"))
        .expect("an exported file");
    let exported = std::fs::read_to_string(&file).unwrap();
    let expected = server
        .raw()
        .get(server.url("/v1/blocked/summary?format=csv&top=100"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(exported, expected);
    assert!(
        exported.lines().any(|l| l == "reason,authentication,,3"),
        "{exported}"
    );
    opens_in_libreoffice(&file);
    // The authentication bar opens the audit trail filtered to those requests.
    console
        .client()
        .find(Locator::Css(
            "[data-testid='region-by_reason'][data-key='authentication']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    console.wait_for("audit-page", 10).await;
    console.wait_for("chip-blocked", 10).await;
    // The three refused for authentication, not the two for authorization.
    console
        .wait_until("audit-count", "3 records", |t| t.starts_with("3 records"))
        .await;
    assert!(hash(&console).await.contains("blocked=authentication"));
    for row in rows(&console).await {
        let text = row.prop("textContent").await.unwrap().unwrap_or_default();
        assert!(text.contains("denied 401"), "{text}");
    }
    console.screenshot("audit-from-blocked").await;

    // The whole trail: scroll to the end through keyset pages.
    console.click("filter-clear").await;
    console.wait_for_css(PARTIAL, 30).await;
    let scroll = "const l = document.querySelector(\"[data-testid='audit-list']\"); l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll'));";
    for _ in 0..10 {
        console.client().execute(scroll, vec![]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let count = console
        .wait_until("audit-count", "every record", |t| !t.contains("+"))
        .await;
    let n: usize = count
        .split_whitespace()
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(n > 1400, "{count}");
    assert!(
        rows(&console).await.len() < 200,
        "only the visible rows are drawn"
    );
    console.screenshot("audit-scrolled").await;

    // The server goes away mid-scroll: the next page fails with a message and a
    // retry, and the rows already shown stay.
    console
        .type_into("filter-action-input", "orders.ship")
        .await;
    console.click("filter-apply").await;
    console.wait_for("chip-action", 10).await;
    // A first page of the new search is in, and there is more.
    console.wait_for_css(PARTIAL, 30).await;
    assert!(!rows(&console).await.is_empty());
    server.stop().await;
    console.client().execute(scroll, vec![]).await.unwrap();
    console
        .wait_text("error-code", "server_unreachable", 30)
        .await;
    console.wait_for("list-error", 10).await;
    assert!(console.is_present("list-retry").await);
    assert!(console.is_present("audit-row-missing").await);
    // Back at the top, the rows already fetched are all still there.
    let top = "const l = document.querySelector(\"[data-testid='audit-list']\"); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));";
    console.client().execute(top, vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!rows(&console).await.is_empty(), "what was shown stays");
    console.screenshot("audit-server-gone").await;
    console.stop().await;
}

/// With a dark desktop theme the window is dark and the charts are drawn for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_a_dark_desktop_theme() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    for _ in 0..2 {
        server
            .raw()
            .get(server.url("/v1/server"))
            .send()
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let env = [("GTK_THEME", "Adwaita:dark")];
    let console = connect(&server, &server.admin_token, dir.path(), &env).await;
    let dark = console
        .client()
        .execute(
            "return window.matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dark, json!(true), "WebKit follows the GTK theme");
    console.click("nav-blocked").await;
    let chart = console.wait_for("chart-over_time", 30).await;
    let svg = chart.html(true).await.unwrap().to_lowercase();
    assert!(
        svg.contains("#e5e7eb"),
        "the dark theme's text colour is used"
    );
    console.screenshot("blocked-dashboard-dark").await;
    console.stop().await;
}
