//! TOTP second factor and recovery codes (ID-4, ID-8).

use std::collections::HashSet;

use gatehouse_identity::code::CodeKey;
use gatehouse_identity::totp::{
    check_recovery, enrolment, issue_recovery, verify, TotpRejection, TotpSecret, RECOVERY_CODES,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const RFC_SECRET: &[u8] = b"12345678901234567890";
const NOW: i64 = 1_700_000_010;
const STEP: u64 = NOW as u64 / 30;

fn secret() -> TotpSecret {
    TotpSecret::from_bytes(RFC_SECRET).unwrap()
}

/// The code of `step`, from totp-rs directly: an oracle independent of `verify`.
fn code_of(step: u64) -> String {
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, RFC_SECRET.to_vec())
        .unwrap()
        .generate(step * 30)
}

#[test]
fn rfc_6238_test_vector() {
    // proves: ID-8 (RFC 6238 SHA-1, 6 digits: T = 59 s gives 287082)
    assert_eq!(verify(&secret(), "287082", 59, None), Ok(1));
    assert_eq!(
        verify(&secret(), "287083", 59, None),
        Err(TotpRejection::Wrong)
    );
}

#[test]
fn one_step_of_drift_each_way_and_no_more() {
    // proves: ID-8 (TOTP accepts one 30 s step of drift, not two)
    let codes: Vec<String> = (STEP - 2..=STEP + 2).map(code_of).collect();
    assert_eq!(codes.iter().collect::<HashSet<_>>().len(), 5);
    assert_eq!(verify(&secret(), &codes[1], NOW, None), Ok(STEP - 1));
    assert_eq!(verify(&secret(), &codes[2], NOW, None), Ok(STEP));
    assert_eq!(verify(&secret(), &codes[3], NOW, None), Ok(STEP + 1));
    assert_eq!(
        verify(&secret(), &codes[0], NOW, None),
        Err(TotpRejection::Wrong)
    );
    assert_eq!(
        verify(&secret(), &codes[4], NOW, None),
        Err(TotpRejection::Wrong)
    );
}

#[test]
fn a_step_is_accepted_once() {
    // proves: ID-8 (single use: the same code twice is a replay)
    let code = code_of(STEP);
    let step = verify(&secret(), &code, NOW, None).unwrap();
    assert_eq!(
        verify(&secret(), &code, NOW + 5, Some(step)),
        Err(TotpRejection::Replayed)
    );
    // The next step's code is still good.
    assert_eq!(
        verify(&secret(), &code_of(STEP + 1), NOW + 30, Some(step)),
        Ok(STEP + 1)
    );
}

#[test]
fn an_earlier_step_after_a_later_one_is_a_replay() {
    // proves: ID-8 (no step at or before the last accepted one ever passes)
    let last = verify(&secret(), &code_of(STEP + 1), NOW, None).unwrap();
    assert_eq!(last, STEP + 1);
    for earlier in [STEP, STEP - 1] {
        assert_eq!(
            verify(&secret(), &code_of(earlier), NOW, Some(last)),
            Err(TotpRejection::Replayed)
        );
    }
    // A wrong code is wrong, not a replay: the answer says nothing more.
    let near: Vec<String> = (STEP - 1..=STEP + 1).map(code_of).collect();
    let wrong = (0..4)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap();
    assert_eq!(
        verify(&secret(), &wrong, NOW, Some(last)),
        Err(TotpRejection::Wrong)
    );
}

#[test]
fn malformed_codes_are_refused_before_any_hmac() {
    // proves: ID-8 (only 6 ASCII digits are read)
    let code = code_of(STEP);
    let full_width: String = code
        .chars()
        .map(|c| char::from_u32(u32::from(c) - 0x30 + 0xFF10).unwrap())
        .collect();
    let huge = "1".repeat(1 << 16);
    for bad in [
        "",
        &code[..5],
        &format!("{code}1"),
        "12345a",
        full_width.as_str(),
        huge.as_str(),
        "-12345",
    ] {
        assert_eq!(
            verify(&secret(), bad, NOW, None),
            Err(TotpRejection::Malformed),
            "{bad:?}"
        );
    }
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    assert_eq!(verify(&secret(), &spaced, NOW, None), Ok(STEP));
    assert_eq!(
        verify(&secret(), &code, -1, None),
        Err(TotpRejection::Wrong)
    );
}

