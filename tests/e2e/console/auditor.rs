//! Auditor mode (CO-7): signed in with an auditor token, no control that would
//! change something is shown, and the server refuses every mutating command even
//! when the window calls it directly.

use fantoccini::Locator;
use gatehouse_client::BlockedFilters;
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::Role;
use serde_json::{json, Value};

use super::{connect, Console, ONE_AT_A_TIME};

/// Calls a console command from the window, as a script injected there would.
async fn invoke(console: &Console, command: &str, args: Value) -> Value {
    let script = "const [cmd, args, done] = arguments; \
        window.__TAURI_INTERNALS__.invoke(cmd, args).then((v) => done({ ok: v }), (e) => done({ err: e }));";
    console
        .client()
        .execute_async(script, vec![json!(command), args])
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_sees_no_controls_and_every_mutating_command_is_refused() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = TestServer::start(Db::Sqlite).await;
    let admin = server.client();
    let auditor = server.mint(Role::Auditor).await;
    let tokens_before = admin.list_api_tokens().await.unwrap();
    let admin_token = tokens_before
        .iter()
        .find(|t| t.role == Role::Administrator)
        .unwrap()
        .id;
    let policies_before = admin.active_policies().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let console = connect(&server, &auditor, dir.path(), &[]).await;
    assert!(console.is_present("readonly-badge").await);
    assert_eq!(console.text("header-role").await.to_lowercase(), "auditor");

    // Tokens: the list, nothing to mint or revoke.
    console.click("nav-machines").await;
    console.click("machines-tab-tokens").await;
    console.wait_for("token-row", 30).await;
    assert!(!console.is_present("mint-form").await);
    assert!(!console.is_present("revoke").await);
    // Policies: readable, nothing to save or roll back.
    console.click("nav-policies").await;
    console.wait_for("policy-editor", 30).await;
    console.wait_for("policy-active-version", 30).await;
    assert!(!console.is_present("policy-save").await);
    assert!(!console.is_present("policy-reason").await);
    console.click("policy-tab-history").await;
    console.wait_for("policy-version", 30).await;
    assert!(!console.is_present("rollback-button").await);
    // The audit trail: readable (an auditor's reads are audited too).
    console.click("nav-audit").await;
    console.wait_for("audit-row", 30).await;
    console.screenshot("auditor-audit-trail").await;

    // Every mutating command, called directly from the window: refused by the
    // server with `forbidden`, and nothing changed.
    let calls = [
        (
            "create_api_token",
            json!({"request": {"name": "sneaky", "role": "administrator"}}),
        ),
        ("revoke_api_token", json!({"id": admin_token.0.to_string()})),
        (
            "save_policies",
            json!({"request": {
                "text": "@id(\"open\")\npermit(principal, action, resource);",
                "reason": "auditor wants more",
                "base_version": policies_before.version,
            }}),
        ),
        (
            "rollback_policies",
            json!({"request": {"to_version": 1, "reason": "x", "base_version": policies_before.version}}),
        ),
    ];
    for (command, args) in calls {
        let answer = invoke(&console, command, args).await;
        assert_eq!(
            answer["err"]["code"], "forbidden",
            "{command} must be refused: {answer}"
        );
        assert!(answer.get("ok").is_none(), "{command}: {answer}");
    }
    // A command the capability does not grant at all is refused by Tauri itself.
    let answer = invoke(&console, "plugin:dialog|save", json!({"options": {}})).await;
    assert!(answer.get("err").is_some(), "{answer}");

    assert_eq!(admin.list_api_tokens().await.unwrap(), tokens_before);
    assert_eq!(
        admin.active_policies().await.unwrap().version,
        policies_before.version
    );
    let refused = admin
        .list_blocked(&BlockedFilters {
            reason: Some("authorization".into()),
            ..BlockedFilters::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(refused.len(), 4, "each refusal is in the blocked log");
    let sneaky = console
        .client()
        .find_all(Locator::XPath("//*[contains(text(), 'sneaky')]"))
        .await
        .unwrap();
    assert!(sneaky.is_empty());
    console.stop().await;
}
