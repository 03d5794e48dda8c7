//! What a call acts on is what is authorized (AZ-12): the item a path names, in
//! its canonical form and with its stored attributes; a policy that errors
//! denies; a mint asks for its role, and no caller mints above its own.

use gatehouse_authz::BUILTIN_POLICIES;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{ErrorCode, Role};
use serde_json::json;

use super::change;
use crate::assert_error;
use crate::audit::{mint, send, the_record_of};

/// Services may revoke tokens, but not administrators' (a forbid on the
/// resource's attribute).
const SERVICE_REVOKES: &str = r#"
@id("service-revokes")
permit (principal in Role::"service", action == Action::"api_tokens.revoke", resource);
@id("spare-admins")
forbid (principal, action == Action::"api_tokens.revoke", resource)
when { resource.role == "administrator" };
"#;

async fn install(server: &TestServer, extra: &str) {
    let text = format!("{BUILTIN_POLICIES}\n{extra}");
    let active = server.client().active_policies().await.unwrap().version;
    server
        .client()
        .create_policy_version(&change(&text, active))
        .await
        .unwrap();
}

// proves: AZ-12
async fn a_forbid_on_the_resource_stops_revoking_an_administrator(db: Db) {
    let server = TestServer::start(db).await;
    install(&server, SERVICE_REVOKES).await;
    let (service, _) = mint(&server, Role::Service, "ops").await;
    let (_, admin2) = mint(&server, Role::Administrator, "second admin").await;
    let (_, other) = mint(&server, Role::Auditor, "someone").await;

    let revoke = |id: String| {
        server
            .raw()
            .delete(server.url(&format!("/v1/api-tokens/{id}")))
            .bearer_auth(&service)
    };
    let (status, denied) = send(revoke(admin2.0.to_string())).await;
    assert_eq!(status, 403, "the forbid on resource.role holds");
    let record = the_record_of(&server, &denied).await;
    let decision = &record.details.as_ref().unwrap()["access_decision"];
    assert_eq!(decision["policies"], json!(["spare-admins"]));
    assert_eq!(
        decision["errors"],
        json!([]),
        "the attributes were supplied, nothing errored"
    );
    let tokens = server.client().list_api_tokens().await.unwrap();
    let a2 = tokens.iter().find(|t| t.id == admin2).unwrap();
    assert!(a2.revoked_at.is_none(), "nothing was revoked");

    // The same service revokes a token that is not an administrator's.
    assert_eq!(send(revoke(other.0.to_string())).await.0, 200);

    // A token that does not exist has no attributes: the forbid errors, and an
    // error denies (Cedar alone would skip it and let the permit allow).
    let (status, missing) = send(revoke(uuid::Uuid::now_v7().to_string())).await;
    assert_eq!(status, 403);
    let record = the_record_of(&server, &missing).await;
    let decision = &record.details.as_ref().unwrap()["access_decision"];
    assert_eq!(decision["denied_by"], "evaluation_error");
    assert!(!decision["errors"].as_array().unwrap().is_empty());
    // The forbid applies to administrators too, so it errors for them as well:
    // refused, not a 404 that the permit alone would have led to.
    let (status, rid) = send(
        server
            .raw()
            .delete(server.url(&format!("/v1/api-tokens/{}", uuid::Uuid::now_v7())))
            .bearer_auth(&server.admin_token),
    )
    .await;
    assert_eq!(status, 403);
    let record = the_record_of(&server, &rid).await;
    let decision = &record.details.as_ref().unwrap()["access_decision"];
    assert_eq!(decision["denied_by"], "evaluation_error");
    assert_eq!(decision["policies"], json!(["builtin.administrator"]));
}

