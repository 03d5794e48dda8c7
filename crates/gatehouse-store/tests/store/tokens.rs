//! Signing keys, OAuth clients and token events on both backends (TK-2, TK-5,
//! ID-10): each change commits with its record, concurrent rotations cannot
//! both win, and replicas learn what they must from the events.

use gatehouse_store::{
    ClientRow, ClientUpdated, KeyApplied, KeyChange, SigningKeyRow, Store, StoreError,
};

use super::{assert_verifies, record, sealer, stores};

fn key(kid: &str, state: &str, at: i64) -> SigningKeyRow {
    SigningKeyRow {
        kid: kid.into(),
        algorithm: "EdDSA".into(),
        state: state.into(),
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        sealed_private: vec![7; 40],
        created_at_us: at,
        activated_at_us: (state == "current").then_some(at),
        verifies_until_us: None,
        retired_at_us: None,
    }
}

fn client(id: &str) -> ClientRow {
    ClientRow {
        id: id.into(),
        name: format!("{id} name"),
        is_confidential: true,
        role: "service".into(),
        grants: "client_credentials".into(),
        scopes: "audit:read audit:write".into(),
        redirect_uris: "[]".into(),
        status: "active".into(),
        secret_hash: Some(vec![1; 32]),
        previous_secret_hash: None,
        previous_secret_until_us: None,
        tokens_valid_after_us: 0,
        created_at_us: 10,
        created_by: "admin".into(),
        updated_at_us: 10,
    }
}

async fn states(store: &dyn Store) -> Vec<(String, String, usize)> {
    store
        .signing_keys()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state, k.sealed_private.len()))
        .collect()
}

