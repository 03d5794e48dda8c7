//! Authentication (401) and authorization (403): deny by default.

use chrono::Duration;
use gatehouse_server::authz::Action;
use gatehouse_server::routes::Access;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{ErrorCode, Role};

use crate::assert_error;

/// The routes that need no bearer credential, and nothing else.
pub const PUBLIC_ROUTES: [(&str, &str); 19] = [
    ("GET", "/healthz"),
    ("POST", "/v1/auth/password"),
    ("POST", "/v1/auth/refresh"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/auth/otp/start"),
    ("POST", "/v1/auth/otp/verify"),
    ("POST", "/v1/auth/mfa"),
    ("POST", "/v1/auth/directory"),
    ("POST", "/v1/signup"),
    ("POST", "/v1/signup/{id}/verify"),
    ("POST", "/v1/messaging/sms-status"),
    ("GET", "/oauth2/authorize"),
    ("POST", "/oauth2/authorize"),
    ("POST", "/oauth2/token"),
    ("POST", "/oauth2/revoke"),
    ("POST", "/oauth2/introspect"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/jwks.json"),
];

/// Every private route in the live route table, with a concrete path.
fn private_routes(server: &TestServer) -> Vec<(reqwest::Method, String, Action)> {
    let (_, table) = gatehouse_server::routes::build();
    let _ = server;
    table
        .entries()
        .iter()
        .filter_map(|e| match e.access {
            Access::Private(action) => Some((
                reqwest::Method::from_bytes(e.method.as_str().as_bytes()).unwrap(),
                e.path
                    .replace("{id}", &uuid::Uuid::new_v4().to_string())
                    .replace("{n}", "1")
                    .replace("{name}", "clinician")
                    .replace("{user_type}", "clinician")
                    .replace("{request_id}", "req-1"),
                action,
            )),
            Access::Public(_) => None,
        })
        .collect()
}

async fn every_route_is_public_by_name_or_refused_without_a_token(db: Db) {
    let server = TestServer::start(db).await;
    let (_, table) = gatehouse_server::routes::build();
    let public: Vec<_> = table
        .entries()
        .iter()
        .filter(|e| matches!(e.access, Access::Public(_)))
        .map(|e| (e.method.to_string(), e.path))
        .collect();
    // DESIGN.md's short list (health, the OAuth endpoints, which authenticate
    // clients themselves, discovery and the public keys); nothing else.
    assert_eq!(
        public,
        PUBLIC_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), *p))
            .collect::<Vec<_>>()
    );
    let routes = private_routes(&server);
    // Every action has a route.
    assert_eq!(routes.len(), Action::ALL.len(), "every action has a route");
    for (method, path, _) in routes {
        let response = server
            .raw()
            .request(method.clone(), server.url(&path))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let www = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_error(response, 401, ErrorCode::Unauthenticated).await;
        assert_eq!(
            www.as_deref(),
            Some("Bearer realm=\"gatehouse\""),
            "{method} {path}"
        );
    }
}

