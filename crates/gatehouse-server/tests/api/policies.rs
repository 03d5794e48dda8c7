//! Access control through the API (AZ-1 to AZ-5, AZ-8, AZ-9): every call decided
//! by the versioned Cedar policies, changes audited with before and after,
//! validation, diff, rollback, simulation, the matrix and the decision API.

use gatehouse_authz::{Action, BUILTIN_POLICIES};
use gatehouse_client::{BlockedFilters, Client};
use gatehouse_server::routes::Access;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{CreatePolicyVersionRequest, ErrorCode, RollbackPoliciesRequest};
use serde_json::{json, Value};

use crate::assert_error;
use crate::audit::{mint, send, the_record_of};

mod decisions;
mod targets;

fn change(text: &str, base_version: u64) -> CreatePolicyVersionRequest {
    CreatePolicyVersionRequest {
        text: text.into(),
        reason: "test change".into(),
        base_version,
    }
}

async fn code(client: &Client, request: &CreatePolicyVersionRequest) -> ErrorCode {
    client
        .create_policy_version(request)
        .await
        .unwrap_err()
        .code()
        .unwrap()
}

async fn the_builtin_roles_are_version_one(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let active = admin.active_policies().await.unwrap();
    assert_eq!(active.version, 1);
    assert_eq!(active.text, BUILTIN_POLICIES);
    assert_eq!(active.author, "gatehouse");
    let ids: Vec<_> = active.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "builtin.administrator",
            "builtin.auditor",
            "builtin.user",
            "builtin.self_service",
            "builtin.service",
            "builtin.mint_within_role",
            "builtin.gateway_open_routes"
        ]
    );
    let history = admin.list_policy_versions(None, None).await.unwrap();
    assert_eq!(history.items.len(), 1);
    assert_eq!(history.items[0].sha256, active.sha256);
    let schema = admin.policy_schema().await.unwrap();
    assert!(schema.schema.contains("entity ApiToken"));
    // Gatehouse's own actions, and the two for calls through the gateway.
    assert_eq!(schema.actions.len(), Action::ALL.len() + 2);

    let matrix = admin.policy_matrix().await.unwrap();
    assert_eq!(
        matrix.roles,
        ["administrator", "auditor", "user", "service"]
    );
    let col = |name: &str| matrix.actions.iter().position(|a| a == name).unwrap();
    assert!(matrix.cells[0].iter().all(|c| c.is_allowed));
    assert!(matrix.cells[1][col("audit.search")].is_allowed);
    assert_eq!(
        matrix.cells[1][col("audit.search")].policies,
        ["builtin.auditor"]
    );
    assert!(!matrix.cells[1][col("api_tokens.create")].is_allowed);
    assert!(matrix.cells[2][col("users.read")].is_allowed);
    assert!(!matrix.cells[2][col("server.read")].is_allowed);
    assert!(matrix.cells[3][col("decisions.authorize")].is_allowed);
    assert!(!matrix.cells[3][col("audit.search")].is_allowed);

    let csv = server
        .raw()
        .get(server.url("/v1/policies/matrix?format=csv"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("action,administrator,auditor,user,service")
    );
    assert!(text
        .contains("audit.search,allow (builtin.administrator),allow (builtin.auditor),deny,deny"));
}

