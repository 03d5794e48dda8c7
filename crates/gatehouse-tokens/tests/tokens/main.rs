//! gatehouse-tokens' integration tests: the attacks of RFC 8725 and SWR-004 on
//! the verifier, one case per row, each refused with the reason it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attacks;
mod remembered;
mod rotation;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_tokens::{AccessClaims, KeyAlgorithm, KeyPair, SubjectKind, Verifier};
use rand::SeedableRng;

pub const ISSUER: &str = "https://gatehouse.test";
pub const AUDIENCE: &str = "gatehouse";
pub const NOW: i64 = 1_800_000_000;

pub fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

pub fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: "client-1".into(),
        aud: AUDIENCE.into(),
        exp: NOW + 300,
        nbf: NOW,
        iat: NOW,
        jti: "jti-1".into(),
        client_id: "client-1".into(),
        scope: "audit:read".into(),
        sub_kind: SubjectKind::Client,
        name: "reporting".into(),
        role: Some("service".into()),
        sid: None,
        user_type: None,
    }
}

/// A key and a verifier trusting it alone, 30 s of skew.
pub fn setup(algorithm: KeyAlgorithm, seed: u64) -> (KeyPair, Verifier) {
    let pair = KeyPair::generate(algorithm, &mut rng(seed)).unwrap();
    let mut verifier = Verifier::new(ISSUER, AUDIENCE, 30);
    verifier.add_key(pair.public(), None).unwrap();
    (pair, verifier)
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token's three parts, decoded where they are JSON.
pub fn split(token: &str) -> (serde_json::Value, serde_json::Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    let json = |p: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    (json(parts[0]), json(parts[1]), parts[2].to_owned())
}
