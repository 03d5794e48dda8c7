//! Passwords: NIST SP 800-63B rules and Argon2id hashing (ID-6, ID-7).

use std::sync::Arc;
use std::time::Duration;

use gatehouse_identity::password::{
    Argon2Params, BoundedHasher, Hasher, PasswordRejection, PasswordRules, MAX_MEMORY_KIB,
    MAX_PASSWORD_CHARS,
};
use gatehouse_identity::IdentityError;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SMALL: Argon2Params = Argon2Params {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

fn rng() -> StdRng {
    StdRng::seed_from_u64(6)
}

fn small_hasher() -> Hasher {
    Hasher::new(SMALL, &mut rng()).unwrap()
}

/// `len` characters no dictionary or pattern explains.
fn random_password(len: usize, seed: u64) -> String {
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+=?";
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

#[test]
fn length_boundaries_when_the_password_is_the_only_factor() {
    // proves: ID-6 (at least 15 characters when the password stands alone)
    let rules = PasswordRules::new();
    let fifteen = random_password(15, 1);
    assert_eq!(rules.check(&fifteen, &[], true), Ok(()));
    assert_eq!(
        rules.check(&fifteen[..14], &[], true),
        Err(PasswordRejection::TooShort { min: 15 })
    );
}

#[test]
fn length_boundaries_when_a_second_factor_follows() {
    // proves: ID-6 (at least 8 characters when another factor follows)
    let rules = PasswordRules::new();
    let nine = random_password(9, 2);
    assert_eq!(rules.check(&nine, &[], false), Ok(()));
    assert_eq!(
        rules.check(&nine[..7], &[], false),
        Err(PasswordRejection::TooShort { min: 8 })
    );
    // 8 random characters pass with a second factor (zxcvbn score 2 is
    // enough there); a guessable 8 does not.
    assert_eq!(rules.check(&nine[..8], &[], false), Ok(()));
    assert_eq!(
        rules.check("password", &[], false),
        Err(PasswordRejection::Common)
    );
    assert_eq!(
        rules.check("12345678", &[], false),
        Err(PasswordRejection::Common)
    );
    assert_eq!(
        rules.check(&nine[..8], &[], true),
        Err(PasswordRejection::TooShort { min: 15 })
    );
}

#[test]
fn up_to_256_characters_are_allowed_and_never_truncated() {
    // proves: ID-6 (≥ 64 allowed, 256 the cap, a longer one refused not cut)
    let rules = PasswordRules::new();
    let max = random_password(MAX_PASSWORD_CHARS, 3);
    assert_eq!(rules.check(&max, &[], true), Ok(()));
    let over = format!("{max}x");
    assert_eq!(
        rules.check(&over, &[], true),
        Err(PasswordRejection::TooLong { max: 256 })
    );
    let huge = "x".repeat(1 << 20);
    assert_eq!(
        rules.check(&huge, &[], true),
        Err(PasswordRejection::TooLong { max: 256 })
    );
    // A hash of the full 256 does not verify with the first 255: no truncation.
    let hasher = small_hasher();
    let phc = hasher.hash(&max, &mut rng()).unwrap();
    assert!(!hasher.verify(&phc, &max[..255]).unwrap().is_match);
    assert!(hasher.verify(&phc, &max).unwrap().is_match);
}

#[test]
fn a_long_passphrase_passes_without_composition_rules() {
    // proves: ID-6 (a 64-character lowercase passphrase is accepted)
    let phrase = "tangerine oboe glacier mosaic quill ferment lantern bishop orbit";
    assert_eq!(phrase.chars().count(), 64);
    assert_eq!(PasswordRules::new().check(phrase, &[], true), Ok(()));
}

#[test]
fn length_is_counted_after_nfkc() {
    // proves: ID-6 (decomposed characters cannot pad a short password)
    let rules = PasswordRules::new();
    let base = random_password(13, 4);
    // 15 scalar values as typed, 14 characters once "e" + U+0301 compose.
    let padded = format!("{base}e\u{301}");
    assert_eq!(padded.chars().count(), 15);
    assert_eq!(
        rules.check(&padded, &[], true),
        Err(PasswordRejection::TooShort { min: 15 })
    );
}

#[test]
fn composed_and_decomposed_forms_verify_the_same() {
    // proves: ID-6 (NFKC before hashing: one password, whatever the keyboard)
    let hasher = small_hasher();
    let composed = "Caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
    let decomposed = "Cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e";
    assert_ne!(composed, decomposed);
    let phc = hasher.hash(composed, &mut rng()).unwrap();
    assert!(hasher.verify(&phc, decomposed).unwrap().is_match);
    let full_width = "ｐａｓｓ ｗｏｒｄ";
    let phc = hasher.hash("pass word", &mut rng()).unwrap();
    assert!(hasher.verify(&phc, full_width).unwrap().is_match);
}

#[test]
fn blocklist_is_case_insensitive_and_skips_comments() {
    // proves: ID-6 (breached passwords refused; comment lines are not entries)
    let list = "# breached in 2024\n\n  CorrectHorseBatteryStaple  \r\n# xq7VmT2pLw9sRk4Zb\n";
    let rules = PasswordRules::new().with_blocklist(list);
    assert_eq!(rules.blocklist_len(), 1);
    assert_eq!(
        rules.check("correcthorsebatterystaple", &[], true),
        Err(PasswordRejection::Blocklisted)
    );
    assert_eq!(
        rules.check("CORRECTHORSEBATTERYSTAPLE", &[], true),
        Err(PasswordRejection::Blocklisted)
    );
    assert_eq!(rules.check("# xq7VmT2pLw9sRk4Zb", &[], true), Ok(()));
}

#[test]
fn blocklist_entries_are_normalised_like_candidates() {
    // proves: ID-6 (a full-width blocklist entry refuses its ASCII form)
    let rules = PasswordRules::new().with_blocklist("ＣＯＲＲＥＣＴhorsebatterystaple\n");
    assert_eq!(
        rules.check("correcthorsebatterystaple", &[], true),
        Err(PasswordRejection::Blocklisted)
    );
}

#[test]
fn common_and_patterned_passwords_are_refused() {
    // proves: ID-6 (dictionary words, keyboard walks and repeats fail)
    let rules = PasswordRules::new();
    for weak in [
        "password123456789",
        "qwertyuiopasdfgh",
        "passwordpassword",
        "aaaaaaaaaaaaaaaaaaaa",
        "123456789012345678",
    ] {
        assert_eq!(
            rules.check(weak, &[], true),
            Err(PasswordRejection::Common),
            "{weak}"
        );
    }
}

#[test]
fn the_users_own_details_are_refused() {
    // proves: ID-6 (context: a password made of the user's details fails)
    let rules = PasswordRules::new();
    let email = "zygmunt.quillfeather@example.org";
    let context = [email, "Zygmunt Quillfeather"];
    let password = format!("{email}{email}");
    // Strong to anyone who does not know the user; weak to anyone who does.
    assert_eq!(rules.check(&password, &[], true), Ok(()));
    assert_eq!(
        rules.check(&password, &context, true),
        Err(PasswordRejection::Common)
    );
    for weak in ["QuillfeatherZygmunt", "zygmuntquillfeather"] {
        assert_eq!(
            rules.check(weak, &context, true),
            Err(PasswordRejection::Common),
            "{weak}"
        );
    }
}

#[test]
fn rejection_messages_never_hold_the_password() {
    // proves: ID-6 (errors say which rule, never the secret)
    let rules = PasswordRules::new().with_blocklist("hunter2hunter2hunter2");
    for password in ["hunter2", "hunter2hunter2hunter2", "passwordpassword"] {
        let rejection = rules.check(password, &[], true).unwrap_err();
        let message = IdentityError::from(rejection).to_string();
        assert!(!message.contains(password), "{message}");
        assert!(!message.contains("hunter"), "{message}");
    }
}

#[test]
fn hash_then_verify_matches_only_the_right_password() {
    // proves: ID-6 (Argon2id PHC string, salted, verifiable)
    let hasher = small_hasher();
    let mut rng = rng();
    let phc = hasher.hash("a quite long passphrase", &mut rng).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{phc}");
    let other = hasher.hash("a quite long passphrase", &mut rng).unwrap();
    assert_ne!(phc, other, "each hash has its own salt");
    let right = hasher.verify(&phc, "a quite long passphrase").unwrap();
    assert!(right.is_match && !right.needs_rehash);
    assert!(
        !hasher
            .verify(&phc, "a quite long passphrasE")
            .unwrap()
            .is_match
    );
    assert!(!hasher.verify(&phc, "").unwrap().is_match);
}

#[test]
fn owasp_params_are_argon2id_19_mib_t2_p1() {
    // proves: ID-6 (the production parameters are OWASP's)
    let hasher = Hasher::owasp(&mut rng()).unwrap();
    let phc = hasher.hash("correct horse battery", &mut rng()).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    // 16-byte salt (22 base64 chars), 32-byte output (43 chars).
    let parts: Vec<&str> = phc.split('$').collect();
    assert_eq!(parts[4].len(), 22);
    assert_eq!(parts[5].len(), 43);
}

#[test]
fn a_change_of_parameters_asks_for_a_rehash() {
    // proves: ID-6 (hashes made with old costs are upgraded at sign-in)
    let old = small_hasher();
    let new = Hasher::new(
        Argon2Params {
            iterations: 2,
            ..SMALL
        },
        &mut rng(),
    )
    .unwrap();
    let phc = old.hash("a quite long passphrase", &mut rng()).unwrap();
    let verified = new.verify(&phc, "a quite long passphrase").unwrap();
    assert!(verified.is_match && verified.needs_rehash);
    assert!(
        !old.verify(&phc, "a quite long passphrase")
            .unwrap()
            .needs_rehash
    );
    // Another Argon2 variant verifies, and asks to be replaced by Argon2id.
    let argon2i = argon2_phc(argon2::Algorithm::Argon2i, "a quite long passphrase");
    let verified = old.verify(&argon2i, "a quite long passphrase").unwrap();
    assert!(verified.is_match && verified.needs_rehash);
}

fn argon2_phc(algorithm: argon2::Algorithm, password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(256, 1, 1, Some(32)).unwrap();
    let argon2 = argon2::Argon2::new(algorithm, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(&[9u8; 16]).unwrap();
    argon2
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

#[test]
fn a_malformed_stored_hash_is_an_error_never_a_match() {
    // proves: ID-6 (a broken row cannot let anyone in)
    let hasher = small_hasher();
    let phc = hasher.hash("a quite long passphrase", &mut rng()).unwrap();
    let cut = &phc[..phc.len() - 10];
    let no_output = phc.rsplit_once('$').unwrap().0;
    for bad in [
        "",
        "a quite long passphrase",
        "$argon2id$v=19$m=256,t=1,p=1$",
        no_output,
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        "$argon2id$v=19$m=256,t=1,p=1,x=3$c2FsdHNhbHRzYWx0$AAAA",
    ] {
        assert!(
            matches!(
                hasher.verify(bad, "a quite long passphrase"),
                Err(IdentityError::Hash)
            ),
            "{bad:?}"
        );
    }
    // A truncated output is still well-formed base64: it must not match.
    assert!(!matches!(
        hasher.verify(cut, "a quite long passphrase"),
        Ok(v) if v.is_match
    ));
}

#[test]
fn costs_beyond_the_caps_are_refused_before_running() {
    // proves: ID-7 (a corrupted stored hash cannot make verify take gigabytes)
    let hasher = small_hasher();
    let phc = hasher.hash("a quite long passphrase", &mut rng()).unwrap();
    let huge = phc.replace("m=256", "m=4000000");
    assert!(matches!(
        hasher.verify(&huge, "a quite long passphrase"),
        Err(IdentityError::Hash)
    ));
    let too_big = Argon2Params {
        memory_kib: MAX_MEMORY_KIB + 1,
        ..Argon2Params::OWASP
    };
    assert!(matches!(
        Hasher::new(too_big, &mut rng()),
        Err(IdentityError::Hash)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_hasher_runs_at_most_its_permits() {
    // proves: ID-7 (Argon2's memory is bounded: one permit, one hash at a time)
    let hasher = Arc::new(small_hasher());
    let bounded = BoundedHasher::new(Arc::clone(&hasher), 1).unwrap();
    let phc = hasher.hash("a quite long passphrase", &mut rng()).unwrap();
    let (a, b, c) = tokio::join!(
        bounded.verify(phc.clone(), "a quite long passphrase".into()),
        bounded.verify(phc.clone(), "wrong".into()),
        bounded.verify_dummy("anything".into()),
    );
    assert!(a.unwrap().is_match);
    assert!(!b.unwrap().is_match);
    let () = c;
    assert_eq!(bounded.peak_running(), 1);
    assert_eq!(bounded.available_permits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_hasher_hashes_off_the_async_workers() {
    // proves: ID-6 (async hashing gives the same PHC strings verify accepts)
    let bounded = BoundedHasher::new(Arc::new(small_hasher()), 0).unwrap();
    assert_eq!(
        bounded.available_permits(),
        1,
        "zero permits would deadlock"
    );
    let mut rng = rng();
    let phc = bounded
        .hash("a quite long passphrase".into(), &mut rng)
        .await
        .unwrap();
    let verified = tokio::time::timeout(
        Duration::from_secs(30),
        bounded.verify(phc, "a quite long passphrase".into()),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(verified.is_match);
    assert_eq!(bounded.peak_running(), 1);
}

fn assert_send_static<T: Send + 'static>(_: T) {}

#[test]
fn async_hash_holds_no_rng() {
    // proves: ID-7 (the salt is drawn up front: even a thread-local rng is fine)
    let bounded = BoundedHasher::new(Arc::new(small_hasher()), 1).unwrap();
    assert_send_static(bounded.hash("pw".into(), &mut rand::thread_rng()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_hashes_reuse_their_memory_and_agree_with_argon2() {
    // proves: ID-6, ID-7 (Argon2's memory is bounded by the permits, however
    // many callers; the hashes are standard PHC strings)
    let hasher = Arc::new(small_hasher());
    let bounded = BoundedHasher::new(Arc::clone(&hasher), 2).unwrap();
    let phc = bounded
        .hash("a quite long passphrase".into(), &mut rng())
        .await
        .unwrap();
    let parsed = argon2::PasswordHash::new(&phc).unwrap();
    use argon2::PasswordVerifier as _;
    assert!(argon2::Argon2::default()
        .verify_password(b"a quite long passphrase", &parsed)
        .is_ok());
    let plain = hasher.hash("another passphrase here", &mut rng()).unwrap();
    let mut checks = Vec::new();
    for i in 0..20 {
        let (bounded, phc, plain) = (bounded.clone(), phc.clone(), plain.clone());
        checks.push(tokio::spawn(async move {
            let (ours, theirs) = if i % 2 == 0 {
                (phc, "a quite long passphrase")
            } else {
                (plain, "another passphrase here")
            };
            assert!(
                bounded
                    .verify(ours.clone(), theirs.into())
                    .await
                    .unwrap()
                    .is_match
            );
            assert!(!bounded.verify(ours, "wrong".into()).await.unwrap().is_match);
        }));
    }
    for c in checks {
        c.await.unwrap();
    }
    assert!(bounded.memories() <= 2, "{}", bounded.memories());
    assert_eq!(bounded.available_permits(), 2);
}