/// AZ-2: with a policy set that permits the administrator only to write policy
/// versions, every other private route refuses them; the one it permits refuses
/// an auditor, whom nothing permits it. So no route is reachable without a
/// permitting policy.
async fn no_route_is_reachable_without_a_permitting_policy(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let (auditor, _) = mint(&server, gatehouse_types::Role::Auditor, "auditor").await;
    let only = "@id(\"only-policy-writes\")\npermit (principal in Role::\"administrator\", action == Action::\"policies.versions.create\", resource);";
    admin.create_policy_version(&change(only, 1)).await.unwrap();
    let (_, table) = gatehouse_server::routes::build();
    let mut private = 0;
    for entry in table.entries() {
        let Access::Private(action) = entry.access else {
            assert!(crate::auth::PUBLIC_ROUTES
                .iter()
                .any(|(_, p)| *p == entry.path));
            continue;
        };
        private += 1;
        let path = entry
            .path
            .replace("{id}", &uuid::Uuid::new_v4().to_string())
            .replace("{n}", "1")
            .replace("{name}", "clinician")
            .replace("{user_type}", "clinician")
            .replace("{request_id}", "req-1");
        let method = reqwest::Method::from_bytes(entry.method.as_str().as_bytes()).unwrap();
        let who = if action == Action::CreatePolicyVersion {
            &auditor
        } else {
            &server.admin_token
        };
        let request = server
            .raw()
            .request(method, server.url(&path))
            .bearer_auth(who)
            .header("content-type", "application/json")
            .body("{}");
        let (status, request_id) = send(request).await;
        assert_eq!(status, 403, "{} {path}", entry.method);
        // Nobody may search the trail now: read the record from the store.
        let filter = gatehouse_store::AuditFilter {
            request_id: Some(request_id),
            ..Default::default()
        };
        let found = server.store.audit().search(&filter, 10).await.unwrap();
        assert_eq!(found.len(), 1, "{path}");
        let record = &found[0].record;
        assert_eq!(record.outcome, "denied");
        let details: Value = serde_json::from_str(record.details.as_deref().unwrap()).unwrap();
        let authz = &details["access_decision"];
        assert_eq!(authz["decision"], "deny", "{path}");
        assert_eq!(authz["policies"], json!([]), "default deny names no policy");
        assert_eq!(authz["policy_version"], 2);
    }
    assert_eq!(private, Action::ALL.len(), "every action has a route");
    let filters = BlockedFilters {
        reason: Some("authorization".into()),
        ..BlockedFilters::default()
    };
    // The administrator can no longer read the blocked log either.
    let refused = admin.list_blocked(&filters).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Forbidden));
}

