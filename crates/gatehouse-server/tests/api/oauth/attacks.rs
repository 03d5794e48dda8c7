//! RFC 8725's attacks and SWR-004's failure modes on a private route: every
//! forged, altered, expired or revoked access token gets the same `401
//! invalid_token`, and the record says which check refused it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::ErrorCode;
use serde_json::{json, Value};

use super::{access_token, call, claims, current_key, record_of, register};
use crate::assert_error;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn with(mut base: Value, changes: Value) -> String {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base.to_string()
}

// proves: TK-3
async fn every_attack_gets_the_same_401_and_the_record_names_the_check(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "auditor", &["audit:read"]).await;
    let good = access_token(&server, &client).await;
    assert_eq!(call(&server, &good).await.status(), 200);
    let key = current_key(&server).await;
    let kid = key.kid().to_owned();
    let alg = key.algorithm().as_str();
    let header = |extra: Value| with(json!({"alg": alg, "typ": "at+jwt", "kid": kid}), extra);
    let base = claims(&server, &client.id);
    let body = base.to_string();
    let signed = |h: String, c: String| key.sign_compact(&h, &c).unwrap();
    let good_sig = good.rsplit('.').next().unwrap().to_owned();
    let none = json!({"alg": "none", "typ": "at+jwt", "kid": kid}).to_string();
    let public_jwk = serde_json::to_vec(key.public()).unwrap();
    let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid}).to_string();
    let hs_message = format!("{}.{}", b64(hs_header.as_bytes()), b64(body.as_bytes()));
    let hs_sig = {
        use hmac_sign::sign;
        sign(&public_jwk, hs_message.as_bytes())
    };
    let now = base["iat"].as_i64().unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none, unsigned",
            format!("{}.{}.", b64(none.as_bytes()), b64(body.as_bytes())),
            "algorithm_mismatch",
        ),
        (
            "alg none, signed",
            format!(
                "{}.{}.{good_sig}",
                b64(none.as_bytes()),
                b64(body.as_bytes())
            ),
            "algorithm_mismatch",
        ),
        (
            "HS256 keyed with the public key",
            format!("{hs_message}.{hs_sig}"),
            "algorithm_mismatch",
        ),
        (
            "signature of zeros",
            format!("{}.{}", good.rsplit_once('.').unwrap().0, b64(&[0; 64])),
            "bad_signature",
        ),
        (
            "unknown kid",
            signed(header(json!({"kid": "no-such-key"})), body.clone()),
            "unknown_key",
        ),
        (
            "kid as a path",
            signed(
                header(json!({"kid": "../../../../etc/passwd"})),
                body.clone(),
            ),
            "unknown_key",
        ),
        (
            "kid as SQL",
            signed(header(json!({"kid": "' OR 1=1 --"})), body.clone()),
            "unknown_key",
        ),
        (
            "jku",
            signed(
                header(json!({"jku": "https://attacker.test/jwks.json"})),
                body.clone(),
            ),
            "forbidden_header_member",
        ),
        (
            "x5u",
            signed(
                header(json!({"x5u": "https://attacker.test/cert.pem"})),
                body.clone(),
            ),
            "forbidden_header_member",
        ),
        (
            "embedded jwk",
            signed(header(json!({"jwk": key.public()})), body.clone()),
            "forbidden_header_member",
        ),
        (
            "x5c",
            signed(
                header(json!({"x5c": ["MIIBszCCAVmgAwIBAgIU"]})),
                body.clone(),
            ),
            "forbidden_header_member",
        ),
        (
            "crit",
            signed(header(json!({"crit": ["exp"]})), body.clone()),
            "forbidden_header_member",
        ),
        (
            "expired",
            signed(
                header(json!({})),
                with(
                    base.clone(),
                    json!({"iat": now - 400, "nbf": now - 400, "exp": now - 31}),
                ),
            ),
            "expired",
        ),
        (
            "nbf in the future",
            signed(
                header(json!({})),
                with(base.clone(), json!({"nbf": now + 120})),
            ),
            "not_yet_valid",
        ),
        (
            "wrong aud",
            signed(
                header(json!({})),
                with(base.clone(), json!({"aud": "another-api"})),
            ),
            "wrong_audience",
        ),
        (
            "wrong iss",
            signed(
                header(json!({})),
                with(base.clone(), json!({"iss": "https://attacker.test"})),
            ),
            "wrong_issuer",
        ),
        (
            "typ JWT (an ID token)",
            signed(header(json!({"typ": "JWT"})), body.clone()),
            "wrong_type",
        ),
        (
            "typ of a refresh token",
            signed(header(json!({"typ": "rt+jwt"})), body.clone()),
            "wrong_type",
        ),
        (
            "exp as a string",
            signed(
                header(json!({})),
                with(base.clone(), json!({"exp": (now + 300).to_string()})),
            ),
            "bad_claims",
        ),
        (
            "missing exp",
            signed(header(json!({})), with(base.clone(), json!({"exp": null}))),
            "bad_claims",
        ),
        (
            "a year long",
            signed(
                header(json!({})),
                with(base.clone(), json!({"exp": now + 366 * 86_400})),
            ),
            "bad_lifetime",
        ),
        (
            "duplicate exp",
            signed(
                header(json!({})),
                body.replacen('{', &format!("{{\"exp\":{},", now + 999_999), 1),
            ),
            "duplicate_member",
        ),
        (
            "subject not its client",
            signed(
                header(json!({})),
                with(base.clone(), json!({"sub": "someone-else"})),
            ),
            "bad_claims",
        ),
        (
            "an unknown role",
            signed(
                header(json!({})),
                with(base.clone(), json!({"role": "root"})),
            ),
            "bad_claims",
        ),
        (
            "over 4 KiB",
            format!("{good}{}", "A".repeat(5000)),
            "too_large",
        ),
        (
            "two parts",
            good.rsplit_once('.').unwrap().0.to_owned(),
            "malformed",
        ),
    ];
    let mut bodies = Vec::new();
    for (name, token, reason) in &cases {
        let response = call(&server, token).await;
        let record = record_of(&server, &response).await;
        let error = assert_error(response, 401, ErrorCode::InvalidToken).await;
        assert_eq!(
            record["details"]["rejected_because"].as_str(),
            Some(*reason),
            "{name}: {record}"
        );
        assert_eq!(record["outcome"], "denied", "{name}");
        bodies.push((error.code, error.message));
    }
    // Nothing in the answer tells one failure from another.
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // A 1 MiB token never reaches authentication: the listener's header cap
    // refuses it first.
    let huge = format!("{good}{}", "A".repeat(1 << 20));
    let refused = server
        .raw()
        .get(server.url("/v1/audit/events"))
        .bearer_auth(&huge)
        .send()
        .await;
    assert!(refused.map(|r| r.status().as_u16() >= 400).unwrap_or(true));
    // The good token still works: the cases broke what they claim to.
    assert_eq!(call(&server, &good).await.status(), 200);
}