#[test]
fn enrolment_uri_names_issuer_account_and_parameters() {
    // proves: ID-4 (the URI apps scan: SHA1, 6 digits, 30 s, encoded label)
    let uri = enrolment(&secret(), "Gatehouse Corp", "alice+mfa@example.com").unwrap();
    assert_eq!(
        uri.as_str(),
        "otpauth://totp/Gatehouse%20Corp:alice%2Bmfa%40example.com\
         ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse%20Corp\
         &algorithm=SHA1&digits=6&period=30"
    );
    // A crafted account cannot add query parameters.
    let uri = enrolment(&secret(), "Gatehouse", "x&secret=AAAA?digits=8").unwrap();
    assert_eq!(uri.matches("&secret=").count(), 0);
    assert_eq!(uri.matches("digits=").count(), 1);
}

#[test]
fn generated_secrets_are_160_bits_and_never_printed() {
    // proves: ID-4 (fresh random secrets, out of Debug)
    let mut rng = StdRng::seed_from_u64(9);
    let a = TotpSecret::generate(&mut rng);
    let b = TotpSecret::generate(&mut rng);
    assert_eq!(a.as_bytes().len(), 20);
    assert_ne!(a.as_bytes(), b.as_bytes());
    let shown = format!("{a:?}");
    assert!(
        !shown.contains(&a.to_base32()) && !shown.contains('['),
        "{shown}"
    );
    assert!(TotpSecret::from_bytes(&[0u8; 15]).is_err());
    assert!(TotpSecret::from_bytes(&[0u8; 65]).is_err());
}

fn is_recovery_symbol(c: char) -> bool {
    c.is_ascii_digit() || (c.is_ascii_lowercase() && !matches!(c, 'i' | 'l' | 'o' | 'u'))
}

#[test]
fn recovery_codes_are_distinct_and_shaped() {
    // proves: ID-8 (ten codes of 50 bits, xxxxx-xxxxx, no ambiguous letters)
    let mut rng = StdRng::seed_from_u64(10);
    let key = CodeKey::from_bytes([5u8; 32]);
    let (shown, stored) = issue_recovery(&key, &mut rng);
    assert_eq!(shown.len(), RECOVERY_CODES);
    assert_eq!(stored.len(), RECOVERY_CODES);
    assert_eq!(shown.iter().collect::<HashSet<_>>().len(), RECOVERY_CODES);
    assert_eq!(stored.iter().collect::<HashSet<_>>().len(), RECOVERY_CODES);
    for code in &shown {
        let (head, tail) = code.split_once('-').unwrap();
        assert_eq!((head.len(), tail.len()), (5, 5), "{code}");
        assert!(
            head.chars().chain(tail.chars()).all(is_recovery_symbol),
            "{code}"
        );
    }
}

#[test]
fn recovery_codes_are_single_use_by_index() {
    // proves: ID-8 (each recovery code works once; input case and dash free)
    let mut rng = StdRng::seed_from_u64(11);
    let key = CodeKey::from_bytes([5u8; 32]);
    let (shown, mut stored) = issue_recovery(&key, &mut rng);
    for (index, code) in shown.iter().enumerate() {
        assert_eq!(check_recovery(&key, &stored, code), Some(index));
    }
    let typed = shown[3].to_uppercase().replace('-', "");
    assert_eq!(check_recovery(&key, &stored, &typed), Some(3));
    let spaced = shown[4].replace('-', " ");
    assert_eq!(check_recovery(&key, &stored, &spaced), Some(4));
    stored.remove(3);
    assert_eq!(check_recovery(&key, &stored, &shown[3]), None);
    assert_eq!(check_recovery(&key, &stored, &shown[4]), Some(3));
    // Wrong, malformed, or under another key: nothing.
    let other = CodeKey::from_bytes([6u8; 32]);
    assert_eq!(check_recovery(&other, &stored, &shown[0]), None);
    for bad in [
        "",
        "00000-00000",
        "uuuuu-uuuuu",
        &shown[0][..10],
        &"a".repeat(4096),
    ] {
        assert_eq!(check_recovery(&key, &stored, bad), None, "{bad:?}");
    }
}
