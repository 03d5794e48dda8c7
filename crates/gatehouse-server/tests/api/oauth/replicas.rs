//! Two servers on one database (TK-5): a revocation, a disabled client or a
//! rotation on one holds on the other within a second.

use std::time::{Duration, Instant};

use gatehouse_testkit::{on_both_databases, Db, TestServer};

use super::{access_token, basic, call, register};

/// Polls `f` until it is true or a second has passed since `since`.
async fn within_a_second<F, Fut>(since: Instant, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while since.elapsed() < Duration::from_secs(1) {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

// proves: TK-5
async fn a_revocation_on_one_replica_holds_on_the_other_within_a_second(db: Db) {
    let a = TestServer::start_with(db, |c| {
        c.tokens.issuer = Some("https://gatehouse.test".into());
    })
    .await;
    let b = a.replica().await;
    let client = register(&a, "auditor", &["audit:read"]).await;
    let token = access_token(&a, &client).await;
    assert_eq!(call(&b, &token).await.status(), 200);
    let revoked = a
        .raw()
        .post(a.url("/oauth2/revoke"))
        .header("authorization", basic(&client.id, &client.secret))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let at = Instant::now();
    assert_eq!(call(&a, &token).await.status(), 401);
    assert!(within_a_second(at, || async { call(&b, &token).await.status() == 401 }).await);
    // Disabling the client on B ends its other tokens on A.
    let other = access_token(&b, &client).await;
    assert_eq!(call(&a, &other).await.status(), 200);
    let disabled = b
        .raw()
        .delete(b.url(&format!("/v1/clients/{}", client.id)))
        .bearer_auth(&b.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), 200);
    let at = Instant::now();
    assert!(within_a_second(at, || async { call(&a, &other).await.status() == 401 }).await);
    // A rotation on A: B verifies the new key's tokens at once (it published
    // that key as `next`), and signs with it within a second.
    let rotated = a
        .raw()
        .post(a.url("/v1/keys/rotate"))
        .bearer_auth(&a.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    let fresh = register(&a, "auditor", &["audit:read"]).await;
    let from_a = access_token(&a, &fresh).await;
    assert_eq!(call(&b, &from_a).await.status(), 200);
    let at = Instant::now();
    let kid = |t: &str| t.split('.').next().unwrap().to_owned();
    assert!(
        within_a_second(at, || async {
            kid(&access_token(&b, &fresh).await) == kid(&from_a)
        })
        .await
    );
}

on_both_databases!(a_revocation_on_one_replica_holds_on_the_other_within_a_second);
