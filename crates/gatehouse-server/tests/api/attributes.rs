//! Users' typed attributes in the policies (ID-3, AZ-2): the schema carries
//! the attributes the user types declare, so a policy can say
//! `principal.type == "clinician" && principal.attributes.department ==
//! resource.attributes.department`; it is checked against what the types
//! declare when saved, decides people's calls, and a type change that would
//! break the active policies is refused.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;
use serde_json::{json, Value};

use crate::assert_error;

const PASSWORD: &str = "correct horse battery staple 42";

async fn send(
    server: &TestServer,
    token: Option<&str>,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = server.raw().request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn clinician(departments: bool) -> Value {
    let attributes = if departments {
        json!([{"name": "department", "kind": "string", "is_required": true}])
    } else {
        json!([])
    };
    json!({"name": "clinician", "sign_in": ["password"], "second_factor": "optional",
           "attributes": attributes})
}

const SAME_DEPARTMENT: &str = r#"
@id("same_department")
@description("clinicians read the people of their own department")
permit (principal is User, action == Action::"users.read", resource is User)
when {
  principal.type == "clinician" &&
  principal.attributes has department && resource.attributes has department &&
  principal.attributes.department == resource.attributes.department
};
"#;

// proves: ID-3, AZ-2
async fn a_policy_reads_the_attributes_the_types_declare(db: Db) {
    let server = TestServer::start_with(db, |c| c.anonymous.requests_per_window = 0).await;
    let admin = Some(server.admin_token.as_str());
    let text = format!("{}\n{SAME_DEPARTMENT}", gatehouse_authz::BUILTIN_POLICIES);
    // Before any type declares `department`, the policy could never apply,
    // and validation says so.
    let early: Value = send(
        &server,
        admin,
        reqwest::Method::POST,
        "/v1/policies/validate",
        Some(json!({"text": text})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(early["is_valid"], true);
    assert_eq!(
        early["warnings"][0]["policy_id"], "same_department",
        "{early}"
    );
    let put = send(
        &server,
        admin,
        reqwest::Method::PUT,
        "/v1/user-types/clinician",
        Some(clinician(true)),
    )
    .await;
    assert_eq!(put.status(), 200);
    let validated: Value = send(
        &server,
        admin,
        reqwest::Method::POST,
        "/v1/policies/validate",
        Some(json!({"text": text})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        validated["warnings"],
        json!([]),
        "declared now: {validated}"
    );
    let schema: Value = send(
        &server,
        admin,
        reqwest::Method::GET,
        "/v1/policies/schema",
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(schema["schema"]
        .as_str()
        .unwrap()
        .contains("\"department\"?: String"));
    let saved = send(
        &server,
        admin,
        reqwest::Method::POST,
        "/v1/policies/versions",
        Some(json!({"text": text, "reason": "departments", "base_version": 1})),
    )
    .await;
    assert_eq!(saved.status(), 201, "{}", saved.text().await.unwrap());

    let mut ids = Vec::new();
    for (name, email, department) in [
        ("Ann", "ann@example.com", "cardio"),
        ("Bob", "bob@example.com", "cardio"),
        ("Cy", "cy@example.com", "neuro"),
    ] {
        let created: Value = send(&server, admin, reqwest::Method::POST, "/v1/users",
            Some(json!({"user_type": "clinician", "display_name": name, "email": email, "attributes": {"department": department}}))).await.json().await.unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let set = send(
        &server,
        admin,
        reqwest::Method::POST,
        &format!("/v1/users/{}/password", ids[0]),
        Some(json!({"password": PASSWORD})),
    )
    .await;
    assert_eq!(set.status(), 204);
    let signed: Value = send(
        &server,
        None,
        reqwest::Method::POST,
        "/v1/auth/password",
        Some(json!({"email": "ann@example.com", "password": PASSWORD})),
    )
    .await
    .json()
    .await
    .unwrap();
    let ann = signed["access_token"].as_str().unwrap().to_owned();
    let same = send(
        &server,
        Some(&ann),
        reqwest::Method::GET,
        &format!("/v1/users/{}", ids[1]),
        None,
    )
    .await;
    assert_eq!(same.status(), 200, "same department");
    let other = send(
        &server,
        Some(&ann),
        reqwest::Method::GET,
        &format!("/v1/users/{}", ids[2]),
        None,
    )
    .await;
    assert_error(other, 403, ErrorCode::Forbidden).await;

    // Dropping `department` from the type would make an active policy one
    // that can never apply.
    let drop = send(
        &server,
        admin,
        reqwest::Method::PUT,
        "/v1/user-types/clinician",
        Some(clinician(false)),
    )
    .await;
    assert_error(drop, 409, ErrorCode::Conflict).await;
    // One name, one kind across types.
    let clash = json!({"name": "patient", "sign_in": ["password"], "second_factor": "optional",
        "attributes": [{"name": "department", "kind": "long"}]});
    let clash = send(
        &server,
        admin,
        reqwest::Method::PUT,
        "/v1/user-types/patient",
        Some(clash),
    )
    .await;
    assert_error(clash, 422, ErrorCode::ValidationFailed).await;

    // The decision API takes users with their attributes, checked by kind.
    let person = |id: &str, department: Value| {
        json!({"type": "User", "id": id, "attributes": {
        "name": id, "type": "clinician", "user_type": "clinician", "status": "active",
        "attributes": {"department": department}, "entitlements": [], "is_locked": false, "has_mfa": false}})
    };
    let simulate = |p: Value, r: Value| json!({"request": {"principal": p, "action": "users.read", "resource": r, "context": {"source_ip": "10.0.0.1", "time": 1_790_000_000_i64}}});
    let allowed: Value = send(
        &server,
        admin,
        reqwest::Method::POST,
        "/v1/policies/simulate",
        Some(simulate(
            person("a", json!("cardio")),
            person("b", json!("cardio")),
        )),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(allowed["result"]["is_allowed"], true, "{allowed}");
    let wrong_kind = send(
        &server,
        admin,
        reqwest::Method::POST,
        "/v1/policies/simulate",
        Some(simulate(
            person("a", json!(7)),
            person("b", json!("cardio")),
        )),
    )
    .await;
    assert_eq!(wrong_kind.status(), 422);
}

on_both_databases!(a_policy_reads_the_attributes_the_types_declare);

/// Version 1 as earlier releases wrote it: `builtin.user` let a person
/// `users.update` themselves (type, entitlements, status).
fn old_builtin() -> String {
    let builtin = gatehouse_authz::BUILTIN_POLICIES;
    let start = builtin.find("@id(\"builtin.user\")").unwrap();
    let end = builtin.find("@id(\"builtin.service\")").unwrap();
    format!(
        "{}{}\n\n{}",
        &builtin[..start],
        r#"@id("builtin.user")
@description("users read and update their own profile and nothing else")
permit (
  principal in Role::"user",
  action in [Action::"users.read", Action::"users.update"],
  resource
)
when { resource == principal };"#,
        &builtin[end..]
    )
}

// proves: AZ-8, ID-3 (a database written by an earlier release loses the
// self-update grant at the next start, recorded)
async fn the_old_self_update_grant_is_replaced_at_start(db: Db) {
    let server = TestServer::start(db).await;
    let admin = Some(server.admin_token.as_str());
    let saved = send(&server, admin, reqwest::Method::POST, "/v1/policies/versions",
        Some(json!({"text": old_builtin(), "reason": "as an earlier release wrote it", "base_version": 1}))).await;
    assert_eq!(saved.status(), 201, "{}", saved.text().await.unwrap());
    let replica = server.replica().await;
    let active: Value = send(&replica, admin, reqwest::Method::GET, "/v1/policies", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["version"], 3);
    assert_eq!(active["author"], "gatehouse");
    let text = active["text"].as_str().unwrap();
    assert!(!text.contains("Action::\"users.update\"], "), "{text}");
    assert!(text.contains("builtin.self_service"));
    // Any other text is the administrators' and stays as it is.
    let again = server.replica().await;
    let active: Value = send(&again, admin, reqwest::Method::GET, "/v1/policies", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["version"], 3);
}

on_both_databases!(the_old_self_update_grant_is_replaced_at_start);
