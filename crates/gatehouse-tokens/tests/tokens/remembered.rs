//! A verifier remembers the tokens it verified (their exact bytes), so that a
//! token presented again skips the signature. What must not change: every check
//! that depends on the time or on the key set still runs, a token that differs
//! by one byte is verified afresh, a refusal is never remembered, and what is
//! remembered stays bounded.

use gatehouse_tokens::access::{Rejection, VERIFIED_CACHE_ENTRIES};
use gatehouse_tokens::KeyAlgorithm;

use super::*;

#[test]
fn a_token_seen_before_still_expires_and_still_meets_its_keys_end() {
    // proves: TK-3
    let (pair, verifier) = setup(KeyAlgorithm::EdDsa, 70);
    let token = pair.signer().unwrap().issue(&claims()).unwrap();
    assert!(verifier.verify(&token, NOW).is_ok());
    assert_eq!(verifier.remembered(), 1);
    let exp = claims().exp;
    assert_eq!(verifier.verify(&token, exp + 30), Err(Rejection::Expired));

    let mut overlap = Verifier::new(ISSUER, AUDIENCE, 30);
    overlap.add_key(pair.public(), Some(NOW + 10)).unwrap();
    assert!(overlap.verify(&token, NOW).is_ok());
    assert_eq!(overlap.verify(&token, NOW + 10), Err(Rejection::KeyRetired));
}

#[test]
fn a_token_one_byte_away_from_one_seen_is_verified_afresh() {
    // proves: TK-3
    let (pair, verifier) = setup(KeyAlgorithm::EdDsa, 71);
    let token = pair.signer().unwrap().issue(&claims()).unwrap();
    assert!(verifier.verify(&token, NOW).is_ok());
    // The signature's last character changed.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'Q' } else { 'A' });
    assert_eq!(verifier.verify(&forged, NOW), Err(Rejection::Signature));
    // The claims changed, the signature kept.
    let (head, _, sig) = split(&token);
    let mut raised = claims();
    raised.scope = "audit:read policies:write".into();
    let body = serde_json::to_vec(&raised).unwrap();
    let header = serde_json::to_vec(&head).unwrap();
    let tampered = format!("{}.{}.{}", b64(&header), b64(&body), sig);
    assert_eq!(verifier.verify(&tampered, NOW), Err(Rejection::Signature));
    assert_eq!(verifier.remembered(), 1);
}

#[test]
fn a_refusal_is_never_remembered() {
    // proves: TK-3
    let (pair, verifier) = setup(KeyAlgorithm::EdDsa, 72);
    let token = pair.signer().unwrap().issue(&claims()).unwrap();
    // Not yet valid a minute early (skew 30 s), then valid.
    assert_eq!(
        verifier.verify(&token, NOW - 60),
        Err(Rejection::NotYetValid)
    );
    assert_eq!(verifier.remembered(), 0);
    assert!(verifier.verify(&token, NOW).is_ok());
    // Another key's token is refused every time, never remembered.
    let (other, _) = setup(KeyAlgorithm::EdDsa, 73);
    let stranger = other.signer().unwrap().issue(&claims()).unwrap();
    for _ in 0..2 {
        assert_eq!(verifier.verify(&stranger, NOW), Err(Rejection::UnknownKey));
    }
    assert_eq!(verifier.remembered(), 1);
}

#[test]
fn what_it_remembers_stays_bounded() {
    // proves: TK-7
    let (pair, verifier) = setup(KeyAlgorithm::EdDsa, 74);
    let signer = pair.signer().unwrap();
    for i in 0..VERIFIED_CACHE_ENTRIES + 10 {
        let mut c = claims();
        c.jti = format!("jti-{i}");
        let token = signer.issue(&c).unwrap();
        assert!(verifier.verify(&token, NOW).is_ok());
        assert!(verifier.remembered() <= VERIFIED_CACHE_ENTRIES);
    }
}
