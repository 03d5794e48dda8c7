//! OAuth 2.0 and JWT access tokens through the real server (TK-1 … TK-5,
//! ID-10, AZ-4, SWR-004).

mod attacks;
mod clients;
mod code_flow;
mod endpoints;
mod interop;
mod keys;
mod oidc_interop;
mod replicas;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_server::clock::Clock;
use gatehouse_testkit::TestServer;
use gatehouse_tokens::{Jwk, Kek, KeyPair};
use serde_json::{json, Value};

/// A registered client and its secret.
pub struct TestClient {
    pub id: String,
    pub secret: String,
}

/// Registers a confidential client with the administrator token.
pub async fn register(server: &TestServer, role: &str, scopes: &[&str]) -> TestClient {
    let response = server
        .raw()
        .post(server.url("/v1/clients"))
        .bearer_auth(&server.admin_token)
        .json(&json!({
            "name": format!("{role} client"),
            "role": role,
            "grant_types": ["client_credentials"],
            "scopes": scopes,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    TestClient {
        id: body["client"]["client_id"].as_str().unwrap().to_owned(),
        secret: body["client_secret"].as_str().unwrap().to_owned(),
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// `POST /oauth2/token` with client_secret_basic and `extra` form fields.
pub async fn token_response(
    server: &TestServer,
    client: &TestClient,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    server
        .raw()
        .post(server.url("/oauth2/token"))
        .header("authorization", basic(&client.id, &client.secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// A fresh access token for `client`.
pub async fn access_token(server: &TestServer, client: &TestClient) -> String {
    let response = token_response(server, client, &[]).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The server's current signing key, unsealed as an attacker who stole the
/// database and the key-encryption key would have it: to build tokens whose
/// signature is good and whose contents are not.
pub async fn current_key(server: &TestServer) -> KeyPair {
    let kek_text = std::fs::read_to_string(server.config.data_dir.join("token-keys.kek")).unwrap();
    let kek = Kek::from_base64(&kek_text).unwrap();
    let rows = server.store.signing_keys().list().await.unwrap();
    let row = rows.iter().find(|r| r.state == "current").unwrap();
    let public: Jwk = serde_json::from_str(&row.public_jwk).unwrap();
    let private = gatehouse_tokens::seal::open(&kek, &row.kid, &row.sealed_private).unwrap();
    KeyPair::from_parts(public, private).unwrap()
}

/// Valid claims for `client` at the server's time; tests change what they attack.
pub fn claims(server: &TestServer, client_id: &str) -> Value {
    let now = server.clock.now().timestamp();
    json!({
        "iss": server.base_url,
        "sub": client_id,
        "aud": "gatehouse",
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
        "client_id": client_id,
        "scope": "audit:read",
        "sub_kind": "client",
        "name": "forged",
        "role": "auditor",
    })
}

/// `GET /v1/audit/events?limit=1` with `token`: a private route.
pub async fn call(server: &TestServer, token: &str) -> reqwest::Response {
    server
        .raw()
        .get(server.url("/v1/audit/events?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// The newest audit records, as JSON, through the administrator.
pub async fn recent_records(server: &TestServer, query: &str) -> Vec<Value> {
    let response = server
        .raw()
        .get(server.url(&format!("/v1/audit/events?limit=50&{query}")))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// The record of the request that got `response` (found by its request id).
pub async fn record_of(server: &TestServer, response: &reqwest::Response) -> Value {
    let id = response
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let records = recent_records(server, &format!("request_id={id}")).await;
    assert_eq!(records.len(), 1, "one record for request {id}");
    records[0].clone()
}
