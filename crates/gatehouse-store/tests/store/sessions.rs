//! Credentials, sessions and refresh tokens on both backends (ID-6, ID-9,
//! TK-4): each change commits with its record, a credential is one row per user
//! and kind, a refresh token rotates once however many present it, and ended
//! sessions and users cut off reach the events every replica polls.

use gatehouse_store::{
    CredentialRow, RefreshRow, Rotation, SessionEnd, SessionRow, SessionWrite, SessionWritten,
    SqliteStore, Store, TokenEventRow, UserRow, UserTypeRow,
};

use super::{assert_verifies, record, sealer, stores};

fn user(id: &str, user_type: &str) -> UserRow {
    UserRow {
        id: id.into(),
        user_type: user_type.into(),
        status: "active".into(),
        display_name: format!("Name {id}"),
        search_name: format!("name {id}"),
        email: Some(format!("{id}@example.org")),
        is_email_verified: true,
        phone: None,
        is_phone_verified: false,
        attributes: "{}".into(),
        entitlements: "[]".into(),
        source: "local".into(),
        directory_dn: None,
        created_at_us: 10,
        created_by: "admin".into(),
        updated_at_us: 10,
        recent_failures: "[]".into(),
        locked_until_us: None,
    }
}

/// The `clinician` type and the users `ids` of it.
pub(crate) async fn with_users(store: &dyn Store, ids: &[&str]) {
    let sealer = sealer(1000);
    let row = UserTypeRow {
        name: "clinician".into(),
        definition: "{\"name\":\"clinician\"}".into(),
        created_at_us: 5,
        updated_at_us: 5,
    };
    store
        .user_types()
        .put_type(&row, &|_, _| record("admin", "user_types.put", 5), &sealer)
        .await
        .unwrap();
    for id in ids {
        store
            .users()
            .create(
                &user(id, "clinician"),
                &record("admin", "users.create", 10),
                &sealer,
            )
            .await
            .unwrap();
    }
}

fn credential(user_id: &str, kind: &str, secret: &[u8], at: i64) -> CredentialRow {
    CredentialRow {
        user_id: user_id.into(),
        kind: kind.into(),
        secret: secret.to_vec(),
        last_step: None,
        is_confirmed: true,
        created_at_us: at,
        updated_at_us: at,
    }
}

fn session(id: &str, user_id: &str, at: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        user_id: user_id.into(),
        amr: r#"["pwd"]"#.into(),
        source_ip: "192.0.2.7".into(),
        user_agent: "browser".into(),
        created_at_us: at,
        last_seen_at_us: at,
        ended_at_us: None,
        end_reason: None,
        client_id: "gatehouse".into(),
        scope: String::new(),
    }
}

fn refresh(hash_byte: u8, session_id: &str, at: i64) -> RefreshRow {
    RefreshRow {
        hash: vec![hash_byte; 32],
        session_id: session_id.into(),
        issued_at_us: at,
        expires_at_us: at + 1_000_000,
        spent_at_us: None,
    }
}

fn end(reason: &str, at_us: i64) -> SessionEnd<'_> {
    SessionEnd {
        reason,
        at_us,
        event_not_after_us: at_us + 900_000,
    }
}

fn events(rows: &[TokenEventRow]) -> Vec<(&str, &str, i64, i64)> {
    rows.iter()
        .map(|e| (e.kind.as_str(), e.subject.as_str(), e.at_us, e.not_after_us))
        .collect()
}

async fn all_events(store: &dyn Store) -> Vec<TokenEventRow> {
    store.token_events().since(0, 0, 1000).await.unwrap()
}

