//! Signing keys (TK-2): published, rotated on demand with overlap, retired,
//! sealed at rest, and listed without private halves.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{ErrorCode, Role};
use serde_json::Value;

use super::{access_token, call, record_of, register};
use crate::assert_error;

async fn keys(server: &TestServer) -> Vec<Value> {
    let body: Value = server
        .raw()
        .get(server.url("/v1/keys"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

fn kid_of(token: &str) -> String {
    use base64::Engine;
    let head = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(head)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn published(server: &TestServer) -> Vec<String> {
    let jwks: Value = server
        .raw()
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

// proves: TK-2
async fn a_rotation_keeps_old_tokens_until_they_expire_and_retires_their_key(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "auditor", &["audit:read"]).await;
    let before = keys(&server).await;
    let mut states: Vec<&str> = before
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    states.sort_unstable();
    assert_eq!(states, ["current", "next"]);
    let old_token = access_token(&server, &client).await;
    let old_kid = kid_of(&old_token);
    let next_kid = before.iter().find(|k| k["state"] == "next").unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    // Only administrators rotate.
    let auditor = server.mint(Role::Auditor).await;
    let refused = server
        .raw()
        .post(server.url("/v1/keys/rotate"))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_error(refused, 403, ErrorCode::Forbidden).await;
    let rotated = server
        .raw()
        .post(server.url("/v1/keys/rotate"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    let record = record_of(&server, &rotated).await;
    assert_eq!(rotated.status(), 200);
    assert_eq!(record["action"], "keys.rotate");
    assert_eq!(record["after"]["promoted"], next_kid.as_str());
    assert_eq!(record["after"]["demoted"], old_kid.as_str());
    // The next key now signs; the old token still verifies; all three published.
    let new_token = access_token(&server, &client).await;
    assert_eq!(kid_of(&new_token), next_kid);
    assert_eq!(call(&server, &old_token).await.status(), 200);
    assert_eq!(published(&server).await.len(), 3);
    assert!(published(&server).await.contains(&old_kid));
    // Past the old token's life (5 min + 30 s skew), the old key verifies nothing.
    server.clock.advance(chrono::Duration::seconds(331));
    assert_eq!(call(&server, &old_token).await.status(), 401);
    // The next rotation retires it: unpublished, its sealed half wiped.
    server
        .raw()
        .post(server.url("/v1/keys/rotate"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    let after = keys(&server).await;
    let old = after.iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert_eq!(old["state"], "retired");
    assert!(!published(&server).await.contains(&old_kid));
    let rows = server.store.signing_keys().list().await.unwrap();
    let old_row = rows.iter().find(|r| r.kid == old_kid).unwrap();
    assert!(old_row.sealed_private.is_empty());
    // Private halves are sealed: the stored bytes are not the key.
    let current = rows.iter().find(|r| r.state == "current").unwrap();
    let pair = super::current_key(&server).await;
    assert!(!current
        .sealed_private
        .windows(pair.private_der().len())
        .any(|w| w == pair.private_der()));
    // Nothing private is ever listed.
    for k in &after {
        assert!(k["public_jwk"].get("d").is_none());
    }
}

// proves: TK-2
async fn the_key_encryption_key_is_an_owner_only_file_outside_the_database(db: Db) {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start(db).await;
    let path = server.config.data_dir.join("token-keys.kek");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let kek = std::fs::read_to_string(&path).unwrap();
    // Neither the KEK nor any private half is in the trail.
    let trail = super::recent_records(&server, "action=keys.rotate").await;
    assert!(!Value::Array(trail).to_string().contains(kek.trim()));
}

on_both_databases!(
    a_rotation_keeps_old_tokens_until_they_expire_and_retires_their_key,
    the_key_encryption_key_is_an_owner_only_file_outside_the_database,
);