// proves: AZ-12
async fn a_forbid_on_one_id_holds_for_every_spelling(db: Db) {
    let server = TestServer::start(db).await;
    let (_, target) = mint(&server, Role::Auditor, "protected").await;
    let id = target.0;
    install(
        &server,
        &format!(
            "@id(\"keep-{id}\")\nforbid (principal, action == Action::\"api_tokens.revoke\", resource == ApiToken::\"{id}\");"
        ),
    )
    .await;
    let simple = id.simple().to_string();
    let spellings = [
        id.to_string(),
        id.to_string().to_uppercase(),
        format!("%7B{id}%7D"),
        format!("{{{id}}}"),
        format!("urn:uuid:{id}"),
        simple.clone(),
        simple.to_uppercase(),
    ];
    for spelling in spellings {
        let response = server
            .raw()
            .delete(server.url(&format!("/v1/api-tokens/{spelling}")))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, ErrorCode::Forbidden).await;
    }
    let tokens = server.client().list_api_tokens().await.unwrap();
    assert!(tokens
        .iter()
        .any(|t| t.id == target && t.revoked_at.is_none()));
    // A spelling no parser accepts is a bad parameter, not a way around.
    let response = server
        .raw()
        .delete(server.url("/v1/api-tokens/not-a-token"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_error(response, 400, ErrorCode::InvalidParameter).await;

    // Policy versions: `007` is version 7's spelling, and a forbid on version 1
    // holds for `01` and `+1`.
    install(
        &server,
        &format!(
            "@id(\"keep-{id}\")\nforbid (principal, action == Action::\"api_tokens.revoke\", resource == ApiToken::\"{id}\");\n@id(\"hide-v1\")\nforbid (principal, action == Action::\"policies.versions.read\", resource == PolicyVersion::\"1\");"
        ),
    )
    .await;
    for spelling in ["1", "01", "001", "+1"] {
        let response = server
            .raw()
            .get(server.url(&format!("/v1/policies/versions/{spelling}")))
            .bearer_auth(&server.admin_token)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, ErrorCode::Forbidden).await;
    }
    let v2 = server
        .raw()
        .get(server.url("/v1/policies/versions/002"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), 200);
    let v2: serde_json::Value = v2.json().await.unwrap();
    assert_eq!(v2["version"], 2);
}

// proves: AZ-12
async fn a_role_allowed_to_mint_cannot_mint_above_itself(db: Db) {
    let server = TestServer::start(db).await;
    install(
        &server,
        "@id(\"service-mints\")\npermit (principal in Role::\"service\", action == Action::\"api_tokens.create\", resource);",
    )
    .await;
    let (service, _) = mint(&server, Role::Service, "minter").await;
    let ask = |role: &str| {
        server
            .raw()
            .post(server.url("/v1/api-tokens"))
            .bearer_auth(&service)
            .json(&json!({"name": "minted", "role": role}))
    };
    for role in ["administrator", "auditor", "user"] {
        let response = ask(role).send().await.unwrap();
        let error = assert_error(response, 403, ErrorCode::Forbidden).await;
        let record = the_record_of(&server, &error.request_id).await;
        let decision = &record.details.as_ref().unwrap()["access_decision"];
        assert_eq!(decision["policies"], json!(["builtin.mint_within_role"]));
    }
    // Its own role it may mint.
    let response = ask("service").send().await.unwrap();
    assert_eq!(response.status(), 201);
    // A body that names no role, or that is not JSON, asks for none: refused
    // for this caller before the handler sees it, and nothing is minted.
    for body in ["{\"name\":\"x\"}", "not json", "{\"role\": 7}"] {
        let response = server
            .raw()
            .post(server.url("/v1/api-tokens"))
            .bearer_auth(&service)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(response, 403, ErrorCode::Forbidden).await;
    }
    let minted = server.client().list_api_tokens().await.unwrap();
    assert_eq!(minted.iter().filter(|t| t.name == "minted").count(), 1);
    // An administrator mints any role; a malformed body is still the handler's 400.
    assert_eq!(
        send(
            server
                .raw()
                .post(server.url("/v1/api-tokens"))
                .bearer_auth(&server.admin_token)
                .json(&json!({"name": "by admin", "role": "auditor"}))
        )
        .await
        .0,
        201
    );
    let response = server
        .raw()
        .post(server.url("/v1/api-tokens"))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_error(response, 400, ErrorCode::MalformedJson).await;
}

on_both_databases!(
    a_forbid_on_the_resource_stops_revoking_an_administrator,
    a_forbid_on_one_id_holds_for_every_spelling,
    a_role_allowed_to_mint_cannot_mint_above_itself
);