#[tokio::test]
async fn a_rotation_moves_every_key_at_once_and_only_from_the_current_it_saw() {
    // proves: TK-2
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let keys = store.signing_keys();
        let first = KeyChange {
            at_us: 100,
            inserts: vec![key("a", "current", 100), key("b", "next", 100)],
            ..KeyChange::default()
        };
        let rec = record("server", "keys.rotate", 100);
        assert_eq!(
            keys.apply(&first, None, &rec, &sealer).await.unwrap(),
            KeyApplied::Done
        );
        // A second replica planned from the same empty set: refused, nothing written.
        assert_eq!(
            keys.apply(&first, None, &rec, &sealer).await.unwrap(),
            KeyApplied::Conflict
        );
        let rotate = KeyChange {
            at_us: 200,
            inserts: vec![key("c", "next", 200)],
            promote: Some("b".into()),
            demote: Some(("a".into(), 500)),
            retire: vec![],
        };
        let rec = record("server", "keys.rotate", 200);
        assert_eq!(
            keys.apply(&rotate, Some("a"), &rec, &sealer).await.unwrap(),
            KeyApplied::Done
        );
        assert_eq!(
            states(store.as_ref()).await,
            vec![
                ("a".into(), "previous".into(), 40),
                ("b".into(), "current".into(), 40),
                ("c".into(), "next".into(), 40)
            ],
            "{b:?}"
        );
        let listed = keys.list().await.unwrap();
        assert_eq!(listed[0].verifies_until_us, Some(500));
        assert_eq!(listed[1].activated_at_us, Some(200));
        // Retiring wipes the sealed private half.
        let retire = KeyChange {
            at_us: 600,
            retire: vec!["a".into()],
            ..KeyChange::default()
        };
        let rec = record("server", "keys.rotate", 600);
        assert_eq!(
            keys.apply(&retire, Some("b"), &rec, &sealer).await.unwrap(),
            KeyApplied::Done
        );
        assert_eq!(
            states(store.as_ref()).await[0],
            ("a".into(), "retired".into(), 0),
            "{b:?}"
        );
        // Two `next` keys cannot exist.
        let two_next = KeyChange {
            at_us: 700,
            inserts: vec![key("d", "next", 700)],
            ..KeyChange::default()
        };
        let rec = record("server", "keys.rotate", 700);
        assert!(matches!(
            keys.apply(&two_next, Some("b"), &rec, &sealer).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(states(store.as_ref()).await.len(), 3);
        // Every applied change left a `keys` event and its record.
        let events = store.token_events().since(0, 0, 100).await.unwrap();
        assert_eq!(
            events.iter().filter(|e| e.kind == "keys").count(),
            3,
            "{b:?}"
        );
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn client_changes_commit_with_their_record_and_cuts_reach_the_events() {
    // proves: ID-10, TK-5
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let clients = store.clients();
        clients
            .create(
                &client("c1"),
                &record("admin", "clients.create", 10),
                &sealer,
            )
            .await
            .unwrap();
        assert!(matches!(
            clients
                .create(
                    &client("c1"),
                    &record("admin", "clients.create", 11),
                    &sealer
                )
                .await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(
            clients.find("c1").await.unwrap().unwrap().scopes,
            "audit:read audit:write"
        );
        assert_eq!(clients.find("nope").await.unwrap(), None);
        // A rename: no event.
        let audit = |before: &ClientRow, after: &ClientRow| gatehouse_audit::Record {
            before: Some(before.name.clone()),
            after: Some(after.name.clone()),
            ..record("admin", "clients.update", 20)
        };
        let rename = |c: &ClientRow| {
            Some(ClientRow {
                name: "renamed".into(),
                id: "hijack".into(),
                updated_at_us: 20,
                ..c.clone()
            })
        };
        let done = clients
            .update("c1", &rename, &audit, 9_000, &sealer)
            .await
            .unwrap();
        let ClientUpdated::Done { before, after } = done else {
            panic!("{done:?}")
        };
        assert_eq!(
            (before.name.as_str(), after.name.as_str()),
            ("c1 name", "renamed")
        );
        // The edit could not move the id.
        assert_eq!(after.id, "c1");
        assert!(
            store
                .token_events()
                .since(0, 0, 10)
                .await
                .unwrap()
                .is_empty(),
            "{b:?}"
        );
        // Unchanged and unknown.
        let none = |_: &ClientRow| None;
        assert!(matches!(
            clients
                .update("c1", &none, &audit, 9_000, &sealer)
                .await
                .unwrap(),
            ClientUpdated::Unchanged(_)
        ));
        assert_eq!(
            clients
                .update("zz", &rename, &audit, 9_000, &sealer)
                .await
                .unwrap(),
            ClientUpdated::Unknown
        );
        // Revoking all its tokens: an event every replica polls.
        let cut = |c: &ClientRow| {
            Some(ClientRow {
                tokens_valid_after_us: 30,
                updated_at_us: 30,
                ..c.clone()
            })
        };
        clients
            .update("c1", &cut, &audit, 9_000, &sealer)
            .await
            .unwrap();
        let disable = |c: &ClientRow| {
            Some(ClientRow {
                status: "disabled".into(),
                updated_at_us: 40,
                ..c.clone()
            })
        };
        clients
            .update("c1", &disable, &audit, 9_000, &sealer)
            .await
            .unwrap();
        let events = store.token_events().since(0, 0, 10).await.unwrap();
        let seen: Vec<_> = events
            .iter()
            .map(|e| (e.kind.as_str(), e.subject.as_str(), e.at_us))
            .collect();
        assert_eq!(
            seen,
            vec![("client", "c1", 30), ("client", "c1", 40)],
            "{b:?}"
        );
        assert_eq!(clients.list().await.unwrap().len(), 1);
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn a_revoked_token_is_an_event_until_it_would_have_expired() {
    // proves: TK-5
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        let events = store.token_events();
        let rec = record("client", "tokens.revoke", 100);
        assert!(events
            .revoke_token("jti-1", 400, 100, &rec, &sealer)
            .await
            .unwrap());
        // Twice: only the second request's record.
        assert!(!events
            .revoke_token("jti-1", 400, 101, &rec, &sealer)
            .await
            .unwrap());
        assert!(events
            .revoke_token("jti-2", 900, 200, &rec, &sealer)
            .await
            .unwrap());
        let subjects = |rows: Vec<gatehouse_store::TokenEventRow>| {
            rows.into_iter().map(|r| r.subject).collect::<Vec<_>>()
        };
        assert_eq!(
            subjects(events.in_force(300).await.unwrap()),
            vec!["jti-1", "jti-2"],
            "{b:?}"
        );
        assert_eq!(subjects(events.in_force(400).await.unwrap()), vec!["jti-2"]);
        assert_eq!(
            subjects(events.since(150, 0, 10).await.unwrap()),
            vec!["jti-2"]
        );
        assert_eq!(
            subjects(events.since(0, 0, 1).await.unwrap()),
            vec!["jti-1"]
        );
        // The next page starts after the last sequence number read.
        let first = events.since(0, 0, 1).await.unwrap()[0].seq;
        assert_eq!(
            subjects(events.since(0, first, 10).await.unwrap()),
            vec!["jti-2"]
        );
        assert_eq!(events.prune(500).await.unwrap(), 1);
        assert_eq!(
            subjects(events.since(0, 0, 10).await.unwrap()),
            vec!["jti-2"]
        );
        // Three revocation records in the trail, the repeat's included.
        let page = store.audit().read_after(0, 10).await.unwrap();
        assert_eq!(page.len(), 3, "{b:?}");
        assert_verifies(store.as_ref(), &sealer).await;
    }
}
