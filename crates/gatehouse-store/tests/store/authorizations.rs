//! Authorization requests on both backends (TK-6): who signed in is set
//! once, one code is issued once, and a code is exchanged once however many
//! requests race; expired requests are pruned.

use gatehouse_store::AuthorizationRow;

use super::sessions::with_users;
use super::stores;

fn request(id: u8) -> AuthorizationRow {
    AuthorizationRow {
        id_hash: vec![id; 32],
        browser_hash: vec![9; 32],
        client_id: "app".into(),
        redirect_uri: "http://127.0.0.1/cb".into(),
        scope: "openid".into(),
        state: Some("s".into()),
        nonce: None,
        code_challenge: "c".repeat(43),
        source_ip: "127.0.0.1".into(),
        user_agent: "browser".into(),
        created_at_us: 100,
        expires_at_us: 1_000,
        user_id: None,
        amr: None,
        auth_time_us: None,
        code_hash: None,
        code_expires_at_us: None,
        session_id: None,
        exchanged_at_us: None,
    }
}

#[tokio::test]
async fn each_step_of_an_authorization_is_taken_once() {
    // proves: TK-6 (codes single use, bound to the request that asked)
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1", "u2"]).await;
        let a = store.authorizations();
        a.create_authorization(&request(1)).await.unwrap();
        let found = a.find_authorization(&[1; 32]).await.unwrap().unwrap();
        assert_eq!(found, request(1), "{b:?}");
        // No code before someone signed in.
        assert!(
            !a.issue_code(&[1; 32], &[5; 32], 160, "s1").await.unwrap(),
            "{b:?}"
        );
        assert!(a
            .set_authenticated(&[1; 32], "u1", "[\"pwd\"]", 150)
            .await
            .unwrap());
        assert!(
            !a.set_authenticated(&[1; 32], "u2", "[\"pwd\"]", 151)
                .await
                .unwrap(),
            "{b:?}"
        );
        assert!(
            a.issue_code(&[1; 32], &[5; 32], 160, "s1").await.unwrap(),
            "{b:?}"
        );
        assert!(
            !a.issue_code(&[1; 32], &[6; 32], 160, "s2").await.unwrap(),
            "{b:?}"
        );
        let by_code = a.find_by_code(&[5; 32]).await.unwrap().unwrap();
        assert_eq!(by_code.user_id.as_deref(), Some("u1"), "{b:?}");
        assert_eq!(by_code.session_id.as_deref(), Some("s1"), "{b:?}");
        assert_eq!(by_code.code_expires_at_us, Some(160));
        assert!(a.find_by_code(&[6; 32]).await.unwrap().is_none(), "{b:?}");
        assert!(a.exchange_code(&[5; 32], 155).await.unwrap(), "{b:?}");
        assert!(!a.exchange_code(&[5; 32], 156).await.unwrap(), "{b:?}");
        a.create_authorization(&AuthorizationRow {
            expires_at_us: 5_000,
            ..request(2)
        })
        .await
        .unwrap();
        assert_eq!(a.prune_authorizations(2_000).await.unwrap(), 1, "{b:?}");
        assert!(a.find_authorization(&[1; 32]).await.unwrap().is_none());
        assert!(a.find_authorization(&[2; 32]).await.unwrap().is_some());
    }
}
