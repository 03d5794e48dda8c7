//! The policies page (CO-4): edit with validation as you type, save with a
//! reason, a concurrent change shown as a conflict (never overwritten), history
//! with a diff, rollback, simulation and the permissions matrix with its export.

use std::time::Duration;

use fantoccini::Locator;
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::{CreateApiTokenRequest, CreatePolicyVersionRequest, ErrorCode, Role};

use super::{connect, Console, ONE_AT_A_TIME};

// WebDriver key codes.
const CONTROL: &str = "\u{E009}";
const END: &str = "\u{E010}";
const RELEASE: &str = "\u{E000}";

const FORBID_MINTING: &str =
    "@id(\"e2e.no-minting\")\nforbid (principal, action == Action::\"api_tokens.create\", resource);";

async fn editor_append(console: &Console, text: &str) {
    let content = console
        .client()
        .find(Locator::Css("[data-testid='policy-editor'] .cm-content"))
        .await
        .unwrap();
    content.click().await.unwrap();
    // Ctrl+End on its own: modifiers and text in one call misbehave in WebKit.
    content
        .send_keys(&format!("{CONTROL}{END}{RELEASE}"))
        .await
        .unwrap();
    content.send_keys(&format!("\n{text}")).await.unwrap();
}

async fn wait_text_contains(console: &Console, testid: &str, needle: &str) -> String {
    console
        .wait_until(testid, &format!("to contain {needle:?}"), |t| {
            t.contains(needle)
        })
        .await
}

