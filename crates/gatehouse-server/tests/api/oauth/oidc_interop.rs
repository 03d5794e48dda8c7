//! A real OpenID Connect relying party, the `openidconnect` crate, against
//! the server (TK-6): discovery, the code flow with PKCE to a loopback
//! redirect on a port of its own, the ID token verified (signature from the
//! published keys, issuer, audience, nonce, expiry), userinfo, refresh and
//! revocation, exactly as a native app would use them.

use gatehouse_server::clock::Clock;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope, TokenResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::code_flow::{hidden, param, person, register_app, Browser, PASSWORD};

/// A loopback listener standing in for the app's redirect: answers one
/// request and hands back its path and query.
async fn loopback() -> (u16, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 8192];
        let n = stream.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]).to_string();
        let target = head.split_whitespace().nth(1).unwrap().to_owned();
        let body = "You are signed in. Return to the app.";
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await.unwrap();
        target
    });
    (port, task)
}

// proves: TK-6 (interop: discovery, code + PKCE, ID token validation, userinfo,
// refresh, revocation with a real relying party)
async fn the_openidconnect_crate_signs_a_person_in_with_code_and_pkce(db: Db) {
    let server = TestServer::start(db).await;
    let sam = person(&server).await;
    let app = register_app(
        &server,
        false,
        &["openid", "profile", "email", "offline_access"],
    )
    .await;
    let http = server.raw();
    let metadata = CoreProviderMetadata::discover_async(
        IssuerUrl::new(server.base_url.clone()).unwrap(),
        &http,
    )
    .await
    .unwrap();
    assert!(metadata
        .id_token_signing_alg_values_supported()
        .contains(&CoreJwsSigningAlgorithm::EdDsa));
    let (port, redirect_seen) = loopback().await;
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(app.id.clone()), None)
        .set_redirect_uri(RedirectUrl::new(format!("http://127.0.0.1:{port}/callback")).unwrap())
        // Discovery names it; the crate's core metadata type does not read it.
        .set_revocation_url(RevocationUrl::new(server.url("/oauth2/revoke")).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    // The person's browser: the page, the password, consent, then the app's
    // loopback redirect.
    let mut browser = Browser::new(&server);
    let query = url.query().unwrap().to_owned();
    let page = browser.open(&server, &query).await;
    assert_eq!(page.status(), 200);
    let request = hidden(&page.text().await.unwrap(), "request").unwrap();
    let fields = [
        ("request", request.as_str()),
        ("step", "password"),
        ("email", "sam@example.com"),
        ("password", PASSWORD),
    ];
    assert_eq!(browser.post(&server, &fields).await.status(), 200);
    let allowed = browser
        .post(
            &server,
            &[
                ("request", &request),
                ("step", "consent"),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(allowed.status(), 303);
    let location = allowed.headers()["location"].to_str().unwrap().to_owned();
    let landed = server.raw().get(&location).send().await.unwrap();
    assert_eq!(landed.status(), 200);
    let target = redirect_seen.await.unwrap();
    assert_eq!(
        param(&target, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = param(&target, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    // The server's clock is the test's manual one.
    let now = server.clock.now();
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa])
        .set_time_fn(move || now);
    let id_token = tokens.id_token().unwrap();
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), sam);
    assert_eq!(claims.audiences()[0].as_str(), app.id);
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "pwd");
    assert_eq!(claims.email().unwrap().as_str(), "sam@example.com");
    // A nonce the app did not send is refused (replayed ID token).
    assert!(id_token
        .claims(&verifier, &Nonce::new("another".into()))
        .is_err());
    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email().unwrap().as_str(), "sam@example.com");
    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        tokens.refresh_token().unwrap().secret()
    );
    // Revoking the refresh token ends the session: its access token stops.
    client
        .revoke_token(refreshed.refresh_token().unwrap().into())
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let after: Result<CoreUserInfoClaims, _> = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        after.is_err(),
        "a revoked session's token still reads userinfo"
    );
    server.stop().await;
}

on_both_databases!(the_openidconnect_crate_signs_a_person_in_with_code_and_pkce);
