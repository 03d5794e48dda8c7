//! `make bench-tokens` (part 1): verifying an EdDSA access token (TK-7), side
//! by side in one run with a raw ed25519-dalek verify of the same bytes.
//!
//! - raw: `VerifyingKey::verify` of the token's signing input and signature,
//!   the key parsed once (the floor: the signature check alone);
//! - gatehouse: `Verifier::verify_uncached` on the token as it arrives the
//!   first time: size cap, split, base64url, header allow-list,
//!   duplicate-member walk, `kid` lookup, the algorithm pinned by the key, the
//!   signature through jsonwebtoken, typed claims, issuer, audience and time
//!   checks (the ratio's figure);
//! - seen again: `Verifier::verify` on a token it verified before (the key's
//!   end and the times checked again, the signature remembered).
//!
//! Rounds alternate the two so that both see the same machine. Environment:
//! `BENCH_VERIFIES` (default 20,000 per round), `BENCH_ROUNDS` (default 5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Verifier as _;
use gatehouse_tokens::{AccessClaims, KeyAlgorithm, KeyPair, SubjectKind, Verifier};
use rand::SeedableRng;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env("BENCH_VERIFIES", 20_000);
    let rounds = env("BENCH_ROUNDS", 5);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let pair = KeyPair::generate(KeyAlgorithm::EdDsa, &mut rng).unwrap();
    let now = 1_800_000_000;
    let claims = AccessClaims {
        iss: "https://gatehouse.example".into(),
        sub: "0190a5f4-0000-7000-8000-000000000001".into(),
        aud: "gatehouse".into(),
        exp: now + 300,
        nbf: now,
        iat: now,
        jti: "0190a5f4-0000-7000-8000-00000000abcd".into(),
        client_id: "0190a5f4-0000-7000-8000-000000000001".into(),
        scope: "audit:read audit:write decisions:write".into(),
        sub_kind: SubjectKind::Client,
        name: "reporting service".into(),
        role: Some("service".into()),
        sid: None,
        user_type: None,
    };
    let token = pair.signer().unwrap().issue(&claims).unwrap();
    let mut verifier = Verifier::new("https://gatehouse.example", "gatehouse", 30);
    verifier.add_key(pair.public(), None).unwrap();
    assert_eq!(verifier.verify(&token, now).unwrap(), claims);

    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature =
        ed25519_dalek::Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    let x = URL_SAFE_NO_PAD
        .decode(pair.public().x.as_deref().unwrap())
        .unwrap();
    let raw_key = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
    raw_key
        .verify(signing_input.as_bytes(), &signature)
        .unwrap();

    println!(
        "token: {} bytes, EdDSA; {n} verifications per round, {rounds} rounds",
        token.len()
    );
    let (mut raw_total, mut ours_total) = (0f64, 0f64);
    for round in 1..=rounds {
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(
                raw_key.verify(std::hint::black_box(signing_input.as_bytes()), &signature),
            )
            .unwrap();
        }
        let raw = started.elapsed().as_nanos() as f64 / n as f64;
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(verifier.verify_uncached(std::hint::black_box(&token), now))
                .unwrap();
        }
        let ours = started.elapsed().as_nanos() as f64 / n as f64;
        let started = Instant::now();
        for _ in 0..n {
            std::hint::black_box(verifier.verify(std::hint::black_box(&token), now)).unwrap();
        }
        let again = started.elapsed().as_nanos() as f64 / n as f64;
        println!(
            "round {round}: raw ed25519-dalek {:>7.1} µs   gatehouse Verifier {:>7.1} µs   ratio {:.2}   seen again {:>5.2} µs",
            raw / 1000.0,
            ours / 1000.0,
            ours / raw,
            again / 1000.0
        );
        raw_total += raw;
        ours_total += ours;
    }
    println!(
        "mean:    raw ed25519-dalek {:>7.1} µs   gatehouse Verifier {:>7.1} µs   ratio {:.2} (target ≤ 1.30)",
        raw_total / rounds as f64 / 1000.0,
        ours_total / rounds as f64 / 1000.0,
        ours_total / raw_total
    );
}