async fn a_new_version_applies_to_the_next_request_and_is_audited(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let (auditor, _) = mint(&server, gatehouse_types::Role::Auditor, "auditor").await;
    let export = server.url("/v1/audit/export");
    assert_eq!(
        send(server.raw().get(&export).bearer_auth(&auditor))
            .await
            .0,
        200
    );

    let text = format!(
        "{BUILTIN_POLICIES}\n@id(\"no-auditor-exports\")\nforbid (principal in Role::\"auditor\", action == Action::\"audit.export\", resource);\n"
    );
    let v2 = admin
        .create_policy_version(&change(&text, 1))
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.policies.len(), 8);
    assert!(v2.author.starts_with("initial administrator ("));

    let (status, denied) = send(server.raw().get(&export).bearer_auth(&auditor)).await;
    assert_eq!(status, 403);
    let record = the_record_of(&server, &denied).await;
    let authz = &record.details.as_ref().unwrap()["access_decision"];
    assert_eq!(authz["policies"], json!(["no-auditor-exports"]));
    assert_eq!(authz["policy_version"], 2);
    let blocked = admin
        .list_blocked(&BlockedFilters {
            reason: Some("authorization".into()),
            ..BlockedFilters::default()
        })
        .await
        .unwrap();
    assert!(blocked.items.iter().any(|b| b.request_id == denied));
    // Searching is still allowed.
    assert_eq!(
        send(
            server
                .raw()
                .get(server.url("/v1/audit/events"))
                .bearer_auth(&auditor)
        )
        .await
        .0,
        200
    );

    // The change's record carries before and after, committed with it.
    let changes = server
        .client()
        .search_audit(&crate::audit::page(gatehouse_types::AuditQuery {
            action: Some("policies.versions.create".into()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .items;
    let change_record = changes.iter().find(|r| r.resource.id == "2").unwrap();
    assert_eq!(change_record.resource.kind, "policy_set");
    assert_eq!(change_record.before.as_ref().unwrap()["version"], 1);
    assert_eq!(
        change_record.before.as_ref().unwrap()["text"],
        BUILTIN_POLICIES
    );
    assert_eq!(change_record.after.as_ref().unwrap()["text"], text.as_str());
    assert_eq!(
        change_record.after.as_ref().unwrap()["reason"],
        "test change"
    );
    // The seed has its own record.
    assert!(changes
        .iter()
        .any(|r| r.resource.id == "1" && r.actor.kind == "operator"));
    assert!(admin.verify_audit().await.unwrap().is_intact);
}

async fn bad_policies_are_refused_and_change_nothing(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let cases = [
        ("@id(\"a\")\npermit (principal, action, resource) when { principal.name == };", "line 2"),
        (
            "@id(\"a\")\npermit (principal is ApiToken, action == Action::\"server.read\", resource)\nwhen { principal.nmae == \"x\" };",
            "line 3",
        ),
        ("@id(\"a\")\npermit (principal == Wizard::\"merlin\", action, resource);", "Wizard"),
        ("@id(\"a\")\npermit (principal, action == Action::\"audit.delete\", resource);", "audit.delete"),
        ("permit (principal, action, resource);", "@id"),
        ("@id(\"a\") permit (principal, action, resource);\n@id(\"a\") permit (principal, action, resource);", "unique"),
        ("@id(\"t\") permit (principal == ?principal, action, resource);", "template"),
    ];
    for (text, needle) in cases {
        let e = admin
            .create_policy_version(&change(text, 1))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::InvalidPolicy), "{text}");
        assert!(e.to_string().contains(needle), "{text}: {e}");
        let v = admin.validate_policies(text).await.unwrap();
        assert!(!v.is_valid);
        assert!(v.problems[0].line >= 1 && v.problems[0].column >= 1);
    }
    let located = admin.validate_policies(cases[1].0).await.unwrap();
    assert_eq!(located.problems[0].line, 3);
    assert_eq!(located.problems[0].policy_id.as_deref(), Some("a"));

    let mut no_reason = change(BUILTIN_POLICIES, 1);
    no_reason.reason = "  ".into();
    assert_eq!(code(&admin, &no_reason).await, ErrorCode::ValidationFailed);
    assert_eq!(
        code(&admin, &change(BUILTIN_POLICIES, 7)).await,
        ErrorCode::Conflict
    );
    // Nobody could change policies again: refused.
    let lockout = "@id(\"readers\") permit (principal in Role::\"auditor\", action in Action::\"read\", resource);";
    let e = admin
        .create_policy_version(&change(lockout, 1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::PolicyLockout));
    assert_eq!(code(&admin, &change("", 1)).await, ErrorCode::PolicyLockout);
    // A body over the limit never reaches the parser.
    let huge = format!(
        "@id(\"a\") permit (principal, action, resource) when {{ \"{}\" == \"\" }};",
        "x".repeat(2 * 1024 * 1024)
    );
    let response = server
        .raw()
        .post(server.url("/v1/policies/versions"))
        .bearer_auth(&server.admin_token)
        .json(&change(&huge, 1))
        .send()
        .await
        .unwrap();
    assert_error(response, 413, ErrorCode::PayloadTooLarge).await;
    // Bodies that are not the request.
    for body in [
        r#"{"text": 5, "reason": "x", "base_version": 1}"#,
        r#"{"text": "", "reason": "x"}"#,
        r#"{"text": "", "reason": "x", "base_version": -1}"#,
        r#"{"text": "", "reason": "x", "base_version": 1, "force": true}"#,
    ] {
        let response = server
            .raw()
            .post(server.url("/v1/policies/versions"))
            .bearer_auth(&server.admin_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(response, 422, ErrorCode::InvalidBody).await;
    }
    let active = admin.active_policies().await.unwrap();
    assert_eq!(active.version, 1, "nothing changed the active set");
    assert_eq!(
        admin
            .list_policy_versions(None, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn diff_and_rollback(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let v2_text = BUILTIN_POLICIES.replace("@id(\"builtin.service\")", "@id(\"services\")");
    admin
        .create_policy_version(&change(&v2_text, 1))
        .await
        .unwrap();
    let d = admin.diff_policies(1, 2).await.unwrap();
    assert_eq!(d.added, ["services"]);
    assert_eq!(d.removed, ["builtin.service"]);
    assert!(d.changed.is_empty());
    let deleted: Vec<_> = d.lines.iter().filter(|l| l.op == "delete").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].text, "@id(\"builtin.service\")");

    let rolled = admin
        .rollback_policies(&RollbackPoliciesRequest {
            to_version: 1,
            reason: "undo the rename".into(),
            base_version: 2,
        })
        .await
        .unwrap();
    assert_eq!(rolled.version, 3);
    assert_eq!(rolled.rolled_back_from, Some(1));
    assert_eq!(rolled.text, BUILTIN_POLICIES);
    assert_eq!(admin.active_policies().await.unwrap().version, 3);
    let same = admin.diff_policies(1, 3).await.unwrap();
    assert!(same.lines.iter().all(|l| l.op == "equal"));
    assert!(same.added.is_empty() && same.removed.is_empty() && same.changed.is_empty());
    let v2 = admin.policy_version(2).await.unwrap();
    assert_eq!(v2.text, v2_text);
    let page = admin.list_policy_versions(Some(2), None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        [3, 2]
    );
    let rest = admin
        .list_policy_versions(Some(2), page.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1]
    );

    assert_eq!(
        admin.policy_version(9).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    let stale = RollbackPoliciesRequest {
        to_version: 1,
        reason: "again".into(),
        base_version: 2,
    };
    assert_eq!(
        admin.rollback_policies(&stale).await.unwrap_err().code(),
        Some(ErrorCode::Conflict)
    );
    let missing = RollbackPoliciesRequest {
        to_version: 42,
        reason: "x".into(),
        base_version: 3,
    };
    assert_eq!(
        admin.rollback_policies(&missing).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    for path in [
        "/v1/policies/versions/0",
        "/v1/policies/versions/abc",
        "/v1/policies/versions/-1",
        "/v1/policies/diff?from=0",
        "/v1/policies/diff",
        "/v1/policies/diff?from=1&to=x",
        "/v1/policies/diff?from=1&colour=red",
        "/v1/policies/versions?limit=0",
        "/v1/policies/versions?cursor=x",
        "/v1/policies/matrix?format=xml",
    ] {
        let response = server
            .raw()
            .get(server.url(path))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_error(response, 400, ErrorCode::InvalidParameter).await;
    }
}

/// Two administrators change the set from the same version at once: one wins,
/// the other is told, and nothing is overwritten.
async fn concurrent_changes_conflict(db: Db) {
    let server = TestServer::start(db).await;
    let a = server.client();
    let b = server.client();
    let one = BUILTIN_POLICIES.replace("builtin.user", "users");
    let two = BUILTIN_POLICIES.replace("builtin.user", "people");
    let (ca, cb) = (change(&one, 1), change(&two, 1));
    let (ra, rb) = tokio::join!(a.create_policy_version(&ca), b.create_policy_version(&cb));
    let codes = [
        ra.as_ref().err().and_then(|e| e.code()),
        rb.as_ref().err().and_then(|e| e.code()),
    ];
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 1, "{codes:?}");
    assert!(codes.contains(&Some(ErrorCode::Conflict)));
    let winner = ra.or(rb).unwrap();
    let active = a.active_policies().await.unwrap();
    assert_eq!(active.version, 2);
    assert_eq!(active.text, winner.text);
}

/// A version written by another replica (here straight into the store) is
/// picked up without a restart.
async fn versions_from_other_replicas_are_picked_up(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let text = format!("{BUILTIN_POLICIES}\n@id(\"extra\") permit (principal in Role::\"user\", action == Action::\"server.read\", resource);");
    let row = gatehouse_store::PolicyVersionRow {
        version: 0,
        sha256: gatehouse_server::authz::sha256(&text),
        text,
        author: "another replica".into(),
        reason: "test".into(),
        created_at_us: 0,
        rolled_back_from: None,
    };
    let sealer = gatehouse_server::audit::load_or_create_sealer(&server.config).unwrap();
    let audit = |_: Option<&gatehouse_store::PolicyVersionRow>,
                 r: &gatehouse_store::PolicyVersionRow| {
        gatehouse_audit::Record {
            action: "policies.versions.create".into(),
            resource_id: r.version.to_string(),
            ..gatehouse_audit::Record::default()
        }
    };
    server
        .store
        .policies()
        .create(&row, 1, &audit, &sealer)
        .await
        .unwrap();
    let user = server.mint(gatehouse_types::Role::User).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let status = send(
            server
                .raw()
                .get(server.url("/v1/server"))
                .bearer_auth(&user),
        )
        .await
        .0;
        if status == 200 {
            break;
        }
        assert_eq!(status, 403);
        assert!(
            std::time::Instant::now() < deadline,
            "version 2 never took effect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(admin.active_policies().await.unwrap().version, 2);
}

on_both_databases!(
    the_builtin_roles_are_version_one,
    no_route_is_reachable_without_a_permitting_policy,
    a_new_version_applies_to_the_next_request_and_is_audited,
    bad_policies_are_refused_and_change_nothing,
    diff_and_rollback,
    concurrent_changes_conflict,
    versions_from_other_replicas_are_picked_up
);
