//! OpenID Connect ID tokens (Core §2): signed by the same keys as access
//! tokens, with `typ` `JWT` so one never passes for the other (the access
//! verifier takes `at+jwt` only). They say who signed in, when, how (`amr`,
//! RFC 8176, and `acr`), for which client (`aud`, `azp`) and in answer to
//! which request (`nonce`). They are for the client to read, never a bearer
//! credential here.

use serde::{Deserialize, Serialize};

use crate::access::Signer;
use crate::TokensError;

/// The `typ` of an ID token.
pub const ID_TOKEN_TYPE: &str = "JWT";
/// `acr` of a sign-in with one factor.
pub const ACR_ONE_FACTOR: &str = "urn:gatehouse:acr:1fa";
/// `acr` of a sign-in with two factors or more.
pub const ACR_TWO_FACTORS: &str = "urn:gatehouse:acr:2fa";

/// The `acr` a sign-in with these `amr` values reaches.
pub fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == "mfa") {
        ACR_TWO_FACTORS
    } else {
        ACR_ONE_FACTOR
    }
}

/// An ID token's claims: the registered ones, and the person's, each only
/// when its scope was granted (Core §5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub azp: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub amr: Vec<String>,
    pub acr: String,
    /// The session (OpenID Connect Front-Channel Logout's `sid`).
    pub sid: String,
    #[serde(flatten)]
    pub person: PersonClaims,
}

/// What an ID token and `/oauth2/userinfo` say of the person, by scope:
/// `profile` (name, type), `email`, `phone`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The person's Gatehouse user type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_verified: Option<bool>,
}

impl Signer {
    /// The signed ID token: header `{"alg", "typ": "JWT", "kid"}`.
    pub fn issue_id_token(&self, claims: &IdClaims) -> Result<String, TokensError> {
        self.sign(ID_TOKEN_TYPE, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Verifier;
    use crate::keys::{KeyAlgorithm, KeyPair};

    fn claims() -> IdClaims {
        IdClaims {
            iss: "https://gh".into(),
            sub: "u1".into(),
            aud: "gatehouse".into(),
            azp: "gatehouse".into(),
            exp: 2_000,
            iat: 1_000,
            auth_time: 990,
            nonce: Some("n".into()),
            amr: vec!["pwd".into(), "otp".into(), "mfa".into()],
            acr: ACR_TWO_FACTORS.into(),
            sid: "s1".into(),
            person: PersonClaims {
                name: Some("Ada".into()),
                ..PersonClaims::default()
            },
        }
    }

    // proves: TK-6 (an ID token never passes as an access token, even for the
    // audience the access verifier expects)
    #[test]
    fn an_id_token_is_typed_jwt_and_refused_as_an_access_token() {
        let pair = KeyPair::generate(KeyAlgorithm::EdDsa, &mut rand::rngs::OsRng).unwrap();
        let signer = pair.signer().unwrap();
        let token = signer.issue_id_token(&claims()).unwrap();
        let header = token.split('.').next().unwrap();
        let header =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
                .unwrap();
        let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["typ"], "JWT");
        let mut verifier = Verifier::new("https://gh", "gatehouse", 30);
        verifier.add_key(pair.public(), None).unwrap();
        assert!(verifier.verify(&token, 1_500).is_err());
    }

    #[test]
    fn two_factors_reach_the_second_level_and_one_does_not() {
        assert_eq!(
            acr_of(&["pwd".into(), "sms".into(), "mfa".into()]),
            ACR_TWO_FACTORS
        );
        assert_eq!(acr_of(&["sms".into()]), ACR_ONE_FACTOR);
    }
}
