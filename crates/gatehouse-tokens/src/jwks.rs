//! Public keys as JSON Web Keys (RFC 7517), what `/.well-known/jwks.json`
//! publishes, and the RFC 7638 thumbprint each key's id is.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys::KeyAlgorithm;
use crate::TokensError;

/// One public signing key. Only the members of a public key exist here: a JWK
/// of this type cannot carry a private part (`d`, `p`, `q`, …) by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

/// The published set (RFC 7517 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// A public key of `algorithm` from its members, its `kid` the thumbprint.
    pub(crate) fn new(algorithm: KeyAlgorithm, members: PublicMembers) -> Jwk {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let mut jwk = match members {
            PublicMembers::Okp { x } => {
                Jwk::blank("OKP", Some("Ed25519"), algorithm).with(|j| j.x = Some(b64(&x)))
            }
            PublicMembers::Ec { x, y } => Jwk::blank("EC", Some("P-256"), algorithm).with(|j| {
                j.x = Some(b64(&x));
                j.y = Some(b64(&y));
            }),
            PublicMembers::Rsa { n, e } => Jwk::blank("RSA", None, algorithm).with(|j| {
                j.n = Some(b64(&n));
                j.e = Some(b64(&e));
            }),
        };
        jwk.kid = jwk.thumbprint();
        jwk
    }

    fn blank(kty: &str, crv: Option<&str>, algorithm: KeyAlgorithm) -> Jwk {
        Jwk {
            kty: kty.into(),
            crv: crv.map(Into::into),
            x: None,
            y: None,
            n: None,
            e: None,
            kid: String::new(),
            alg: algorithm.as_str().into(),
            key_use: "sig".into(),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Jwk)) -> Jwk {
        f(&mut self);
        self
    }

    /// RFC 7638: SHA-256 over the required members in lexicographic order, with
    /// no whitespace, base64url.
    pub fn thumbprint(&self) -> String {
        let s = |v: &Option<String>| {
            serde_json::to_string(v.as_deref().unwrap_or("")).unwrap_or_default()
        };
        let canonical = match self.kty.as_str() {
            "OKP" => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                s(&self.crv),
                s(&self.x)
            ),
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                s(&self.crv),
                s(&self.x),
                s(&self.y)
            ),
            _ => format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, s(&self.e), s(&self.n)),
        };
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The key jsonwebtoken verifies with, checked against the algorithm it is
    /// pinned to: an EdDSA key never verifies an RS256 or HS256 signature.
    pub(crate) fn decoding_key(&self) -> Result<(KeyAlgorithm, DecodingKey), TokensError> {
        let algorithm = KeyAlgorithm::parse(&self.alg)
            .ok_or_else(|| TokensError::Key(format!("unknown algorithm {}", self.alg)))?;
        let member = |m: &Option<String>, name: &str| {
            m.clone()
                .ok_or_else(|| TokensError::Key(format!("{} key without {name}", self.kty)))
        };
        let bad = |e: jsonwebtoken::errors::Error| TokensError::Key(e.to_string());
        let key = match (algorithm, self.kty.as_str(), self.crv.as_deref()) {
            (KeyAlgorithm::EdDsa, "OKP", Some("Ed25519")) => {
                DecodingKey::from_ed_components(&member(&self.x, "x")?).map_err(bad)?
            }
            (KeyAlgorithm::Es256, "EC", Some("P-256")) => {
                DecodingKey::from_ec_components(&member(&self.x, "x")?, &member(&self.y, "y")?)
                    .map_err(bad)?
            }
            (KeyAlgorithm::Rs256, "RSA", None) => {
                DecodingKey::from_rsa_components(&member(&self.n, "n")?, &member(&self.e, "e")?)
                    .map_err(bad)?
            }
            _ => {
                return Err(TokensError::Key(
                    "key type does not match its algorithm".into(),
                ))
            }
        };
        Ok((algorithm, key))
    }
}

/// The public half of a key pair, raw.
pub(crate) enum PublicMembers {
    Okp { x: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 §3.1's example key and its thumbprint.
        let jwk = Jwk {
            kty: "RSA".into(),
            crv: None,
            x: None,
            y: None,
            n: Some("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into()),
            e: Some("AQAB".into()),
            kid: String::new(),
            alg: "RS256".into(),
            key_use: "sig".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
