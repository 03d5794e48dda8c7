//! `/v1/clients` (ID-10): registered by administrators only, validated, every
//! change recorded with before and after, the secret shown once and stored
//! nowhere in clear, rotated with a grace period, disabling revokes.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{ErrorCode, Role};
use serde_json::{json, Value};

use super::{access_token, basic, call, record_of, register, token_response, TestClient};
use crate::assert_error;

async fn post(server: &TestServer, token: &str, body: Value) -> reqwest::Response {
    server
        .raw()
        .post(server.url("/v1/clients"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

// proves: ID-10, AU-3
async fn clients_are_registered_changed_and_disabled_on_the_record(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "auditor", &["audit:read"]).await;
    assert!(client.secret.starts_with("ghs_") && client.secret.len() == 4 + 43);
    // Listed without any secret.
    let list = server
        .raw()
        .get(server.url("/v1/clients"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&client.id) && !list.contains(&client.secret));
    let path = server.url(&format!("/v1/clients/{}", client.id));
    // An update: recorded with before and after.
    let patched = server
        .raw()
        .patch(&path)
        .bearer_auth(&server.admin_token)
        .json(&json!({"name": "reporting", "scopes": ["audit:read", "blocked:read"]}))
        .send()
        .await
        .unwrap();
    let record = record_of(&server, &patched).await;
    assert_eq!(patched.status(), 200);
    assert_eq!(record["before"]["name"], "auditor client");
    assert_eq!(record["after"]["name"], "reporting");
    assert_eq!(
        record["after"]["scopes"],
        json!(["audit:read", "blocked:read"])
    );
    // The same path, spelt in upper case, is the same client.
    let upper = server
        .raw()
        .get(server.url(&format!("/v1/clients/{}", client.id.to_uppercase())))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(upper.status(), 200);
    // Rotating the secret: the old one keeps working for the grace period.
    let rotated = server
        .raw()
        .post(format!("{path}/secret"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    let record = record_of(&server, &rotated).await;
    let rotated: Value = rotated.json().await.unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, client.secret);
    assert!(!record.to_string().contains(&new_secret));
    let new = TestClient {
        id: client.id.clone(),
        secret: new_secret.clone(),
    };
    assert_eq!(token_response(&server, &new, &[]).await.status(), 200);
    assert_eq!(token_response(&server, &client, &[]).await.status(), 200);
    server.clock.advance(chrono::Duration::seconds(86_400));
    assert_eq!(token_response(&server, &client, &[]).await.status(), 401);
    assert_eq!(token_response(&server, &new, &[]).await.status(), 200);
    // Disabling: its tokens stop at once, and it gets no more.
    let token = access_token(&server, &new).await;
    assert_eq!(call(&server, &token).await.status(), 200);
    let disabled = server
        .raw()
        .delete(&path)
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    let disabled: Value = disabled.json().await.unwrap();
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(call(&server, &token).await.status(), 401);
    assert_eq!(token_response(&server, &new, &[]).await.status(), 401);
    // Enabled again in the same second: the old token stays refused, a new one
    // works at once.
    let enabled = server
        .raw()
        .patch(&path)
        .bearer_auth(&server.admin_token)
        .json(&json!({"status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), 200);
    let again = access_token(&server, &new).await;
    assert_eq!(call(&server, &again).await.status(), 200);
    assert_eq!(call(&server, &token).await.status(), 401);
    // No secret ever reached the database in clear.
    let dump = format!("{:?}", server.store.clients().list().await.unwrap());
    let trail = super::recent_records(&server, "resource_type=client").await;
    for secret in [&client.secret, &new_secret] {
        assert!(!dump.contains(secret.as_str()));
        assert!(!Value::Array(trail.clone())
            .to_string()
            .contains(secret.as_str()));
    }
}

// proves: ID-10, AZ-12
async fn bad_registrations_are_refused_and_only_administrators_grant_roles(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.admin_token.clone();
    let base = json!({"name": "svc", "role": "service", "grant_types": ["client_credentials"], "scopes": ["audit:write"]});
    let with = |changes: Value| {
        let mut b = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases = [
        (
            "unknown scope",
            with(json!({"scopes": ["everything"]})),
            ErrorCode::ValidationFailed,
        ),
        (
            "no scope",
            with(json!({"scopes": []})),
            ErrorCode::ValidationFailed,
        ),
        (
            "no grant",
            with(json!({"grant_types": []})),
            ErrorCode::ValidationFailed,
        ),
        (
            "public with client_credentials",
            with(json!({"is_confidential": false})),
            ErrorCode::ValidationFailed,
        ),
        (
            "code without redirect",
            with(json!({"grant_types": ["authorization_code"]})),
            ErrorCode::ValidationFailed,
        ),
        (
            "http redirect",
            with(
                json!({"grant_types": ["authorization_code"], "redirect_uris": ["http://app.example/cb"]}),
            ),
            ErrorCode::ValidationFailed,
        ),
        (
            "localhost redirect",
            with(
                json!({"grant_types": ["authorization_code"], "redirect_uris": ["http://localhost/cb"]}),
            ),
            ErrorCode::ValidationFailed,
        ),
        (
            "redirect with fragment",
            with(
                json!({"grant_types": ["authorization_code"], "redirect_uris": ["https://app.example/cb#x"]}),
            ),
            ErrorCode::ValidationFailed,
        ),
        (
            "empty name",
            with(json!({"name": " "})),
            ErrorCode::ValidationFailed,
        ),
        (
            "control character",
            with(json!({"name": "a\u{7}b"})),
            ErrorCode::ValidationFailed,
        ),
        (
            "the implicit grant",
            with(json!({"grant_types": ["implicit"]})),
            ErrorCode::InvalidBody,
        ),
        (
            "a made-up role",
            with(json!({"role": "root"})),
            ErrorCode::InvalidBody,
        ),
        (
            "an unknown field",
            with(json!({"client_secret": "mine"})),
            ErrorCode::InvalidBody,
        ),
    ];
    for (name, body, code) in cases {
        let response = post(&server, &admin, body).await;
        let error = assert_error(response, code.status(), code).await;
        assert!(!error.message.is_empty(), "{name}");
    }
    // Loopback on any port and https are fine for native and web apps.
    let ok = with(
        json!({"grant_types": ["client_credentials", "authorization_code"],
        "redirect_uris": ["http://127.0.0.1/cb", "http://[::1]:51234/cb", "https://app.example/cb"]}),
    );
    assert_eq!(post(&server, &admin, ok).await.status(), 201);
    // A service allowed to register clients still cannot register another role.
    let policy = format!(
        "{}\n@id(\"svc_clients\")\npermit (principal in Role::\"service\", action == Action::\"clients.create\", resource);",
        gatehouse_authz::BUILTIN_POLICIES
    );
    server
        .client()
        .create_policy_version(&gatehouse_types::CreatePolicyVersionRequest {
            text: policy,
            base_version: 1,
            reason: "services register their own clients".into(),
        })
        .await
        .unwrap();
    let service = server.mint(Role::Service).await;
    assert_eq!(post(&server, &service, base.clone()).await.status(), 201);
    let escalate = post(&server, &service, with(json!({"role": "administrator"}))).await;
    assert_error(escalate, 403, ErrorCode::Forbidden).await;
    // Auditors read clients and change none.
    let auditor = server.mint(Role::Auditor).await;
    assert_eq!(
        server
            .raw()
            .get(server.url("/v1/clients"))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_error(
        post(&server, &auditor, base).await,
        403,
        ErrorCode::Forbidden,
    )
    .await;
    let _ = basic;
}

// proves: ID-10, TK-2
async fn the_typed_client_manages_clients_and_keys(db: Db) {
    use gatehouse_types::{
        ClientStatus, CreateClientRequest, GrantType, SigningKeyState, UpdateClientRequest,
    };
    let server = TestServer::start(db).await;
    let admin = server.client();
    let created = admin
        .create_client(&CreateClientRequest {
            name: "billing".into(),
            role: Role::Service,
            is_confidential: true,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: vec!["audit:write".into()],
            redirect_uris: vec![],
        })
        .await
        .unwrap();
    let id = created.client.client_id.clone();
    assert!(created.client_secret.is_some());
    // The console's own client, registered by the server at its start, and this one.
    let listed = admin.list_clients().await.unwrap();
    assert_eq!(listed.len(), 2);
    let console = listed
        .iter()
        .find(|c| c.client_id == "gatehouse-console")
        .unwrap();
    assert!(!console.is_confidential);
    assert_eq!(
        console.redirect_uris,
        vec!["http://127.0.0.1/callback".to_owned()]
    );
    assert_eq!(admin.client(&id).await.unwrap().name, "billing");
    let renamed = admin
        .update_client(
            &id,
            &UpdateClientRequest {
                name: Some("billing v2".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "billing v2");
    let rotated = admin.rotate_client_secret(&id).await.unwrap();
    assert_ne!(rotated.client_secret, created.client_secret);
    assert!(rotated.client.previous_secret_valid_until.is_some());
    assert_eq!(
        admin.disable_client(&id).await.unwrap().status,
        ClientStatus::Disabled
    );
    let missing = admin
        .client(&uuid::Uuid::new_v4().to_string())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(ErrorCode::NotFound));
    let keys = admin.list_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    let after = admin.rotate_keys().await.unwrap();
    assert_eq!(after.len(), 3);
    assert_eq!(
        after
            .iter()
            .filter(|k| k.state == SigningKeyState::Previous)
            .count(),
        1
    );
}

on_both_databases!(
    the_typed_client_manages_clients_and_keys,
    clients_are_registered_changed_and_disabled_on_the_record,
    bad_registrations_are_refused_and_only_administrators_grant_roles,
);
