//! One-time codes sent by SMS or email (ID-8).

use gatehouse_identity::code::{
    check, issue, CodeCheck, CodeKey, Purpose, StoredCode, CODE_DIGITS, MAX_CHECKS,
    MAX_CODE_TTL_SECONDS,
};
use rand::rngs::StdRng;
use rand::SeedableRng;

const NOW: i64 = 1_700_000_000;
const FLOW: &str = "challenge-7f3a";

fn key() -> CodeKey {
    CodeKey::from_bytes([42u8; 32])
}

fn fresh(rng: &mut StdRng) -> (String, StoredCode) {
    let issued = issue(&key(), Purpose::SignIn, FLOW, NOW, 300, rng);
    let stored = issued.to_stored(Purpose::SignIn, FLOW);
    (issued.code, stored)
}

/// A code of the right shape that is not `code`.
fn other_than(code: &str) -> String {
    let last = code.as_bytes()[CODE_DIGITS - 1];
    let changed = if last == b'9' {
        '0'
    } else {
        char::from(last + 1)
    };
    format!("{}{changed}", &code[..CODE_DIGITS - 1])
}

#[test]
fn digits_are_uniform_and_leading_zeros_occur() {
    // proves: ID-8 (8 uniformly random digits: ≥ 20 bits, no modulo bias)
    let mut rng = StdRng::seed_from_u64(8);
    let key = key();
    let mut counts = [[0u32; 10]; CODE_DIGITS];
    let mut leading_zeros = 0;
    const N: u32 = 100_000;
    for _ in 0..N {
        let code = issue(&key, Purpose::SignIn, FLOW, NOW, 600, &mut rng).code;
        assert_eq!(code.len(), CODE_DIGITS);
        for (position, digit) in code.bytes().enumerate() {
            assert!(digit.is_ascii_digit());
            counts[position][usize::from(digit - b'0')] += 1;
        }
        leading_zeros += u32::from(code.starts_with('0'));
    }
    // Expected 10,000 each; σ ≈ 95, so ±600 is over 6σ.
    for position in counts {
        for count in position {
            assert!((9_400..=10_600).contains(&count), "{count}");
        }
    }
    assert!(leading_zeros > 9_000, "{leading_zeros}");
}

#[test]
fn the_right_code_is_accepted_once() {
    // proves: ID-8 (single use)
    let mut rng = StdRng::seed_from_u64(1);
    let (code, stored) = fresh(&mut rng);
    let (outcome, next) = check(&key(), &stored, &code, Purpose::SignIn, FLOW, NOW + 1);
    assert_eq!(outcome, CodeCheck::Accepted);
    assert!(next.is_consumed);
    let (again, unchanged) = check(&key(), &next, &code, Purpose::SignIn, FLOW, NOW + 2);
    assert_eq!(again, CodeCheck::Consumed);
    assert_eq!(unchanged, next);
}

#[test]
fn a_code_is_bound_to_its_purpose_and_flow() {
    // proves: ID-8 (a code sent for one flow or purpose finishes no other)
    let mut rng = StdRng::seed_from_u64(2);
    let (code, stored) = fresh(&mut rng);
    let (outcome, next) = check(
        &key(),
        &stored,
        &code,
        Purpose::SignIn,
        "challenge-other",
        NOW,
    );
    assert_eq!(outcome, CodeCheck::Wrong { checks_left: 4 });
    assert_eq!(next.checks, 1);
    let (outcome, _) = check(&key(), &stored, &code, Purpose::SecondFactor, FLOW, NOW);
    assert_eq!(outcome, CodeCheck::Wrong { checks_left: 4 });
    // The same record, with the purpose edited in storage, still fails: the
    // HMAC covers the purpose it was issued for.
    let edited = StoredCode {
        purpose: Purpose::ContactChange,
        ..stored.clone()
    };
    let (outcome, _) = check(&key(), &edited, &code, Purpose::ContactChange, FLOW, NOW);
    assert_eq!(outcome, CodeCheck::Wrong { checks_left: 4 });
    // Under another key nothing matches.
    let (outcome, _) = check(
        &CodeKey::from_bytes([1u8; 32]),
        &stored,
        &code,
        Purpose::SignIn,
        FLOW,
        NOW,
    );
    assert_eq!(outcome, CodeCheck::Wrong { checks_left: 4 });
}

