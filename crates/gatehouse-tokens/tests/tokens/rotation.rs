//! Key overlap (TK-2): a token signed by the previous key verifies until its end;
//! a retired key's tokens stop verifying.

use gatehouse_tokens::access::Rejection;
use gatehouse_tokens::seal::{open, seal};
use gatehouse_tokens::{Kek, KeyAlgorithm};

use super::*;

#[test]
fn a_previous_keys_tokens_verify_until_its_overlap_ends_then_never() {
    // proves: TK-2
    let mut r = rng(50);
    let old = KeyPair::generate(KeyAlgorithm::EdDsa, &mut r).unwrap();
    let new = KeyPair::generate(KeyAlgorithm::EdDsa, &mut r).unwrap();
    let old_token = old.signer().unwrap().issue(&claims()).unwrap();
    let new_token = new.signer().unwrap().issue(&claims()).unwrap();
    // Rotated at NOW + 10: old verifies until NOW + 10 + 330.
    let mut after = Verifier::new(ISSUER, AUDIENCE, 30);
    after.add_key(old.public(), Some(NOW + 340)).unwrap();
    after.add_key(new.public(), None).unwrap();
    assert!(after.verify(&old_token, NOW + 20).is_ok());
    assert!(after.verify(&new_token, NOW + 20).is_ok());
    assert_eq!(
        after.verify(&old_token, NOW + 340),
        Err(Rejection::KeyRetired)
    );
    // Retired: no longer in the set at all.
    let mut retired = Verifier::new(ISSUER, AUDIENCE, 30);
    retired.add_key(new.public(), None).unwrap();
    assert_eq!(
        retired.verify(&old_token, NOW + 20),
        Err(Rejection::UnknownKey)
    );
}

#[test]
fn a_key_sealed_and_opened_again_signs_tokens_the_old_public_half_verifies() {
    // proves: TK-2
    let mut r = rng(51);
    let kek = Kek::generate(&mut r);
    for algorithm in KeyAlgorithm::ALL {
        let pair = KeyPair::generate(algorithm, &mut r).unwrap();
        let sealed = seal(&kek, pair.kid(), pair.private_der(), &mut r).unwrap();
        let opened = open(&kek, pair.kid(), &sealed).unwrap();
        let again = KeyPair::from_parts(pair.public().clone(), opened).unwrap();
        let token = again.signer().unwrap().issue(&claims()).unwrap();
        let mut v = Verifier::new(ISSUER, AUDIENCE, 0);
        v.add_key(pair.public(), None).unwrap();
        assert!(v.verify(&token, NOW).is_ok(), "{algorithm:?}");
    }
}
