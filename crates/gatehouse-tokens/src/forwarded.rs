//! The identity the gateway hands an upstream (GW-10): a short-lived JWT
//! signed by the server's keys (the same JWKS), naming the caller the gateway
//! verified, the route it was let through and the request. Its `typ` is its
//! own, so it is never accepted as an access token (the access verifier
//! takes `at+jwt` only) and an upstream can tell it came through the gateway.

use serde::{Deserialize, Serialize};

use crate::access::Signer;
use crate::TokensError;

/// The `typ` of a forwarded identity.
pub const FORWARDED_IDENTITY_TYPE: &str = "gatehouse-identity+jwt";
/// How long a forwarded identity is good for, in seconds.
pub const FORWARDED_IDENTITY_TTL: i64 = 60;

/// The claims of a forwarded identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedIdentity {
    pub iss: String,
    /// The caller: a user's, client's or API token's id.
    pub sub: String,
    /// `user`, `client` or `api_token`.
    pub sub_kind: String,
    /// `gatehouse-route:<route>`: the upstream checks it is its own.
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// The request's id (also its `X-Request-Id`).
    pub jti: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
}

impl Signer {
    /// The signed forwarded identity: header `{"alg", "typ": "gatehouse-identity+jwt", "kid"}`.
    pub fn issue_forwarded_identity(
        &self,
        claims: &ForwardedIdentity,
    ) -> Result<String, TokensError> {
        self.sign(FORWARDED_IDENTITY_TYPE, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Verifier;
    use crate::keys::{KeyAlgorithm, KeyPair};

    // proves: GW-10 (the upstream's identity is signed, and is no access token)
    #[test]
    fn a_forwarded_identity_is_signed_and_never_passes_for_an_access_token() {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa, &mut rand::rngs::OsRng).unwrap();
        let signer = pair.signer().unwrap();
        let claims = ForwardedIdentity {
            iss: "https://gh".into(),
            sub: "u1".into(),
            sub_kind: "user".into(),
            aud: "gatehouse-route:records".into(),
            iat: 1_000,
            exp: 1_060,
            jti: "req-1".into(),
            name: "Ada".into(),
            role: Some("user".into()),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            auth_time: Some(990),
            scope: vec![],
        };
        let token = signer.issue_forwarded_identity(&claims).unwrap();
        let header = token.split('.').next().unwrap();
        let header =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["typ"], FORWARDED_IDENTITY_TYPE);
        assert_eq!(header["kid"], pair.kid());
        let mut verifier = Verifier::new("https://gh", "gatehouse-route:records", 30);
        verifier.add_key(pair.public(), None).unwrap();
        assert!(verifier.verify(&token, 1_010).is_err());
    }

    // proves: TK-1 (Ed25519 tokens signed with the key expanded once are the
    // very bytes jsonwebtoken writes, and verify as before)
    #[test]
    fn ed25519_tokens_are_the_bytes_jsonwebtoken_writes() {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa, &mut rand::rngs::OsRng).unwrap();
        let signer = pair.signer().unwrap();
        for n in 0..20 {
            let claims = ForwardedIdentity {
                iss: "https://gh".into(),
                sub: format!("u{n}"),
                sub_kind: "client".into(),
                aud: "gatehouse-route:records".into(),
                iat: 1_000 + n,
                exp: 1_060 + n,
                jti: format!("req-{n}"),
                name: "Zoë \"Ng\" <ops>".into(),
                role: None,
                amr: vec![],
                auth_time: None,
                scope: vec!["a".into(), "b".into()],
            };
            let fast = signer.issue_forwarded_identity(&claims).unwrap();
            let reference = signer
                .sign_reference(FORWARDED_IDENTITY_TYPE, &claims)
                .unwrap();
            assert_eq!(fast, reference);
        }
        // An ES256 signer never takes the Ed25519 path.
        let es = KeyPair::generate(KeyAlgorithm::Es256, &mut rand::rngs::OsRng).unwrap();
        assert!(es.ed25519_key().is_none());
    }
}