/// HMAC-SHA256 for the key-confusion case, from the sha2 the server already uses.
mod hmac_sign {
    use sha2::{Digest, Sha256};

    pub fn sign(key: &[u8], message: &[u8]) -> String {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let h1 = Sha256::new()
            .chain_update(&inner)
            .chain_update(message)
            .finalize();
        let h2 = Sha256::new()
            .chain_update(&outer)
            .chain_update(h1)
            .finalize();
        super::b64(&h2)
    }
}

// proves: TK-3, TK-5
async fn revoked_and_expired_tokens_are_refused_as_any_other(db: Db) {
    let server = TestServer::start(db).await;
    let client = register(&server, "auditor", &["audit:read"]).await;
    let token = access_token(&server, &client).await;
    let revoke = server
        .raw()
        .post(server.url("/oauth2/revoke"))
        .header("authorization", super::basic(&client.id, &client.secret))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let response = call(&server, &token).await;
    let record = record_of(&server, &response).await;
    assert_error(response, 401, ErrorCode::InvalidToken).await;
    assert_eq!(record["details"]["rejected_because"], "revoked");
    // Expiry follows the server's clock, with 30 s of skew.
    let fresh = access_token(&server, &client).await;
    server.clock.advance(chrono::Duration::seconds(300 + 29));
    assert_eq!(call(&server, &fresh).await.status(), 200);
    server.clock.advance(chrono::Duration::seconds(1));
    let response = call(&server, &fresh).await;
    let record = record_of(&server, &response).await;
    assert_error(response, 401, ErrorCode::InvalidToken).await;
    assert_eq!(record["details"]["rejected_because"], "expired");
}

on_both_databases!(
    every_attack_gets_the_same_401_and_the_record_names_the_check,
    revoked_and_expired_tokens_are_refused_as_any_other,
);
