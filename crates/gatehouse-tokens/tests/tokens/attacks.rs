//! RFC 8725's attack table and SWR-004's failure modes, against the verifier.

use gatehouse_tokens::access::{Rejection, MAX_TOKEN_BYTES};
use gatehouse_tokens::KeyAlgorithm;
use serde_json::json;

use super::*;

/// Signs `header` and `payload` (raw JSON text) with `pair` as jsonwebtoken
/// would, but with whatever header the attacker chose.
fn forge(pair: &KeyPair, header: &str, payload: &str) -> String {
    let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let encoding = match pair.algorithm() {
        KeyAlgorithm::EdDsa => jsonwebtoken::EncodingKey::from_ed_der(pair.private_der()),
        KeyAlgorithm::Es256 => jsonwebtoken::EncodingKey::from_ec_der(pair.private_der()),
        KeyAlgorithm::Rs256 => jsonwebtoken::EncodingKey::from_rsa_der(pair.private_der()),
    };
    let alg = match pair.algorithm() {
        KeyAlgorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        KeyAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
        KeyAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
    };
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &encoding, alg).unwrap();
    format!("{message}.{signature}")
}

fn header(pair: &KeyPair, extra: serde_json::Value) -> String {
    let mut h = json!({"alg": pair.algorithm().as_str(), "typ": "at+jwt", "kid": pair.kid()});
    for (k, v) in extra.as_object().unwrap() {
        h[k] = v.clone();
    }
    h.to_string()
}

fn payload(changes: serde_json::Value) -> String {
    let mut c = serde_json::to_value(claims()).unwrap();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c.to_string()
}

#[test]
fn a_token_of_every_algorithm_verifies_and_says_what_it_was_issued_with() {
    // proves: TK-1, TK-3
    for (i, algorithm) in KeyAlgorithm::ALL.into_iter().enumerate() {
        let (pair, verifier) = setup(algorithm, 10 + i as u64);
        let token = pair.signer().unwrap().issue(&claims()).unwrap();
        assert_eq!(verifier.verify(&token, NOW + 1).unwrap(), claims());
        let (h, c, _) = split(&token);
        // Exactly these header members, nothing an attacker could point elsewhere with.
        assert_eq!(
            h,
            json!({"alg": algorithm.as_str(), "typ": "at+jwt", "kid": pair.kid()})
        );
        for claim in [
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "jti",
            "client_id",
            "scope",
        ] {
            assert!(c.get(claim).is_some(), "{claim}");
        }
    }
}