async fn select(console: &Console, testid: &str, value: &str) {
    let css = format!("[data-testid='{testid}']");
    let el = console
        .client()
        .find(Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("{testid}: {e}"));
    el.select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{testid} = {value}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_edit_save_conflict_history_rollback_simulate_and_matrix() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let admin = server.client();
    let v1 = admin.active_policies().await.unwrap();
    let exports = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "GATEHOUSE_CONSOLE_EXPORT_DIR",
        exports.path().to_str().unwrap(),
    )];
    let console = connect(&server, &server.admin_token, dir.path(), &env).await;
    console.click("nav-policies").await;
    console.wait_for("policy-editor", 30).await;
    wait_text_contains(&console, "policy-active-version", &v1.version.to_string()).await;
    wait_text_contains(&console, "policy-status", "Valid").await;

    // A policy naming an action the schema does not have: refused as you type,
    // at its line, and it cannot be saved.
    let lines = v1.text.lines().count();
    editor_append(
        &console,
        "@id(\"e2e.bad\")\nforbid (principal, action == Action::\"nope\", resource);",
    )
    .await;
    let problem = wait_text_contains(&console, "policy-problems", "line").await;
    assert!(problem.contains("column"), "{problem}");
    assert!(
        (lines..lines + 4).any(|l| problem.contains(&format!("line {l}"))),
        "the problem is on the new lines (the text had {lines}): {problem}"
    );
    console.screenshot("policies-invalid").await;
    assert!(!console
        .wait_for("policy-save", 5)
        .await
        .is_enabled()
        .await
        .unwrap());
    // Undo it, then add a valid policy and save it with a reason.
    let content = console
        .client()
        .find(Locator::Css("[data-testid='policy-editor'] .cm-content"))
        .await
        .unwrap();
    // Undo until the text is the saved one again (how many steps the typing took
    // depends on its pace).
    for _ in 0..30 {
        if !console.is_present("policy-dirty").await {
            break;
        }
        content
            .send_keys(&format!("{CONTROL}z{RELEASE}"))
            .await
            .unwrap();
    }
    console.wait_gone("policy-dirty", 10).await;
    wait_text_contains(&console, "policy-status", "Valid").await;
    editor_append(&console, FORBID_MINTING).await;
    wait_text_contains(&console, "policy-status", "Valid").await;
    console
        .type_into("policy-reason", "no more tokens during the freeze")
        .await;
    console.click("policy-save").await;
    wait_text_contains(&console, "policy-saved", "2").await;
    // The editor starts again from version 2.
    console
        .wait_for_css(
            "[data-testid='policy-active-version'][data-version='2']",
            30,
        )
        .await;
    let v2 = admin.active_policies().await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.reason, "no more tokens during the freeze");
    assert!(v2.policies.iter().any(|p| p.id == "e2e.no-minting"));
    // It applies from the next request.
    let e = admin
        .create_api_token(&CreateApiTokenRequest {
            name: "x".into(),
            role: Role::Auditor,
            expires_in_seconds: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));

    // Someone else changes the policies; saving from version 2 is a conflict the
    // window shows, and nothing is overwritten.
    let v3 = admin
        .create_policy_version(&CreatePolicyVersionRequest {
            text: v1.text.clone(),
            reason: "someone else".into(),
            base_version: 2,
        })
        .await
        .unwrap();
    editor_append(&console, "// my change").await;
    wait_text_contains(&console, "policy-status", "Valid").await;
    console.type_into("policy-reason", "a comment").await;
    console.click("policy-save").await;
    let conflict = wait_text_contains(&console, "policy-conflict", "3").await;
    assert!(conflict.to_lowercase().contains("someone"), "{conflict}");
    console.screenshot("policies-conflict").await;
    assert_eq!(admin.active_policies().await.unwrap().version, v3.version);
    // Loading the new version discards the draft, after a confirmation.
    console.click("policy-conflict-load").await;
    console.click("policy-conflict-load-confirm").await;
    console.wait_gone("policy-conflict", 30).await;
    wait_text_contains(&console, "policy-active-version", "3").await;

    // History: three versions, and the diff of 1 → 2 shows the forbid added.
    console.click("policy-tab-history").await;
    console.wait_for("policy-version", 30).await;
    let versions = console
        .client()
        .find_all(Locator::Css("[data-testid='policy-version']"))
        .await
        .unwrap();
    assert_eq!(versions.len(), 3);
    select(&console, "diff-from", "1").await;
    select(&console, "diff-to", "2").await;
    // The view first shows the default pair (2 → 3); wait for the one chosen.
    let chosen = "[data-testid='diff-view'][data-from='1'][data-to='2']";
    console
        .client()
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(chosen))
        .await
        .unwrap();
    let diff = console.text("diff-view").await;
    assert!(diff.contains("e2e.no-minting"), "{diff}");
    let inserted = console
        .client()
        .find_all(Locator::Css(&format!(
            "{chosen} [data-testid='diff-row'].ins"
        )))
        .await
        .unwrap();
    assert!(!inserted.is_empty());
    console.screenshot("policies-diff").await;

    // Roll back to version 2 (the forbid again), with a reason.
    let rollback =
        "//*[@data-testid='policy-version'][@data-version='2']//*[@data-testid='rollback-button']";
    console
        .client()
        .find(Locator::XPath(rollback))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    console
        .type_into("rollback-reason", "the freeze is back")
        .await;
    console.click("rollback-confirm").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let v4 = loop {
        let active = admin.active_policies().await.unwrap();
        if active.version == 4 {
            break active;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rollback did not happen"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(v4.rolled_back_from, Some(2));
    assert_eq!(v4.text, v2.text);

    // Simulate: an administrator's token minting is denied by the forbid.
    console.click("policy-tab-simulate").await;
    console.wait_for("sim-run", 30).await;
    select(&console, "sim-principal-type", "ApiToken").await;
    console
        .type_into("sim-principal-parents", "Role::\"administrator\"")
        .await;
    select(&console, "sim-action", "api_tokens.create").await;
    console.click("sim-run").await;
    let result = wait_text_contains(&console, "sim-result", "e2e.no-minting").await;
    assert_eq!(
        console
            .wait_for("sim-result", 5)
            .await
            .attr("data-decision")
            .await
            .unwrap()
            .as_deref(),
        Some("deny"),
        "{result}"
    );
    // And reading the trail is allowed, by the administrator policy.
    select(&console, "sim-action", "audit.search").await;
    console.click("sim-run").await;
    wait_text_contains(&console, "sim-result", "builtin.administrator").await;
    console.screenshot("policies-simulate").await;

    // The matrix, and its export: the server's CSV, opened by LibreOffice.
    console.click("policy-tab-matrix").await;
    wait_text_contains(&console, "policy-matrix", "api_tokens.create").await;
    console.screenshot("policies-matrix").await;
    console.click("matrix-export").await;
    wait_text_contains(&console, "matrix-export-result", "Saved").await;
    let file = std::fs::read_dir(exports.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".csv"))
        .expect("an exported matrix");
    let expected = server
        .raw()
        .get(server.url("/v1/policies/matrix?format=csv"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), expected.to_vec());
    super::audit::opens_in_libreoffice(&file);
    console.stop().await;
}