async fn every_bad_token_gets_the_same_answer(db: Db) {
    let server = TestServer::start(db).await;
    let revoked = server.mint(Role::Administrator).await;
    let revoked_id = server
        .client()
        .with_token(&revoked)
        .server_info()
        .await
        .unwrap()
        .identity
        .token_id
        .unwrap();
    server.client().revoke_api_token(revoked_id).await.unwrap();
    let good = server.admin_token.clone();
    let unknown = format!("gh_{}", "A".repeat(43));
    let header_values: Vec<String> = vec![
        format!("Bearer {unknown}"),
        format!("Bearer {revoked}"),
        "Bearer".into(),
        "Bearer ".into(),
        "Bearer gh_short".into(),
        format!("Bearer {good}x"),
        format!("Bearer {}", &good[..good.len() - 1]),
        format!("Basic {good}"),
        format!("Token {good}"),
        good.clone(),
        format!("Bearer {}", good.to_uppercase()),
        format!("Bearer {}", "x".repeat(10_000)),
        "Bearer ' OR '1'='1".into(),
        format!("Bearer {good} {good}"),
    ];
    let mut bodies = Vec::new();
    for value in header_values {
        let response = server
            .raw()
            .get(server.url("/v1/server"))
            .header("authorization", value.clone())
            .send()
            .await
            .unwrap();
        let www = response
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(www.contains("invalid_token"), "{value}: {www}");
        let e = assert_error(response, 401, ErrorCode::InvalidToken).await;
        bodies.push(e.message);
    }
    // Non-UTF-8 header bytes, and two Authorization headers.
    let raw_value = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let response = server
        .raw()
        .get(server.url("/v1/server"))
        .header("authorization", raw_value)
        .send()
        .await
        .unwrap();
    bodies.push(
        assert_error(response, 401, ErrorCode::InvalidToken)
            .await
            .message,
    );
    let response = server
        .raw()
        .get(server.url("/v1/server"))
        .header("authorization", format!("Bearer {good}"))
        .header("authorization", format!("Bearer {unknown}"))
        .send()
        .await
        .unwrap();
    bodies.push(
        assert_error(response, 401, ErrorCode::InvalidToken)
            .await
            .message,
    );
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "one uniform message: {bodies:?}");
    // The good token still works after all of that.
    assert!(server.client().server_info().await.is_ok());
}

async fn expired_tokens_stop_working_at_their_expiry(db: Db) {
    let server = TestServer::start(db).await;
    let request = gatehouse_types::CreateApiTokenRequest {
        name: "short".into(),
        role: Role::Auditor,
        expires_in_seconds: Some(120),
    };
    let created = server.client().create_api_token(&request).await.unwrap();
    let auditor = server.client().with_token(&created.secret);
    assert!(auditor.server_info().await.is_ok());
    server.clock.advance(Duration::seconds(119));
    assert!(auditor.server_info().await.is_ok());
    server.clock.advance(Duration::seconds(1));
    let e = auditor.server_info().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidToken));
}

async fn roles_are_enforced_on_every_action(db: Db) {
    let server = TestServer::start(db).await;
    for role in Role::ALL {
        let token = server.mint(role).await;
        for (method, path, action) in private_routes(&server) {
            let body = serde_json::json!({"name": "x", "role": "auditor"}).to_string();
            let response = server
                .raw()
                .request(method.clone(), server.url(&path))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let is_allowed = match role {
                Role::Administrator => true,
                Role::Auditor => action.is_read_only(),
                Role::Service => {
                    matches!(action, Action::IngestAuditEvents | Action::Authorize)
                }
                Role::User => false,
            };
            if is_allowed {
                // Permitted: whatever the handler answers, it is not a refusal.
                assert!(
                    ![401, 403].contains(&response.status().as_u16()),
                    "{role} {method} {path}"
                );
            } else {
                assert_error(response, 403, ErrorCode::Forbidden).await;
            }
        }
    }
}

async fn an_auditor_reads_but_cannot_mint_or_revoke(db: Db) {
    let server = TestServer::start(db).await;
    let auditor = server.client().with_token(server.mint(Role::Auditor).await);
    let info = auditor.server_info().await.unwrap();
    assert_eq!(info.identity.role, Role::Auditor);
    assert_eq!(auditor.list_api_tokens().await.unwrap().len(), 2);
    let request = gatehouse_types::CreateApiTokenRequest {
        name: "escalate".into(),
        role: Role::Administrator,
        expires_in_seconds: None,
    };
    assert_eq!(
        auditor.create_api_token(&request).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    let admin_id = server
        .client()
        .server_info()
        .await
        .unwrap()
        .identity
        .token_id
        .unwrap();
    assert_eq!(
        auditor.revoke_api_token(admin_id).await.unwrap_err().code(),
        Some(ErrorCode::Forbidden)
    );
    // Refused means refused: nothing was minted or revoked.
    let tokens = server.client().list_api_tokens().await.unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t.revoked_at.is_none()));
}

on_both_databases!(
    every_route_is_public_by_name_or_refused_without_a_token,
    every_bad_token_gets_the_same_answer,
    expired_tokens_stop_working_at_their_expiry,
    roles_are_enforced_on_every_action,
    an_auditor_reads_but_cannot_mint_or_revoke,
);