#[test]
fn rfc_8725_attacks_are_refused_each_for_its_reason() {
    // proves: TK-3
    let (pair, verifier) = setup(KeyAlgorithm::EdDsa, 20);
    let good = pair.signer().unwrap().issue(&claims()).unwrap();
    let (_, _, good_sig) = split(&good);
    let body = payload(json!({}));
    let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": pair.kid()}).to_string();
    let unsigned = format!("{}.{}.", b64(none_header.as_bytes()), b64(body.as_bytes()));
    let none_signed = format!(
        "{}.{}.{}",
        b64(none_header.as_bytes()),
        b64(body.as_bytes()),
        good_sig
    );
    // HS256 keyed with the public key's bytes (the classic confusion).
    let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": pair.kid()}).to_string();
    let hs_message = format!("{}.{}", b64(hs_header.as_bytes()), b64(body.as_bytes()));
    let public_bytes = serde_json::to_vec(pair.public()).unwrap();
    let hs_sig = jsonwebtoken::crypto::sign(
        hs_message.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(&public_bytes).unwrap(),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    let hs = format!("{hs_message}.{hs_sig}");
    let cases: Vec<(&str, String, Rejection)> = vec![
        ("alg none, no signature", unsigned, Rejection::Algorithm),
        (
            "alg none, with a signature",
            none_signed,
            Rejection::Algorithm,
        ),
        ("HS256 keyed with the public key", hs, Rejection::Algorithm),
        (
            "unknown kid",
            forge(
                &pair,
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "nope"}).to_string(),
                &body,
            ),
            Rejection::UnknownKey,
        ),
        (
            "kid as a path",
            forge(
                &pair,
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "../../../dev/null"}).to_string(),
                &body,
            ),
            Rejection::UnknownKey,
        ),
        (
            "kid as SQL",
            forge(
                &pair,
                &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "x' OR '1'='1"}).to_string(),
                &body,
            ),
            Rejection::UnknownKey,
        ),
        (
            "jku",
            forge(
                &pair,
                &header(&pair, json!({"jku": "https://evil.test/jwks"})),
                &body,
            ),
            Rejection::HeaderMember,
        ),
        (
            "x5u",
            forge(
                &pair,
                &header(&pair, json!({"x5u": "https://evil.test/cert"})),
                &body,
            ),
            Rejection::HeaderMember,
        ),
        (
            "embedded jwk",
            forge(&pair, &header(&pair, json!({"jwk": pair.public()})), &body),
            Rejection::HeaderMember,
        ),
        (
            "x5c",
            forge(&pair, &header(&pair, json!({"x5c": ["MIIB"]})), &body),
            Rejection::HeaderMember,
        ),
        (
            "crit",
            forge(
                &pair,
                &header(&pair, json!({"crit": ["exp"], "exp": 1})),
                &body,
            ),
            Rejection::HeaderMember,
        ),
        (
            "expired",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"exp": NOW - 31, "iat": NOW - 331, "nbf": NOW - 331})),
            ),
            Rejection::Expired,
        ),
        (
            "nbf in the future",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"nbf": NOW + 32})),
            ),
            Rejection::NotYetValid,
        ),
        (
            "iat in the future",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"iat": NOW + 120, "nbf": NOW + 120, "exp": NOW + 400})),
            ),
            Rejection::NotYetValid,
        ),
        (
            "wrong aud",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"aud": "another-api"})),
            ),
            Rejection::Audience,
        ),
        (
            "aud as a list",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"aud": ["gatehouse", "x"]})),
            ),
            Rejection::Claims,
        ),
        (
            "wrong iss",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"iss": "https://evil.test"})),
            ),
            Rejection::Issuer,
        ),
        (
            "typ JWT (an ID token)",
            forge(&pair, &header(&pair, json!({"typ": "JWT"})), &body),
            Rejection::Type,
        ),
        (
            "typ refresh",
            forge(&pair, &header(&pair, json!({"typ": "rt+jwt"})), &body),
            Rejection::Type,
        ),
        (
            "no typ",
            forge(
                &pair,
                &json!({"alg": "EdDSA", "kid": pair.kid()}).to_string(),
                &body,
            ),
            Rejection::Malformed,
        ),
        (
            "exp as a string",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"exp": (NOW + 300).to_string()})),
            ),
            Rejection::Claims,
        ),
        (
            "exp as a float",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"exp": (NOW + 300) as f64 + 0.5})),
            ),
            Rejection::Claims,
        ),
        (
            "missing exp",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"exp": null})),
            ),
            Rejection::Claims,
        ),
        (
            "missing jti",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"jti": null})),
            ),
            Rejection::Claims,
        ),
        (
            "a year long",
            forge(
                &pair,
                &header(&pair, json!({})),
                &payload(json!({"exp": NOW + 365 * 86_400})),
            ),
            Rejection::Lifetime,
        ),
        (
            "duplicate exp in the claims",
            forge(
                &pair,
                &header(&pair, json!({})),
                &body.replacen('{', &format!("{{\"exp\":{},", NOW + 999_999), 1),
            ),
            Rejection::DuplicateMember,
        ),
        (
            "duplicate alg in the header",
            forge(
                &pair,
                &format!(
                    r#"{{"alg":"none","alg":"EdDSA","typ":"at+jwt","kid":"{}"}}"#,
                    pair.kid()
                ),
                &body,
            ),
            Rejection::DuplicateMember,
        ),
        (
            "a 1 MiB token",
            format!("{}.{}", good, "A".repeat(1 << 20)),
            Rejection::TooLarge,
        ),
        (
            "just over the cap",
            "a".repeat(MAX_TOKEN_BYTES + 1),
            Rejection::TooLarge,
        ),
        (
            "two parts",
            good.rsplit_once('.').unwrap().0.to_owned(),
            Rejection::Malformed,
        ),
        ("four parts", format!("{good}.x"), Rejection::Malformed),
        (
            "padding in base64",
            good.replacen('.', "=.", 1),
            Rejection::Malformed,
        ),
        (
            "not base64",
            format!("***.{}", good.split_once('.').unwrap().1),
            Rejection::Malformed,
        ),
        ("empty", String::new(), Rejection::Malformed),
        (
            "claims altered after signing",
            {
                let (h, _, sig) = (good.split('.').next().unwrap(), (), good_sig.clone());
                format!(
                    "{h}.{}.{sig}",
                    b64(payload(json!({"scope": "keys:write"})).as_bytes())
                )
            },
            Rejection::Signature,
        ),
        (
            "signature of zeros",
            {
                let mut parts: Vec<&str> = good.split('.').collect();
                let zeros = b64(&[0u8; 64]);
                parts[2] = &zeros;
                parts.join(".")
            },
            Rejection::Signature,
        ),
    ];
    for (name, token, expected) in cases {
        assert_eq!(verifier.verify(&token, NOW + 1), Err(expected), "{name}");
    }
    // The untouched token still verifies (the cases broke what they claim to).
    assert!(verifier.verify(&good, NOW + 1).is_ok());
}

#[test]
fn an_es256_signature_of_zeros_is_refused() {
    // proves: TK-3 — CVE-2022-21449 ("psychic signatures"): r = s = 0.
    let (pair, verifier) = setup(KeyAlgorithm::Es256, 30);
    let good = pair.signer().unwrap().issue(&claims()).unwrap();
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = b64(&[0u8; 64]);
    assert_eq!(
        verifier.verify(&parts.join("."), NOW + 1),
        Err(Rejection::Signature)
    );
    // And a key of one algorithm never verifies a token signed as another.
    let (rsa, _) = setup(KeyAlgorithm::Rs256, 31);
    let forged = forge(
        &rsa,
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": pair.kid()}).to_string(),
        &payload(json!({})),
    );
    assert_eq!(verifier.verify(&forged, NOW + 1), Err(Rejection::Algorithm));
}

#[test]
fn the_skew_is_bounded_and_applies_both_ways() {
    // proves: TK-3
    let (pair, _) = setup(KeyAlgorithm::EdDsa, 40);
    let token = pair.signer().unwrap().issue(&claims()).unwrap();
    let mut lax = Verifier::new(ISSUER, AUDIENCE, 3600);
    lax.add_key(pair.public(), None).unwrap();
    // A skew of an hour is clamped to 60 s.
    assert!(lax.verify(&token, NOW + 300 + 59).is_ok());
    assert_eq!(lax.verify(&token, NOW + 300 + 60), Err(Rejection::Expired));
    assert!(lax.verify(&token, NOW - 60).is_ok());
    assert_eq!(lax.verify(&token, NOW - 61), Err(Rejection::NotYetValid));
}
