//! Sessions and refresh-token families (ID-9, TK-4).

use gatehouse_identity::session::{
    decide_refresh, session_expiry, EndReason, RefreshDecision, RefreshToken, SessionEnd,
    SessionRules, SessionState, StoredRefresh, REFRESH_TOKEN_LEN,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const T0: i64 = 1_700_000_000;

fn session() -> SessionState {
    SessionState {
        created_at: T0,
        last_seen_at: T0,
        ended: None,
    }
}

fn stored(issued_at: i64) -> StoredRefresh {
    StoredRefresh {
        family: "fam-1".into(),
        session_id: "ses-1".into(),
        issued_at,
        expires_at: issued_at + 43_200,
        spent_at: None,
    }
}

#[test]
fn issued_tokens_are_unique_prefixed_and_hashed() {
    // proves: TK-4 (256 random bits, stored only as a hash)
    let mut rng = StdRng::seed_from_u64(1);
    let (first, first_hash) = RefreshToken::issue(&mut rng);
    let (second, second_hash) = RefreshToken::issue(&mut rng);
    assert_ne!(first, second);
    assert_ne!(first_hash, second_hash);
    for (token, hash) in [(&first, first_hash), (&second, second_hash)] {
        assert_eq!(token.len(), REFRESH_TOKEN_LEN);
        assert!(token.starts_with("ghr_"));
        assert!(token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(RefreshToken::hash_presented(token), Some(hash));
        assert_ne!(&hash[..], token.as_bytes(), "the hash is not the token");
    }
}

#[test]
fn presented_tokens_of_any_other_shape_are_refused() {
    // proves: TK-4 (only exact token shapes are ever looked up)
    let (token, _) = RefreshToken::issue(&mut StdRng::seed_from_u64(2));
    let body = &token[4..];
    let cases = [
        (format!("ghs_{body}"), "wrong prefix"),
        (format!("GHR_{body}"), "prefix case"),
        (token[..REFRESH_TOKEN_LEN - 1].to_owned(), "short"),
        (format!("{token}A"), "long"),
        (format!("{token}\n"), "trailing newline"),
        (
            format!(" {}", &token[..REFRESH_TOKEN_LEN - 1]),
            "leading space",
        ),
        (format!("ghr_{}+", &body[..42]), "standard base64 +"),
        (format!("ghr_{}=", &body[..42]), "padding"),
        (format!("ghr_{}.", &body[..42]), "not base64"),
        (
            format!("ghr_{}é", &body[..41]),
            "non-ASCII of the right byte length",
        ),
        (String::new(), "empty"),
        ("ghr_".to_owned(), "prefix only"),
        ("x".repeat(1 << 20), "a megabyte"),
    ];
    for (presented, why) in cases {
        assert_eq!(RefreshToken::hash_presented(&presented), None, "{why}");
    }
}

#[test]
fn non_canonical_base64_is_refused() {
    // proves: TK-4 (one token, one spelling: no second string for a spent one)
    let (token, _) = RefreshToken::issue(&mut StdRng::seed_from_u64(3));
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = token.as_bytes()[REFRESH_TOKEN_LEN - 1];
    let index = alphabet.iter().position(|b| *b == last).unwrap();
    // The last character carries 4 bits and 2 unused ones: setting one of
    // those spells the same bytes differently.
    let mut twin = token.clone().into_bytes();
    twin[REFRESH_TOKEN_LEN - 1] = alphabet[index | 1];
    let twin = String::from_utf8(twin).unwrap();
    assert_ne!(twin, token);
    assert_eq!(RefreshToken::hash_presented(&twin), None);
}

#[test]
fn sessions_end_at_exact_idle_and_absolute_boundaries() {
    // proves: ID-9 (sessions expire)
    let rules = SessionRules::default();
    rules.validate().unwrap();
    let state = session();
    assert_eq!(session_expiry(&rules, &state, T0 + 1799), None);
    assert_eq!(
        session_expiry(&rules, &state, T0 + 1800),
        Some(EndReason::Idle)
    );
    let active = SessionState {
        last_seen_at: T0 + 43_000,
        ..session()
    };
    assert_eq!(session_expiry(&rules, &active, T0 + 43_199), None);
    assert_eq!(
        session_expiry(&rules, &active, T0 + 43_200),
        Some(EndReason::Absolute),
        "use never extends a session past its absolute lifetime"
    );
    let idle_and_old = session_expiry(&rules, &state, T0 + 100_000);
    assert_eq!(idle_and_old, Some(EndReason::Absolute));
}

#[test]
fn a_stored_end_wins() {
    // proves: ID-9 (administrators end sessions)
    let rules = SessionRules::default();
    for reason in EndReason::ALL {
        let state = SessionState {
            ended: Some(SessionEnd { at: T0 + 5, reason }),
            ..session()
        };
        assert_eq!(session_expiry(&rules, &state, T0 + 6), Some(reason));
        assert_eq!(
            session_expiry(&rules, &state, T0 + 1),
            Some(reason),
            "even before its time"
        );
    }
}

#[test]
fn end_reasons_are_named_for_the_audit() {
    // proves: ID-9 (every end is recorded with its reason)
    let names: Vec<&str> = EndReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        names,
        [
            "logout",
            "idle",
            "absolute",
            "refresh_reuse",
            "password_changed",
            "locked",
            "disabled",
            "admin",
            "replaced",
            "code_reuse"
        ]
    );
    let single = SessionRules {
        is_single_session: true,
        ..SessionRules::default()
    };
    assert_eq!(single.ends_other_sessions(), Some(EndReason::Replaced));
    assert_eq!(SessionRules::default().ends_other_sessions(), None);
}

#[test]
fn each_refresh_decision() {
    // proves: TK-4 (rotate on use; reuse of a spent one revokes the family)
    let rules = SessionRules::default();
    let live = stored(T0);
    let now = T0 + 600;
    assert_eq!(
        decide_refresh(&rules, None, &session(), now),
        RefreshDecision::Unknown
    );
    assert_eq!(
        decide_refresh(&rules, Some(&live), &session(), now),
        RefreshDecision::Rotate {
            expires_at: T0 + 43_200
        },
        "the next token never outlives the session"
    );
    let spent = StoredRefresh {
        spent_at: Some(T0 + 300),
        ..live.clone()
    };
    assert_eq!(
        decide_refresh(&rules, Some(&spent), &session(), now),
        RefreshDecision::Reused
    );
    let ended = SessionState {
        ended: Some(SessionEnd {
            at: T0 + 100,
            reason: EndReason::Logout,
        }),
        ..session()
    };
    assert_eq!(
        decide_refresh(&rules, Some(&live), &ended, now),
        RefreshDecision::SessionEnded(EndReason::Logout)
    );
    assert_eq!(
        decide_refresh(&rules, Some(&spent), &ended, T0 + 50_000),
        RefreshDecision::Reused,
        "a spent token is a theft signal even after the session is over"
    );
    assert_eq!(
        decide_refresh(&rules, Some(&live), &session(), T0 + 1800),
        RefreshDecision::SessionEnded(EndReason::Idle)
    );
}

#[test]
fn refresh_tokens_expire_at_their_own_lifetime() {
    // proves: TK-4 (refresh tokens are short-lived when a deployment says so)
    let rules = SessionRules {
        refresh_seconds: 600,
        ..SessionRules::default()
    };
    rules.validate().unwrap();
    let token = StoredRefresh {
        expires_at: T0 + 600,
        ..stored(T0)
    };
    let seen = SessionState {
        last_seen_at: T0 + 500,
        ..session()
    };
    assert_eq!(
        decide_refresh(&rules, Some(&token), &seen, T0 + 599),
        RefreshDecision::Rotate {
            expires_at: T0 + 599 + 600
        }
    );
    assert_eq!(
        decide_refresh(&rules, Some(&token), &seen, T0 + 600),
        RefreshDecision::Expired
    );
    // A token stored under longer rules is capped by today's.
    let old = stored(T0);
    assert_eq!(
        decide_refresh(&rules, Some(&old), &seen, T0 + 601),
        RefreshDecision::Expired
    );
}

#[test]
fn bad_session_rules_are_refused() {
    // proves: ID-9 (sessions always expire)
    let base = SessionRules::default();
    let cases = [
        SessionRules {
            idle_seconds: 0,
            ..base
        },
        SessionRules {
            idle_seconds: 43_201,
            ..base
        },
        SessionRules {
            absolute_seconds: 0,
            ..base
        },
        SessionRules {
            absolute_seconds: 31 * 24 * 3600,
            refresh_seconds: 600,
            ..base
        },
        SessionRules {
            refresh_seconds: 0,
            ..base
        },
        SessionRules {
            refresh_seconds: 43_201,
            ..base
        },
        SessionRules {
            idle_seconds: -5,
            ..base
        },
    ];
    for rules in cases {
        assert!(rules.validate().is_err(), "{rules:?}");
    }
    let json: SessionRules = serde_json::from_str(r#"{"idle_seconds": 600}"#).unwrap();
    assert_eq!(json.absolute_seconds, 43_200);
    assert!(serde_json::from_str::<SessionRules>(r#"{"idle": 600}"#).is_err());
}
