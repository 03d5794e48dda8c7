//! A real OAuth client, the `oauth2` crate, against the server: client
//! credentials, introspection and revocation as any relying party would use
//! them (ID-10, TK-5).

use gatehouse_testkit::{on_both_databases, Db, TestServer};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, ClientId, ClientSecret, IntrospectionUrl, RevocationUrl, Scope,
    StandardRevocableToken, TokenIntrospectionResponse, TokenResponse, TokenUrl,
};

use super::{call, register};

// proves: ID-10, TK-5
async fn the_oauth2_crate_gets_introspects_and_revokes_a_token(db: Db) {
    let server = TestServer::start(db).await;
    let app = register(&server, "auditor", &["audit:read", "server:read"]).await;
    let resource = register(&server, "service", &["tokens:introspect"]).await;
    let http = server.raw();
    let client_for = |id: &str, secret: &str| {
        BasicClient::new(ClientId::new(id.to_owned()))
            .set_client_secret(ClientSecret::new(secret.to_owned()))
            .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap())
            .set_introspection_url(IntrospectionUrl::new(server.url("/oauth2/introspect")).unwrap())
            .set_revocation_url(RevocationUrl::new(server.url("/oauth2/revoke")).unwrap())
    };
    let app_client = client_for(&app.id, &app.secret);
    let token = app_client
        .exchange_client_credentials()
        .add_scope(Scope::new("audit:read".into()))
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(token.scopes().unwrap()[0].as_str(), "audit:read");
    assert_eq!(token.expires_in().unwrap().as_secs(), 300);
    let access = token.access_token().secret().clone();
    assert_eq!(call(&server, &access).await.status(), 200);
    // client_secret_post, the other method.
    let posted = client_for(&app.id, &app.secret)
        .set_auth_type(AuthType::RequestBody)
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(posted.scopes().unwrap().len(), 2);
    // The resource server introspects it.
    let resource_client = client_for(&resource.id, &resource.secret);
    let info = resource_client
        .introspect(token.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().unwrap().as_str(), app.id);
    // The app revokes it; the resource server then hears it is inactive.
    app_client
        .revoke_token(StandardRevocableToken::AccessToken(
            token.access_token().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let info = resource_client
        .introspect(token.access_token())
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());
    assert_eq!(call(&server, &access).await.status(), 401);
    // A wrong secret is an error the crate understands.
    let wrong = client_for(&app.id, "ghs_wrong")
        .exchange_client_credentials()
        .request_async(&http)
        .await
        .unwrap_err();
    match wrong {
        oauth2::RequestTokenError::ServerResponse(e) => {
            assert_eq!(e.error().as_ref(), "invalid_client");
        }
        other => panic!("{other:?}"),
    }
}

on_both_databases!(the_oauth2_crate_gets_introspects_and_revokes_a_token);
