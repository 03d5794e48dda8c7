//! One-time codes, sign-in challenges and sign-ups in progress on both backends
//! (ID-1, ID-4, ID-8): a try and a use are compare-and-swaps, so a code is
//! counted and used once however many requests race; a challenge completes
//! once; a registration advances from the version it was read at; sends are
//! counted per destination; everything expired is pruned.

use gatehouse_store::{ChallengeRow, CodeRow, RegistrationRow};

use super::stores;

fn code(binding: &str, checks: i64) -> CodeRow {
    CodeRow {
        binding: binding.into(),
        purpose: "sign_in".into(),
        hash: vec![7; 32],
        expires_at_us: 1_000,
        checks,
        is_consumed: false,
    }
}

fn registration(id: u8, version: i64) -> RegistrationRow {
    RegistrationRow {
        id_hash: vec![id; 32],
        user_type: "patient".into(),
        email: Some("new@example.org".into()),
        phone: None,
        display_name: "New Person".into(),
        attributes: "{}".into(),
        password: None,
        totp_secret: None,
        progress: "{}".into(),
        is_decoy: false,
        source_ip: "127.0.0.1".into(),
        created_at_us: 10,
        expires_at_us: 5_000,
        user_id: None,
        version,
    }
}

#[tokio::test]
async fn a_code_try_and_its_use_are_counted_once() {
    // proves: ID-8 (single use, tries counted however requests race)
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let b = store.backend();
        let codes = store.challenges();
        codes.put_code(&code("c1", 0), b"dest", 100).await.unwrap();
        let stored = codes.find_code("c1", "sign_in").await.unwrap().unwrap();
        assert_eq!(stored, code("c1", 0), "{b:?}");
        // Two wrong tries from the same read: only the first is stored, the
        // second must read again.
        let once = code("c1", 1);
        assert!(codes.check_code(&stored, &once).await.unwrap(), "{b:?}");
        assert!(!codes.check_code(&stored, &once).await.unwrap(), "{b:?}");
        let used = CodeRow {
            is_consumed: true,
            ..once.clone()
        };
        assert!(codes.check_code(&once, &used).await.unwrap(), "{b:?}");
        assert!(!codes.check_code(&once, &used).await.unwrap(), "{b:?}");
        // A new code replaces the old one for the same binding and purpose.
        let mut fresh = code("c1", 0);
        fresh.hash = vec![9; 32];
        codes.put_code(&fresh, b"dest", 200).await.unwrap();
        let stored = codes.find_code("c1", "sign_in").await.unwrap().unwrap();
        assert_eq!(stored.hash, vec![9; 32], "{b:?}");
        assert!(!stored.is_consumed, "{b:?}");
        // A swap made against the old code's hash does nothing to the new one.
        assert!(
            !codes.check_code(&code("c1", 0), &used).await.unwrap(),
            "{b:?}"
        );
        assert_eq!(codes.count_sends(b"dest", 0).await.unwrap(), 2, "{b:?}");
        assert_eq!(codes.count_sends(b"dest", 150).await.unwrap(), 1, "{b:?}");
        assert_eq!(codes.count_sends(b"other", 0).await.unwrap(), 0, "{b:?}");
    }
}

#[tokio::test]
async fn a_challenge_completes_once_and_a_registration_advances_from_its_version() {
    // proves: ID-4, ID-1
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path()).await {
        let b = store.backend();
        let s = store.challenges();
        let challenge = ChallengeRow {
            id_hash: vec![1; 32],
            stage: "second_factor".into(),
            user_id: None,
            methods: "[\"sms\"]".into(),
            amr: "[\"pwd\"]".into(),
            destination: "+44•••••••89".into(),
            source_ip: "127.0.0.1".into(),
            created_at_us: 10,
            expires_at_us: 1_000,
            checks: 0,
            completed_at_us: None,
            authorization_hash: None,
        };
        s.create_challenge(&challenge).await.unwrap();
        assert_eq!(
            s.find_challenge(&[1; 32]).await.unwrap().as_ref(),
            Some(&challenge),
            "{b:?}"
        );
        assert!(s.count_challenge_check(&[1; 32], 0).await.unwrap(), "{b:?}");
        assert!(
            !s.count_challenge_check(&[1; 32], 0).await.unwrap(),
            "{b:?}"
        );
        assert_eq!(s.find_challenge(&[1; 32]).await.unwrap().unwrap().checks, 1);
        assert!(s.complete_challenge(&[1; 32], 20).await.unwrap(), "{b:?}");
        // A used challenge counts no more tries.
        assert!(
            !s.count_challenge_check(&[1; 32], 1).await.unwrap(),
            "{b:?}"
        );
        assert!(!s.complete_challenge(&[1; 32], 21).await.unwrap(), "{b:?}");
        assert!(s.find_challenge(&[2; 32]).await.unwrap().is_none());

        s.create_registration(&registration(3, 1)).await.unwrap();
        let mut next = registration(3, 2);
        next.progress = "{\"proven\":[\"email\"]}".into();
        assert!(s.update_registration(&next).await.unwrap(), "{b:?}");
        // A second request that read version 1 too loses.
        assert!(!s.update_registration(&next).await.unwrap(), "{b:?}");
        let stored = s.find_registration(&[3; 32]).await.unwrap().unwrap();
        assert_eq!(stored, next, "{b:?}");

        // Pruning removes what expired, and sends older than asked.
        s.put_code(&code("c2", 0), b"d", 100).await.unwrap();
        let removed = s.prune(2_000, 150).await.unwrap();
        assert_eq!(removed, 3, "{b:?}: a code, a challenge and a send");
        assert!(s.find_code("c2", "sign_in").await.unwrap().is_none());
        assert!(s.find_challenge(&[1; 32]).await.unwrap().is_none());
        assert!(s.find_registration(&[3; 32]).await.unwrap().is_some());
        assert_eq!(s.prune(6_000, 150).await.unwrap(), 1, "{b:?}");
    }
}
