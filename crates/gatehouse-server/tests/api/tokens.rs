//! API tokens: minted once, stored hashed, listed without secrets, revoked.

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{CreateApiTokenRequest, DatabaseBackend, ErrorCode, Role};

async fn server_info_names_backend_version_and_caller(db: Db) {
    let is_postgres = matches!(db, Db::Postgres(_));
    let server = TestServer::start(db).await;
    server.clock.advance(chrono::Duration::seconds(42));
    let info = server.client().server_info().await.unwrap();
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    let expected = if is_postgres {
        DatabaseBackend::Postgres
    } else {
        DatabaseBackend::Sqlite
    };
    assert_eq!(info.database, expected);
    assert_eq!(info.uptime_seconds, 42);
    assert_eq!(info.identity.role, Role::Administrator);
    assert_eq!(info.identity.name, "initial administrator");
}

async fn mint_list_revoke_lifecycle(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let me = admin
        .server_info()
        .await
        .unwrap()
        .identity
        .token_id
        .unwrap();
    let request = CreateApiTokenRequest {
        name: "  ci pipeline  ".into(),
        role: Role::Service,
        expires_in_seconds: Some(3600),
    };
    let created = admin.create_api_token(&request).await.unwrap();
    assert_eq!(created.token.name, "ci pipeline");
    assert_eq!(created.token.role, Role::Service);
    assert_eq!(created.token.created_by, Some(me));
    assert_eq!(
        (created.token.expires_at - created.token.created_at).num_seconds(),
        3600
    );
    assert!(created.secret.starts_with("gh_"));

    // The secret is never listed, and never stored in clear.
    let listed = server
        .raw()
        .get(server.url("/v1/api-tokens"))
        .bearer_auth(&server.admin_token)
        .send()
        .await
        .unwrap();
    let text = listed.text().await.unwrap();
    assert!(!text.contains(&created.secret) && !text.contains(&server.admin_token));
    let rows = server.store.api_tokens().list().await.unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        assert_eq!(row.secret_hash.len(), 32);
        assert!(!row.secret_hash.windows(8).any(|w| created
            .secret
            .as_bytes()
            .windows(8)
            .any(|s| s == w)));
    }

    let revoked = admin.revoke_api_token(created.token.id).await.unwrap();
    let first_time = revoked.revoked_at.unwrap();
    server.clock.advance(chrono::Duration::seconds(10));
    let again = admin.revoke_api_token(created.token.id).await.unwrap();
    assert_eq!(
        again.revoked_at,
        Some(first_time),
        "revoking twice keeps the first time"
    );
    let e = admin
        .with_token(&created.secret)
        .server_info()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidToken));
}

async fn the_last_administrator_cannot_be_revoked(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let me = admin
        .server_info()
        .await
        .unwrap()
        .identity
        .token_id
        .unwrap();
    let e = admin.revoke_api_token(me).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Conflict));
    assert!(admin.server_info().await.is_ok(), "still works");
    // With a second administrator, the first may go.
    let second = admin.with_token(server.mint(Role::Administrator).await);
    second.revoke_api_token(me).await.unwrap();
    assert_eq!(
        admin.server_info().await.unwrap_err().code(),
        Some(ErrorCode::InvalidToken)
    );
    let second_id = second
        .server_info()
        .await
        .unwrap()
        .identity
        .token_id
        .unwrap();
    assert_eq!(
        second.revoke_api_token(second_id).await.unwrap_err().code(),
        Some(ErrorCode::Conflict)
    );
}

async fn concurrent_minting_keeps_every_token(db: Db) {
    let server = TestServer::start(db).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = server.client();
        tasks.push(tokio::spawn(async move {
            let request = CreateApiTokenRequest {
                name: format!("t{i}"),
                role: Role::Auditor,
                expires_in_seconds: None,
            };
            client.create_api_token(&request).await.unwrap().secret
        }));
    }
    let mut secrets = Vec::new();
    for t in tasks {
        secrets.push(t.await.unwrap());
    }
    secrets.sort();
    secrets.dedup();
    assert_eq!(secrets.len(), 20);
    assert_eq!(server.client().list_api_tokens().await.unwrap().len(), 21);
}

on_both_databases!(
    server_info_names_backend_version_and_caller,
    mint_list_revoke_lifecycle,
    the_last_administrator_cannot_be_revoked,
    concurrent_minting_keeps_every_token,
);