fn ids(rows: &[SessionRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

#[tokio::test]
async fn a_credential_is_one_row_per_kind_and_a_cut_reaches_the_events() {
    // proves: ID-6
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1", "u2"]).await;
        let creds = store.credentials();
        let last_seq = || async { store.audit().last_seq().await.unwrap() };
        let seq0 = last_seq().await;

        let first = credential("u1", "password", b"$argon2id$first", 100);
        let rec = record("u1", "credentials.put", 100);
        creds
            .put_credential(&first, None, &rec, &sealer)
            .await
            .unwrap();
        assert_eq!(
            creds.find_credential("u1", "password").await.unwrap(),
            Some(first.clone()),
            "{b:?}"
        );
        assert_eq!(creds.find_credential("u1", "totp").await.unwrap(), None);
        assert_eq!(creds.find_credential("u2", "password").await.unwrap(), None);
        assert!(
            all_events(store.as_ref()).await.is_empty(),
            "no cut, no event"
        );

        // Another kind is its own row; the same kind replaces the row.
        let mut totp = credential("u1", "totp", b"sealed-totp", 150);
        totp.last_step = Some(42);
        totp.is_confirmed = false;
        let rec = record("u1", "credentials.put", 150);
        creds
            .put_credential(&totp, None, &rec, &sealer)
            .await
            .unwrap();
        let second = credential("u1", "password", b"$argon2id$second", 200);
        let rec = record("u1", "credentials.put", 200);
        creds
            .put_credential(&second, Some((200, 900_200)), &rec, &sealer)
            .await
            .unwrap();
        assert_eq!(
            creds.find_credential("u1", "password").await.unwrap(),
            Some(second.clone()),
            "{b:?}"
        );
        assert_eq!(
            creds.find_credential("u1", "totp").await.unwrap(),
            Some(totp.clone())
        );
        assert_eq!(last_seq().await, seq0 + 3, "one record per put");

        // The cut: a `user` event every replica polls and loads.
        let polled = all_events(store.as_ref()).await;
        assert_eq!(events(&polled), vec![("user", "u1", 200, 900_200)], "{b:?}");
        let loaded = store.token_events().in_force(500).await.unwrap();
        assert_eq!(events(&loaded), vec![("user", "u1", 200, 900_200)]);
        assert!(store
            .token_events()
            .in_force(900_200)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            store.token_events().since(201, 0, 10).await.unwrap(),
            Vec::new()
        );

        // A credential of no user is refused, without its record or event.
        let ghost = credential("ghost", "password", b"x", 300);
        let rec = record("ghost", "credentials.put", 300);
        assert!(
            creds
                .put_credential(&ghost, Some((300, 900_300)), &rec, &sealer)
                .await
                .is_err(),
            "{b:?}"
        );
        assert_eq!(last_seq().await, seq0 + 3);
        assert_eq!(all_events(store.as_ref()).await.len(), 1);

        // Debug never shows the secret or a refresh token's hash.
        let shown = format!("{second:?} {totp:?}");
        for secret in [&second.secret, &totp.secret] {
            assert!(!shown.contains(&format!("{secret:?}")), "{shown}");
        }
        assert!(!shown.contains("argon2id") && !shown.contains("sealed-totp"));
        assert!(!shown.contains("secret") && !shown.contains("last_step"));
        let token = refresh(0xAB, "s1", 10);
        let shown = format!("{token:?}");
        assert!(!shown.contains("hash") && !shown.contains("171"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", token.hash)));

        // An upgrade replaces only the secret it was computed from.
        assert!(creds
            .upgrade_secret(
                "u1",
                "password",
                b"$argon2id$second",
                b"$argon2id$third",
                400
            )
            .await
            .unwrap());
        let upgraded = creds
            .find_credential("u1", "password")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(upgraded.secret, b"$argon2id$third".to_vec(), "{b:?}");
        assert_eq!((upgraded.created_at_us, upgraded.updated_at_us), (200, 400));
        // Changed meanwhile (the old secret is no longer stored): left alone.
        assert!(!creds
            .upgrade_secret(
                "u1",
                "password",
                b"$argon2id$second",
                b"$argon2id$stale",
                500
            )
            .await
            .unwrap());
        assert!(!creds
            .upgrade_secret("u1", "totp", b"$argon2id$third", b"$argon2id$stale", 500)
            .await
            .unwrap());
        assert!(!creds
            .upgrade_secret(
                "u2",
                "password",
                b"$argon2id$third",
                b"$argon2id$stale",
                500
            )
            .await
            .unwrap());
        assert_eq!(
            creds.find_credential("u1", "password").await.unwrap(),
            Some(upgraded),
            "{b:?}"
        );
        assert_eq!(
            creds.find_credential("u1", "totp").await.unwrap(),
            Some(totp.clone())
        );
        assert_eq!(last_seq().await, seq0 + 3, "an upgrade has no record");

        // Failures and the lockout live on the user row.
        creds
            .set_failures("u1", "[1700000000,1700000005]", Some(9_000))
            .await
            .unwrap();
        let u1 = store.users().find("u1").await.unwrap().unwrap();
        assert_eq!(
            (u1.recent_failures.as_str(), u1.locked_until_us),
            ("[1700000000,1700000005]", Some(9_000)),
            "{b:?}"
        );
        let u2 = store.users().find("u2").await.unwrap().unwrap();
        assert_eq!(
            (u2.recent_failures.as_str(), u2.locked_until_us),
            ("[]", None)
        );
        creds.set_failures("u1", "[]", None).await.unwrap();
        let u1 = store.users().find("u1").await.unwrap().unwrap();
        assert_eq!(
            (u1.recent_failures.as_str(), u1.locked_until_us),
            ("[]", None)
        );
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn a_session_opens_with_its_first_refresh_token_and_can_end_the_others() {
    // proves: ID-9
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1", "u2"]).await;
        let sessions = store.sessions();
        let seq0 = store.audit().last_seq().await.unwrap();
        let open = |s: SessionRow, r: RefreshRow| {
            let sessions = store.sessions();
            let sealer = &sealer;
            async move {
                let rec = record(&s.user_id, "sessions.open", s.created_at_us);
                sessions
                    .open_session(&s, Some(&r), None, &rec, sealer)
                    .await
                    .unwrap()
            }
        };
        assert!(open(session("s1", "u1", 100), refresh(1, "s1", 100))
            .await
            .is_empty());
        assert!(open(session("s2", "u1", 200), refresh(2, "s2", 200))
            .await
            .is_empty());
        assert!(open(session("s3", "u2", 300), refresh(3, "s3", 300))
            .await
            .is_empty());
        assert_eq!(
            store.audit().last_seq().await.unwrap(),
            seq0 + 3,
            "one record per session"
        );
        assert_eq!(
            sessions.find_session("s1").await.unwrap(),
            Some(session("s1", "u1", 100)),
            "{b:?}"
        );
        assert_eq!(
            sessions.find_refresh(&[1; 32]).await.unwrap(),
            Some(refresh(1, "s1", 100))
        );
        assert_eq!(sessions.find_session("nope").await.unwrap(), None);
        assert_eq!(sessions.find_refresh(&[9; 32]).await.unwrap(), None);
        assert!(all_events(store.as_ref()).await.is_empty());

        // Without concurrent sessions: u1's others end with the new one.
        let only = end("concurrent", 400);
        let rec = record("u1", "sessions.open", 400);
        let ended = sessions
            .open_session(
                &session("s4", "u1", 400),
                Some(&refresh(4, "s4", 400)),
                Some(&only),
                &rec,
                &sealer,
            )
            .await
            .unwrap();
        assert_eq!(ended, vec!["s1", "s2"], "{b:?}");
        for id in ["s1", "s2"] {
            let s = sessions.find_session(id).await.unwrap().unwrap();
            assert_eq!(
                (s.ended_at_us, s.end_reason.as_deref()),
                (Some(400), Some("concurrent")),
                "{b:?} {id}"
            );
        }
        assert_eq!(
            sessions.find_session("s4").await.unwrap(),
            Some(session("s4", "u1", 400))
        );
        assert_eq!(
            sessions.find_session("s3").await.unwrap(),
            Some(session("s3", "u2", 300)),
            "another user's session is left alone"
        );
        assert_eq!(
            sessions.find_refresh(&[4; 32]).await.unwrap(),
            Some(refresh(4, "s4", 400))
        );
        assert_eq!(
            events(&all_events(store.as_ref()).await),
            vec![
                ("session", "s1", 400, 900_400),
                ("session", "s2", 400, 900_400)
            ],
            "{b:?}"
        );
        assert_eq!(store.audit().last_seq().await.unwrap(), seq0 + 4);

        // Newest first; ended ones only when asked; at most `limit`.
        let list = |user: &'static str, include_ended: bool, limit: u32| {
            let sessions = store.sessions();
            async move {
                let rows = sessions
                    .list_sessions(user, include_ended, limit)
                    .await
                    .unwrap();
                ids(&rows).join(",")
            }
        };
        assert_eq!(list("u1", false, 10).await, "s4", "{b:?}");
        assert_eq!(list("u1", true, 10).await, "s4,s2,s1", "{b:?}");
        assert_eq!(list("u1", true, 2).await, "s4,s2");
        assert_eq!(list("u2", false, 10).await, "s3");
        assert_eq!(list("nobody", true, 10).await, "");

        // A second session of the same id, or a refresh token already stored:
        // refused, nothing written.
        let rec = record("u2", "sessions.open", 500);
        assert!(sessions
            .open_session(
                &session("s3", "u2", 500),
                Some(&refresh(5, "s3", 500)),
                None,
                &rec,
                &sealer
            )
            .await
            .is_err());
        assert!(sessions
            .open_session(
                &session("s5", "u2", 500),
                Some(&refresh(3, "s5", 500)),
                None,
                &rec,
                &sealer
            )
            .await
            .is_err());
        assert_eq!(sessions.find_session("s5").await.unwrap(), None, "{b:?}");
        assert_eq!(sessions.find_refresh(&[5; 32]).await.unwrap(), None);
        assert_eq!(store.audit().last_seq().await.unwrap(), seq0 + 4);
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_rotates_once_however_many_present_it() {
    // proves: TK-4
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1"]).await;
        let sessions = store.sessions();
        let rec = record("u1", "sessions.open", 100);
        sessions
            .open_session(
                &session("s1", "u1", 100),
                Some(&refresh(1, "s1", 100)),
                None,
                &rec,
                &sealer,
            )
            .await
            .unwrap();
        let seq0 = store.audit().last_seq().await.unwrap();

        let rec = record("u1", "sessions.refresh", 200);
        assert!(sessions
            .rotate_refresh(&[1; 32], &refresh(2, "s1", 200), &rec, &sealer)
            .await
            .unwrap());
        let spent = sessions.find_refresh(&[1; 32]).await.unwrap().unwrap();
        assert_eq!(spent.spent_at_us, Some(200), "{b:?}");
        assert_eq!(
            sessions.find_refresh(&[2; 32]).await.unwrap(),
            Some(refresh(2, "s1", 200))
        );
        let s1 = sessions.find_session("s1").await.unwrap().unwrap();
        assert_eq!((s1.created_at_us, s1.last_seen_at_us), (100, 200), "{b:?}");

        // The same token again: refused, nothing written (the caller records
        // the refusal as the failure it is).
        let rec = record("u1", "sessions.refresh", 300);
        assert!(!sessions
            .rotate_refresh(&[1; 32], &refresh(3, "s1", 300), &rec, &sealer)
            .await
            .unwrap());
        assert_eq!(
            sessions.find_refresh(&[3; 32]).await.unwrap(),
            None,
            "{b:?}"
        );
        assert_eq!(
            sessions.find_refresh(&[1; 32]).await.unwrap(),
            Some(spent),
            "the first spending time is kept"
        );
        assert_eq!(
            sessions
                .find_session("s1")
                .await
                .unwrap()
                .unwrap()
                .last_seen_at_us,
            200
        );
        // A token never issued: the same.
        assert!(!sessions
            .rotate_refresh(&[9; 32], &refresh(4, "s1", 300), &rec, &sealer)
            .await
            .unwrap());
        assert_eq!(sessions.find_refresh(&[4; 32]).await.unwrap(), None);
        assert_eq!(
            store.audit().last_seq().await.unwrap(),
            seq0 + 1,
            "only the rotation that happened is recorded with it"
        );

        // Two replicas presenting the current token at once: one rotates.
        let (a, b2) = (refresh(5, "s1", 400), refresh(6, "s1", 401));
        let (rec_a, rec_b) = (
            record("u1", "sessions.refresh", 400),
            record("u1", "sessions.refresh", 401),
        );
        let (first, second) = tokio::join!(
            sessions.rotate_refresh(&[2; 32], &a, &rec_a, &sealer),
            sessions.rotate_refresh(&[2; 32], &b2, &rec_b, &sealer),
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        assert!(
            first ^ second,
            "{b:?}: exactly one rotates ({first}, {second})"
        );
        let found_a = sessions.find_refresh(&[5; 32]).await.unwrap();
        let found_b = sessions.find_refresh(&[6; 32]).await.unwrap();
        assert_eq!(found_a.is_some(), first, "{b:?}");
        assert_eq!(found_b.is_some(), second, "{b:?}");
        let winner = if first { &a } else { &b2 };
        assert_eq!(
            sessions
                .find_refresh(&[2; 32])
                .await
                .unwrap()
                .unwrap()
                .spent_at_us,
            Some(winner.issued_at_us)
        );
        assert_eq!(
            sessions
                .find_session("s1")
                .await
                .unwrap()
                .unwrap()
                .last_seen_at_us,
            winner.issued_at_us
        );
        // The loser wrote nothing: its caller records the refusal.
        assert_eq!(store.audit().last_seq().await.unwrap(), seq0 + 2);
        // Rotation is no session end: no event.
        assert!(all_events(store.as_ref()).await.is_empty(), "{b:?}");
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

#[tokio::test]
async fn ending_sessions_ends_only_open_ones_and_tells_every_replica() {
    // proves: ID-9
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1", "u2"]).await;
        let sessions = store.sessions();
        for (i, (id, user)) in [("s1", "u1"), ("s2", "u1"), ("s3", "u1"), ("s4", "u2")]
            .into_iter()
            .enumerate()
        {
            let at = 100 * (i as i64 + 1);
            let rec = record(user, "sessions.open", at);
            sessions
                .open_session(
                    &session(id, user, at),
                    Some(&refresh(i as u8 + 1, id, at)),
                    None,
                    &rec,
                    &sealer,
                )
                .await
                .unwrap();
        }
        let seq0 = store.audit().last_seq().await.unwrap();

        // Signing out of one session, and an administrator ending a list of them.
        let out = end("sign_out", 1_000);
        let rec = record("u1", "sessions.end", 1_000);
        let ended = sessions
            .end_sessions(&["s1".into()], &out, &rec, &sealer)
            .await
            .unwrap();
        assert_eq!(ended, vec!["s1"], "{b:?}");
        let ended_again = sessions
            .end_sessions(&["s1".into()], &end("again", 1_100), &rec, &sealer)
            .await
            .unwrap();
        assert!(ended_again.is_empty(), "{b:?}: ended once");
        let s1 = sessions.find_session("s1").await.unwrap().unwrap();
        assert_eq!(
            (s1.ended_at_us, s1.end_reason.as_deref()),
            (Some(1_000), Some("sign_out")),
            "the first end is kept"
        );
        let admin = end("admin", 2_000);
        let rec = record("admin", "sessions.end", 2_000);
        let ended = sessions
            .end_sessions(
                &["s1".into(), "s2".into(), "s4".into(), "nope".into()],
                &admin,
                &rec,
                &sealer,
            )
            .await
            .unwrap();
        assert_eq!(ended, vec!["s2", "s4"], "{b:?}");
        assert_eq!(
            events(&all_events(store.as_ref()).await),
            vec![
                ("session", "s1", 1_000, 900_000 + 1_000),
                ("session", "s2", 2_000, 900_000 + 2_000),
                ("session", "s4", 2_000, 900_000 + 2_000),
            ],
            "{b:?}: one event per session ended"
        );
        assert_eq!(store.audit().last_seq().await.unwrap(), seq0 + 3);

        // Locking u1: every open session ends, one `user` event cuts the rest.
        let lock = end("locked", 3_000);
        let rec = record("admin", "users.lock", 3_000);
        let ended = sessions
            .end_user_sessions("u1", &lock, &rec, &sealer)
            .await
            .unwrap();
        assert_eq!(ended, vec!["s3"], "{b:?}");
        let s3 = sessions.find_session("s3").await.unwrap().unwrap();
        assert_eq!(
            (s3.ended_at_us, s3.end_reason.as_deref()),
            (Some(3_000), Some("locked"))
        );
        let s2 = sessions.find_session("s2").await.unwrap().unwrap();
        assert_eq!(s2.end_reason.as_deref(), Some("admin"), "already ended");
        let polled = store.token_events().since(3_000, 0, 100).await.unwrap();
        assert_eq!(
            events(&polled),
            vec![
                ("session", "s3", 3_000, 903_000),
                ("user", "u1", 3_000, 903_000)
            ],
            "{b:?}"
        );
        // A user with no open session still gets the cut.
        let ended = sessions
            .end_user_sessions("u2", &end("disabled", 4_000), &rec, &sealer)
            .await
            .unwrap();
        assert!(ended.is_empty(), "{b:?}");
        let loaded = store.token_events().in_force(902_000).await.unwrap();
        assert_eq!(
            events(&loaded),
            vec![
                ("session", "s3", 3_000, 903_000),
                ("user", "u1", 3_000, 903_000),
                ("user", "u2", 4_000, 904_000),
            ],
            "{b:?}"
        );
        assert!(sessions
            .list_sessions("u1", false, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            ids(&sessions.list_sessions("u1", true, 10).await.unwrap()),
            vec!["s3", "s2", "s1"]
        );
        assert_eq!(store.audit().last_seq().await.unwrap(), seq0 + 5);
        assert_verifies(store.as_ref(), &sealer).await;
    }
}

/// The SQLite migration rebuilds `token_events`: an event appended after it
/// must still be numbered above every event appended before it, pruned ones
/// included, or a replica polling after the last sequence number it read would
/// never see it.
#[tokio::test]
async fn sqlite_upgrade_never_numbers_an_event_again() {
    // proves: ID-9
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.db");
    // A database as the release before sign-in left it (migrations 1 to 8).
    let old = dir.path().join("migrations");
    std::fs::create_dir(&old).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for file in std::fs::read_dir(&all).unwrap() {
        let file = file.unwrap();
        let name = file.file_name().into_string().unwrap();
        if name.as_str() < "0009" {
            std::fs::copy(file.path(), old.join(&name)).unwrap();
        }
    }
    let raw = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&raw)
        .await
        .unwrap();
    // A key set and two revocations a replica has read, the revocations pruned.
    for (kind, subject) in [("keys", ""), ("token", "jti-1"), ("token", "jti-2")] {
        sqlx::query(
            "INSERT INTO token_events (kind, subject, not_after_us, at_us) \
             VALUES ($1, $2, 50, 10)",
        )
        .bind(kind)
        .bind(subject)
        .execute(&raw)
        .await
        .unwrap();
    }
    let read: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM token_events")
        .fetch_one(&raw)
        .await
        .unwrap();
    sqlx::query("DELETE FROM token_events WHERE kind <> 'keys'")
        .execute(&raw)
        .await
        .unwrap();
    raw.close().await;

    let store = SqliteStore::open(&path).await.unwrap();
    let sealer = sealer(1000);
    with_users(&store, &["u1"]).await;
    let rec = record("admin", "users.lock", 100);
    store
        .sessions()
        .end_user_sessions("u1", &end("locked", 100), &rec, &sealer)
        .await
        .unwrap();
    let new = store.token_events().since(0, read, 10).await.unwrap();
    assert_eq!(
        events(&new),
        vec![("user", "u1", 100, 900_100)],
        "the event after the upgrade is polled by a replica that read up to {read}"
    );
    assert_verifies(&store, &sealer).await;
}

#[tokio::test]
async fn a_totp_step_is_taken_once_and_a_credential_is_removed_with_its_record() {
    // proves: ID-8 (a TOTP step once accepted is never accepted again, even
    // by two requests racing with the same code)
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1"]).await;
        let creds = store.credentials();
        let totp = credential("u1", "totp", b"sealed", 100);
        creds
            .put_credential(&totp, None, &record("u1", "credentials.put", 100), &sealer)
            .await
            .unwrap();
        assert!(creds.set_last_step("u1", None, 7).await.unwrap(), "{b:?}");
        assert!(!creds.set_last_step("u1", None, 7).await.unwrap(), "{b:?}");
        assert!(
            !creds.set_last_step("u1", Some(6), 8).await.unwrap(),
            "{b:?}"
        );
        assert!(
            creds.set_last_step("u1", Some(7), 8).await.unwrap(),
            "{b:?}"
        );
        let stored = creds.find_credential("u1", "totp").await.unwrap().unwrap();
        assert_eq!(stored.last_step, Some(8), "{b:?}");
        let seq = store.audit().last_seq().await.unwrap();
        let recovery = credential("u1", "recovery", b"[]", 150);
        let both = [stored.clone(), recovery];
        let rec = record("u1", "me.factors.enrol", 150);
        creds.put_credentials(&both, &rec, &sealer).await.unwrap();
        assert_eq!(
            store.audit().last_seq().await.unwrap(),
            seq + 1,
            "one record"
        );
        let rec = record("u1", "me.factors.remove", 200);
        let kinds = ["totp", "recovery"];
        assert_eq!(
            creds
                .delete_credentials("u1", &kinds, &rec, &sealer)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            creds
                .delete_credentials("u1", &kinds, &rec, &sealer)
                .await
                .unwrap(),
            0
        );
        assert_eq!(creds.find_credential("u1", "totp").await.unwrap(), None);
        assert_eq!(creds.find_credential("u1", "recovery").await.unwrap(), None);
        assert_eq!(store.audit().last_seq().await.unwrap(), seq + 2, "{b:?}");
    }
}

#[tokio::test]
async fn a_batch_of_session_writes_commits_together_and_a_spent_token_loses() {
    // proves: ID-9, TK-4 (group commit keeps each rotation a compare-and-swap:
    // of two rotations of one token in one batch, one wins and the other
    // writes nothing, not even its record)
    let dir = tempfile::tempdir().unwrap();
    let sealer = sealer(1000);
    for store in stores(dir.path()).await {
        let b = store.backend();
        with_users(store.as_ref(), &["u1"]).await;
        let sessions = store.sessions();
        let seq = store.audit().last_seq().await.unwrap();
        let s1 = session("s1", "u1", 100);
        let r1 = refresh(1, "s1", 100);
        let (next_a, next_b) = (refresh(2, "s1", 200), refresh(3, "s1", 200));
        let recs: Vec<_> = (0..3)
            .map(|i| record("u1", "sessions.write", 100 + i))
            .collect();
        let writes = [
            SessionWrite::Open {
                session: &s1,
                refresh: Some(&r1),
                end_others: None,
                audit: &recs[0],
            },
            SessionWrite::Rotate(Rotation {
                old_hash: &r1.hash,
                next: &next_a,
                audit: &recs[1],
            }),
            SessionWrite::Rotate(Rotation {
                old_hash: &r1.hash,
                next: &next_b,
                audit: &recs[2],
            }),
        ];
        let done = sessions.write_sessions(&writes, &sealer).await.unwrap();
        assert_eq!(
            done,
            [
                SessionWritten::Opened { ended: Vec::new() },
                SessionWritten::Rotated(true),
                SessionWritten::Rotated(false),
            ],
            "{b:?}"
        );
        assert_eq!(
            store.audit().last_seq().await.unwrap(),
            seq + 2,
            "{b:?}: the loser has no record"
        );
        assert!(sessions.find_refresh(&next_a.hash).await.unwrap().is_some());
        assert!(sessions.find_refresh(&next_b.hash).await.unwrap().is_none());
        assert_verifies(store.as_ref(), &sealer).await;
    }
}