#[test]
fn a_code_expires_at_its_deadline() {
    // proves: ID-8 (≤ 10 minutes, the boundary exclusive)
    let mut rng = StdRng::seed_from_u64(3);
    let (code, stored) = fresh(&mut rng);
    assert_eq!(stored.expires_at, NOW + 300);
    let (outcome, _) = check(&key(), &stored, &code, Purpose::SignIn, FLOW, NOW + 299);
    assert_eq!(outcome, CodeCheck::Accepted);
    let (outcome, next) = check(&key(), &stored, &code, Purpose::SignIn, FLOW, NOW + 300);
    assert_eq!(outcome, CodeCheck::Expired);
    assert_eq!(next, stored, "an expired check changes nothing");
}

#[test]
fn ttl_is_clamped_to_ten_minutes() {
    // proves: ID-8 (no code lives longer than 600 s, none is born expired)
    let mut rng = StdRng::seed_from_u64(4);
    let long = issue(&key(), Purpose::SignIn, FLOW, NOW, 86_400, &mut rng);
    assert_eq!(long.expires_at, NOW + MAX_CODE_TTL_SECONDS);
    let zero = issue(&key(), Purpose::SignIn, FLOW, NOW, 0, &mut rng);
    assert_eq!(zero.expires_at, NOW + 1);
    let negative = issue(&key(), Purpose::SignIn, FLOW, NOW, -50, &mut rng);
    assert_eq!(negative.expires_at, NOW + 1);
}

#[test]
fn five_wrong_answers_exhaust_the_code() {
    // proves: ID-8 (rate-limited: after 5 wrong tries even the right code fails)
    let mut rng = StdRng::seed_from_u64(5);
    let (code, mut stored) = fresh(&mut rng);
    let wrong = other_than(&code);
    for expected_left in (0..MAX_CHECKS).rev() {
        let (outcome, next) = check(&key(), &stored, &wrong, Purpose::SignIn, FLOW, NOW);
        assert_eq!(
            outcome,
            CodeCheck::Wrong {
                checks_left: expected_left
            }
        );
        stored = next;
    }
    assert_eq!(stored.checks, MAX_CHECKS);
    let (outcome, next) = check(&key(), &stored, &code, Purpose::SignIn, FLOW, NOW);
    assert_eq!(outcome, CodeCheck::Exhausted);
    assert!(!next.is_consumed);
    assert_eq!(next.checks, MAX_CHECKS);
}

#[test]
fn malformed_input_is_wrong_and_counts_a_try() {
    // proves: ID-8 (only 8 ASCII digits are read; junk still spends a try)
    let mut rng = StdRng::seed_from_u64(6);
    let (code, stored) = fresh(&mut rng);
    let full_width: String = code
        .chars()
        .map(|c| char::from_u32(u32::from(c) - 0x30 + 0xFF10).unwrap())
        .collect();
    let long = format!("{code}0");
    let huge = "1".repeat(1 << 16);
    for bad in [
        "",
        &code[..7],
        long.as_str(),
        full_width.as_str(),
        "１２３４５６７８",
        huge.as_str(),
        "abcdefgh",
    ] {
        let (outcome, next) = check(&key(), &stored, bad, Purpose::SignIn, FLOW, NOW);
        assert_eq!(outcome, CodeCheck::Wrong { checks_left: 4 }, "{bad:?}");
        assert_eq!(next.checks, 1);
    }
    let spaced = format!(
        "{} {}-{} {}",
        &code[..2],
        &code[2..4],
        &code[4..6],
        &code[6..]
    );
    let (outcome, _) = check(&key(), &stored, &spaced, Purpose::SignIn, FLOW, NOW);
    assert_eq!(outcome, CodeCheck::Accepted, "{spaced}");
}

#[test]
fn debug_never_shows_the_code_or_the_key() {
    // proves: ID-8 (secrets stay out of logs)
    let mut rng = StdRng::seed_from_u64(7);
    let key = CodeKey::from_bytes([0xAB; 32]);
    let issued = issue(&key, Purpose::SignIn, FLOW, NOW, 60, &mut rng);
    let shown = format!("{issued:?} {:?}", issued.to_stored(Purpose::SignIn, FLOW));
    assert!(!shown.contains(&issued.code), "{shown}");
    assert!(!shown.contains('['), "no byte list of the hash: {shown}");
    let shown = format!("{key:?}");
    assert!(
        !shown.contains("171") && !shown.to_lowercase().contains("ab"),
        "{shown}"
    );
}

#[test]
fn purposes_round_trip_through_their_names() {
    // proves: ID-8 (the stored purpose reads back as the one issued)
    for purpose in Purpose::ALL {
        assert_eq!(purpose.as_str().parse::<Purpose>().unwrap(), purpose);
    }
    assert!("SIGN_IN".parse::<Purpose>().is_err());
    assert!("".parse::<Purpose>().is_err());
}
