//! The Gateway page and the "why" view (GW-4, GW-7, GW-9) against a real
//! server whose gateway stands in front of the demo service: the inventory
//! with its traffic, a honeypot flag lifted, the WAF switched to detect-only
//! on confirmation, a blocked request's why (WAF rules; a policy with its
//! reason, opened in the editor), and "this was a false positive".

use gatehouse_server::demo_gateway;
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::{CreatePolicyVersionRequest, Role};
use serde_json::Value;

use super::{connect, Console, ONE_AT_A_TIME};

async fn api(server: &TestServer, method: reqwest::Method, path: &str) -> Value {
    let response = server
        .raw()
        .request(method, server.url(path))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Sends one request through the gateway; its status and request id.
async fn through(server: &TestServer, path: &str, token: Option<&str>) -> (u16, String) {
    let mut request = server.raw().get(format!("{}{path}", server.gateway_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, id)
}

async fn select(console: &Console, testid: &str, value: &str) {
    let css = format!("[data-testid='{testid}']");
    let el = console
        .client()
        .find(fantoccini::Locator::Css(&css))
        .await
        .unwrap_or_else(|e| panic!("{testid}: {e}"));
    el.select_by_value(value).await.unwrap();
}

async fn go(console: &Console, hash: &str) {
    let script = format!("window.location.hash = {};", serde_json::json!(hash));
    console.client().execute(&script, vec![]).await.unwrap();
}

// proves: GW-4, GW-7, GW-9 (the gateway's screens, end to end)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_page_and_why_a_request_was_blocked() {
    let _one = ONE_AT_A_TIME.lock().await;
    let upstream = demo_gateway::start_service().await.unwrap();
    let server = TestServer::start_with(Db::Sqlite, |c| {
        c.gateway = Some(demo_gateway::config(
            "127.0.0.1:0".parse().unwrap(),
            upstream,
        ));
    })
    .await;
    let admin = server.client();
    let active = admin.active_policies().await.unwrap();
    admin
        .create_policy_version(&CreatePolicyVersionRequest {
            text: format!("{}\n{}", active.text, demo_gateway::POLICIES),
            reason: "the demo service".into(),
            base_version: active.version,
        })
        .await
        .unwrap();
    let app = server.mint(Role::User).await;
    assert_eq!(
        through(&server, "/api/patients/17", Some(&app)).await.0,
        200
    );
    let (status, attack) = through(
        &server,
        "/api/patients?id=1%27%20OR%20%271%27%3D%271",
        Some(&app),
    )
    .await;
    assert_eq!(status, 403);
    let (status, restricted) = through(&server, "/api/records/17", Some(&app)).await;
    assert_eq!(status, 403);
    assert_eq!(through(&server, "/.env", None).await.0, 404);

    let dir = tempfile::tempdir().unwrap();
    let console = connect(&server, &server.admin_token, dir.path(), &[]).await;
    console.click("nav-gateway").await;
    console.wait_for("gateway-page", 30).await;
    console.wait_for("gateway-route-row", 30).await;
    console.wait_for("flagged-row", 30).await;
    console.screenshot("gateway-flagged").await;
    let routes = console
        .client()
        .find_all(fantoccini::Locator::Css(
            "[data-testid='gateway-route-row']",
        ))
        .await
        .unwrap();
    assert_eq!(routes.len(), 4);

    // The honeypot's flag on this machine's address, lifted.
    console.click("flagged-lift").await;
    console.wait_for("flagged-empty", 20).await;
    let flagged = api(&server, reqwest::Method::GET, "/v1/gateway/sources").await;
    assert_eq!(flagged["items"].as_array().unwrap().len(), 0);

    console.wait_for("denied-tls-none", 10).await;
    console
        .client()
        .execute(
            "document.querySelector('[data-testid=gateway-bots]').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    console.screenshot("gateway-bots").await;
    console.screenshot("gateway-page").await;
    // The WAF to detect-only, on confirmation.
    select(&console, "waf-mode", "detect_only").await;
    console.click("waf-save").await;
    console.wait_for("waf-confirm", 10).await;
    console.screenshot("gateway-waf-confirm").await;
    console.click("waf-confirm").await;
    console.wait_for("waf-saved", 20).await;
    let gateway = api(&server, reqwest::Method::GET, "/v1/gateway/routes").await;
    assert_eq!(gateway["waf"]["mode"], "detect_only");

    // Why the attack was blocked: the CRS rules; then "a false positive".
    console.type_into("why-lookup-input", &attack).await;
    console.click("why-lookup-go").await;
    console.wait_for("why-panel", 30).await;
    let waf = console.wait_for("why-waf", 30).await;
    assert_eq!(
        waf.attr("data-verdict").await.unwrap().as_deref(),
        Some("blocked")
    );
    console
        .wait_for_css("[data-testid='why-waf-rule'][data-rule-id='942100']", 20)
        .await;
    console.screenshot("why-waf").await;
    console.click("why-false-positive").await;
    console.wait_for("why-false-positive-plan", 10).await;
    console.click("why-false-positive-confirm").await;
    console.wait_for("why-false-positive-done", 20).await;
    let gateway = api(&server, reqwest::Method::GET, "/v1/gateway/routes").await;
    let exclusions = gateway["waf"]["exclusions"].as_array().unwrap();
    assert!(
        exclusions
            .iter()
            .any(|e| e["rule_id"] == 942100 && e["path_prefix"] == "/api/patients"),
        "{gateway}"
    );
    assert!(exclusions.iter().all(|e| e["rule_id"] != 949110));

    // Why the restricted call was refused: the policy and its reason, opened in the editor.
    go(&console, &format!("#/why?request_id={restricted}")).await;
    let decision = console
        .wait_for_css("[data-testid='why-decision'][data-decision='deny']", 30)
        .await;
    assert!(decision.text().await.unwrap().contains("two factors"));
    console.screenshot("why-policy").await;
    console
        .wait_for_css(
            "[data-testid='why-policy-link'][data-policy='demo.gateway.restricted_needs_two_factors']",
            10,
        )
        .await
        .click()
        .await
        .unwrap();
    console
        .wait_for_css("[data-testid='policy-shown'][data-found='true']", 30)
        .await;
    console.screenshot("why-policy-opened").await;

    // proves: GW-6, CO-5 (the blocked dashboard's gateway breakdowns)
    console.click("nav-blocked").await;
    console.wait_for("blocked-total", 30).await;
    let rule = console
        .wait_for_css("[data-testid='region-top_waf_rules']", 30)
        .await;
    let label = rule.attr("data-key").await.unwrap().unwrap_or_default();
    assert!(
        label.starts_with("942") && label.contains("SQL injection"),
        "{label}"
    );
    console
        .wait_for_css("[data-testid='region-top_decoys'][data-key='/.env']", 10)
        .await;
    console
        .wait_for_css("[data-testid='region-by_bot'][data-key='human']", 10)
        .await;
    console
        .client()
        .execute(
            "document.querySelector('h2.section').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    console.screenshot("blocked-gateway").await;
    // A rule's bar opens the WAF's refusals in the audit trail.
    rule.click().await.unwrap();
    console.wait_for("audit-page", 30).await;
    let url = console.client().current_url().await.unwrap();
    assert!(
        url.fragment().unwrap_or("").contains("blocked=waf"),
        "{url}"
    );
    console.stop().await;
    server.stop().await;
}
