//! The gateway's inventory, the view from a blocked request to why, the WAF's
//! settings, the honeypots' flags and the blocked dashboard's breakdowns.

use gatehouse_testkit::Db;
use gatehouse_types::Role;
use serde_json::{json, Value};

use super::{add_route_policies, admin, start};

// proves: GW-7 (the inventory with live rates), GW-9 (one view from a blocked
// request to why), GW-4 (WAF settings changed and audited; honeypot flags
// listed and lifted)
async fn the_inventory_the_why_the_waf_settings_and_the_flags(db: Db) {
    let (server, _) = start(db).await;
    add_route_policies(&server).await;
    let user = server.mint(Role::User).await;
    let url = |path: &str| format!("{}{path}", server.gateway_url());
    assert_eq!(
        server
            .raw()
            .get(url("/api/records/1"))
            .bearer_auth(&user)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let attack = server
        .raw()
        .get(url("/api/records?id=1%27%20OR%20%271%27%3D%271"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(attack.status(), 403);
    let attack_id = attack.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let denied = server
        .raw()
        .get(url("/api/admin/x"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    let denied_id = denied.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The inventory: both routes, with the last minute's traffic.
    let (status, inventory) =
        admin(&server, reqwest::Method::GET, "/v1/gateway/routes", None).await;
    assert_eq!(status, 200, "{inventory}");
    assert_eq!(inventory["is_running"], true);
    let records = inventory["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "records")
        .unwrap();
    assert_eq!(records["requests_last_minute"], 2, "{inventory}");
    assert_eq!(records["blocked_last_minute"], 1);
    assert_eq!(records["classification"], "confidential");
    assert_eq!(inventory["waf"]["mode"], "blocking");
    assert_eq!(inventory["waf"]["paranoia_level"], 1);
    assert!(inventory["waf"]["engine"]
        .as_str()
        .unwrap()
        .contains("ModSecurity"));

    // Why: the WAF's rules; the policy and its reason.
    let (status, why) = admin(
        &server,
        reqwest::Method::GET,
        &format!("/v1/blocked/{attack_id}/why"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{why}");
    assert_eq!(why["is_gateway"], true);
    assert_eq!(why["reason"], "waf");
    assert_eq!(why["waf_verdict"], "blocked");
    assert!(
        why["waf_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == 942100),
        "{why}"
    );
    assert_eq!(why["decision"]["decision"], "allow");
    assert_eq!(why["decision"]["policies"][0], "users_call_partner_routes");
    assert!(why["rate_source_quota"].as_u64().unwrap() > 0);
    let (_, why) = admin(
        &server,
        reqwest::Method::GET,
        &format!("/v1/blocked/{denied_id}/why"),
        None,
    )
    .await;
    assert_eq!(why["reason"], "authorization");
    assert_eq!(
        why["decision"]["policies"][0],
        "restricted_needs_two_factors"
    );
    assert_eq!(
        why["decision"]["reason"],
        "two factors are needed for restricted routes"
    );
    assert!(why["waf_verdict"].is_null(), "the WAF never saw it: {why}");
    let (status, _) = admin(
        &server,
        reqwest::Method::GET,
        "/v1/blocked/no-such-request/why",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = admin(
        &server,
        reqwest::Method::GET,
        "/v1/blocked/bad%20id/why",
        None,
    )
    .await;
    assert_eq!(status, 400);

    // The WAF to detect-only: audited with before and after; the attack passes, recorded as "would block".
    let generation = inventory["waf"]["generation"].as_u64().unwrap();
    let change = |mode: &str, base: u64, exclusions: Value| {
        json!({"mode": mode, "paranoia_level": 1, "inbound_threshold": 5, "outbound_threshold": 4,
               "exclusions": exclusions, "base_generation": base})
    };
    let (status, error) = admin(
        &server,
        reqwest::Method::PUT,
        "/v1/gateway/waf",
        Some(change(
            "detect_only",
            generation,
            json!([{"path_prefix": "/api\" id:1", "rule_id": 942100}]),
        )),
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("validation_failed")),
        "{error}"
    );
    let (status, error) = admin(
        &server,
        reqwest::Method::PUT,
        "/v1/gateway/waf",
        Some(change("detect_only", generation + 7, json!([]))),
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (409, Some("conflict")));
    let (status, waf) = admin(
        &server,
        reqwest::Method::PUT,
        "/v1/gateway/waf",
        Some(change(
            "detect_only",
            generation,
            json!([{"path_prefix": "/api/records", "rule_id": 942100, "note": "a false positive"}]),
        )),
    )
    .await;
    assert_eq!(status, 200, "{waf}");
    assert_eq!(waf["mode"], "detect_only");
    assert!(waf["generation"].as_u64().unwrap() > generation);
    let (_, trail) = admin(
        &server,
        reqwest::Method::GET,
        "/v1/audit/events?action=gateway.waf.update",
        None,
    )
    .await;
    let record = &trail["items"][0];
    assert_eq!(record["before"]["mode"], "blocking", "{record}");
    assert_eq!(record["after"]["mode"], "detect_only");
    // Kept: a replica started now (as after a restart) runs the stored version.
    let replica = server.replica().await;
    let (_, kept) = admin(&replica, reqwest::Method::GET, "/v1/gateway/routes", None).await;
    assert_eq!(kept["waf"]["mode"], "detect_only", "{kept}");
    assert_eq!(kept["waf"]["exclusions"][0]["rule_id"], 942100);
    // (Not stopped: it shares the first server's store, which stopping would close.)
    drop(replica);
    let passed = server
        .raw()
        .get(url("/api/records?id=1%27%20OR%20%271%27%3D%271"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(passed.status(), 200);

    // A honeypot flags the source; listed; lifted.
    assert_eq!(
        server
            .raw()
            .get(url("/.env"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        server
            .raw()
            .get(url("/api/records/1"))
            .bearer_auth(&user)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let (_, flagged) = admin(&server, reqwest::Method::GET, "/v1/gateway/sources", None).await;
    assert_eq!(flagged["items"][0]["source"], "127.0.0.1", "{flagged}");
    assert_eq!(flagged["items"][0]["path"], "/.env");
    let (status, after) = admin(
        &server,
        reqwest::Method::DELETE,
        "/v1/gateway/sources?source=127.0.0.1",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(after["items"].as_array().unwrap().len(), 0);
    let (status, _) = admin(
        &server,
        reqwest::Method::DELETE,
        "/v1/gateway/sources?source=127.0.0.1",
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = admin(
        &server,
        reqwest::Method::DELETE,
        "/v1/gateway/sources?source=nonsense",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        server
            .raw()
            .get(url("/api/records/1"))
            .bearer_auth(&user)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // An attack tool is refused as a bad bot; the dashboard's breakdowns name
    // the WAF rule, the decoy and the verdicts (GW-6).
    let tool = server
        .raw()
        .get(url("/api/records/1"))
        .header("user-agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(tool.status(), 403);
    let tool_id = tool.json::<Value>().await.unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, why) = admin(
        &server,
        reqwest::Method::GET,
        &format!("/v1/blocked/{tool_id}/why"),
        None,
    )
    .await;
    assert_eq!(
        (
            why["reason"].as_str(),
            why["bot"].as_str(),
            why["matched"].as_str()
        ),
        (Some("bot"), Some("bad_bot"), Some("sqlmap")),
        "{why}"
    );
    // By address, not by name: no SNI.
    assert!(
        why["tls_fingerprint"].as_str().unwrap().starts_with('i'),
        "{why}"
    );
    let (status, summary) = admin(&server, reqwest::Method::GET, "/v1/blocked/summary", None).await;
    assert_eq!(status, 200, "{summary}");
    let count = |list: &str, key: &str| {
        summary[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == key)
            .map_or(0, |c| c["count"].as_u64().unwrap())
    };
    let rules = summary["top_waf_rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        1,
        "one WAF block, one deciding rule: {summary}"
    );
    let rule = rules[0]["key"].as_str().unwrap();
    assert!(rule.starts_with("942"), "an SQL injection rule: {summary}");
    assert_eq!(
        gatehouse_types::crs_rule_family(rule),
        Some("SQL injection")
    );
    // The hit and the refusal of the flagged source after it.
    assert_eq!(count("top_decoys", "/.env"), 2, "{summary}");
    assert_eq!(count("by_bot", "bad_bot"), 1, "{summary}");
    // The WAF block and the policy's denial were refused after the bot check.
    assert_eq!(count("by_bot", "human"), 2, "{summary}");
    let (_, page) = admin(
        &server,
        reqwest::Method::GET,
        "/v1/blocked?reason=bot",
        None,
    )
    .await;
    assert_eq!(page["items"][0]["matched"], "sqlmap", "{page}");
    assert_eq!(page["items"][0]["bot"], "bad_bot");
    let (_, page) = admin(
        &server,
        reqwest::Method::GET,
        "/v1/blocked?reason=waf",
        None,
    )
    .await;
    assert_eq!(page["items"][0]["matched"], rule, "{page}");
    let (_, page) = admin(
        &server,
        reqwest::Method::GET,
        "/v1/blocked?reason=honeypot",
        None,
    )
    .await;
    assert!(
        page["items"][0].get("bot").is_none(),
        "a decoy is refused before the bot check: {page}"
    );

    // An auditor reads all of it and changes none of it.
    let auditor = server.mint(Role::Auditor).await;
    let read = server
        .raw()
        .get(server.url("/v1/gateway/routes"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let write = server
        .raw()
        .put(server.url("/v1/gateway/waf"))
        .bearer_auth(&auditor)
        .json(&change("off", generation, json!([])))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    server.stop().await;
}

gatehouse_testkit::on_both_databases!(the_inventory_the_why_the_waf_settings_and_the_flags);
