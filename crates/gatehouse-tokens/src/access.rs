//! Access tokens (TK-1, TK-3): JWTs of type `at+jwt` (RFC 9068), signed by the
//! current key, verified against Gatehouse's own key set only.
//!
//! jsonwebtoken checks the signature, with the algorithm the key found by `kid`
//! is pinned to (it refuses a key of another family, so no `none`, and no HMAC
//! keyed with a public key). Everything it leaves to its caller is checked here,
//! with the time passed in: the size, the exact header members (`jku`, `x5u`,
//! `jwk`, `x5c`, `crit` and anything else are refused, never followed), `typ`,
//! names repeated in the JSON, the claims' types, issuer, audience, `exp`/`nbf`/
//! `iat` with a bounded skew, and the key's own end of verification.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::jwks::Jwk;
use crate::keys::{KeyAlgorithm, KeyPair};
use crate::TokensError;

/// The `typ` of an access token (RFC 9068 §2.1). ID tokens (`JWT`) and refresh
/// tokens are never this, so neither passes as an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// A token longer than this is refused before anything is decoded: ours are
/// under 1 KiB; the cap bounds what an anonymous caller makes the server parse.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// No access token lives longer than this, whatever it says.
pub const MAX_LIFETIME_SECONDS: i64 = 24 * 3600;
/// How many verified tokens a verifier remembers (see `Verifier::verify`).
/// Only tokens whose signature verified are kept, so an anonymous caller
/// cannot fill it; at ~1 KiB each this bounds it near 4 MiB.
pub const VERIFIED_CACHE_ENTRIES: usize = 4096;
/// The most skew a deployment may allow between clocks (RFC 8725 leaves it to
/// the verifier; more makes an expired token live on).
pub const MAX_SKEW_SECONDS: i64 = 60;

/// Who a token's subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectKind {
    /// An OAuth client acting for itself (client credentials).
    Client,
    /// A person, through a client.
    User,
}

/// An access token's claims: the registered ones, and what an access decision
/// needs about the subject without reading the database (TK-7). Nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    /// Space-separated scopes (RFC 6749 §3.3), within the client's.
    pub scope: String,
    pub sub_kind: SubjectKind,
    /// The subject's display name, for audit records.
    pub name: String,
    /// The subject's role, the Cedar group it is `in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A person's session (ID-9): ending it refuses every token it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// A person's user type (ID-3), the Cedar group they are also `in`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

/// Why a token was refused. The caller only ever sees one answer
/// (`invalid_token`); the audit record names this, for the security team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    TooLarge,
    Malformed,
    DuplicateMember,
    /// A header member other than `alg`, `typ` and `kid` (`jku`, `x5u`, `jwk`,
    /// `x5c`, `crit`, …).
    HeaderMember,
    Type,
    UnknownKey,
    /// `alg` is not the one the key is pinned to.
    Algorithm,
    Signature,
    /// A claim missing, of the wrong type, or empty.
    Claims,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
    /// `exp` before `iat`, or a lifetime past [`MAX_LIFETIME_SECONDS`].
    Lifetime,
    /// Signed by a key past the end of its overlap.
    KeyRetired,
    Revoked,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::DuplicateMember => "duplicate_member",
            Self::HeaderMember => "forbidden_header_member",
            Self::Type => "wrong_type",
            Self::UnknownKey => "unknown_key",
            Self::Algorithm => "algorithm_mismatch",
            Self::Signature => "bad_signature",
            Self::Claims => "bad_claims",
            Self::Issuer => "wrong_issuer",
            Self::Audience => "wrong_audience",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Lifetime => "bad_lifetime",
            Self::KeyRetired => "key_retired",
            Self::Revoked => "revoked",
        }
    }
}

/// Signs access tokens with one key.
pub struct Signer {
    kid: String,
    algorithm: KeyAlgorithm,
    key: EncodingKey,
    /// An Ed25519 key expanded once: jsonwebtoken's RustCrypto signer reads
    /// the key from PKCS#8 again for every token, deriving its public half
    /// each time, which doubled the cost of the identity the gateway signs
    /// for every request it forwards.
    ed25519: Option<ed25519_dalek::SigningKey>,
}

impl KeyPair {
    pub fn signer(&self) -> Result<Signer, TokensError> {
        Ok(Signer {
            kid: self.kid().to_owned(),
            algorithm: self.algorithm(),
            key: self.encoding_key()?,
            ed25519: self.ed25519_key(),
        })
    }
}

impl Signer {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The signed token: header `{"alg", "typ": "at+jwt", "kid"}` and `claims`.
    pub fn issue(&self, claims: &AccessClaims) -> Result<String, TokensError> {
        self.sign(ACCESS_TOKEN_TYPE, claims)
    }

    /// `claims` signed with header `{"alg", "typ", "kid"}`.
    pub(crate) fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, TokensError> {
        let header = self.header(typ);
        let Some(key) = &self.ed25519 else {
            return self.encode(&header, claims);
        };
        // What `jsonwebtoken::encode` writes, byte for byte (Ed25519 is
        // deterministic; a test holds the two equal), with the expanded key.
        let part = |json: Result<Vec<u8>, serde_json::Error>| {
            json.map(|j| URL_SAFE_NO_PAD.encode(j))
                .map_err(|e| TokensError::Sign(e.to_string()))
        };
        let message = format!(
            "{}.{}",
            part(serde_json::to_vec(&header))?,
            part(serde_json::to_vec(claims))?
        );
        let signature = ed25519_dalek::Signer::sign(key, message.as_bytes());
        Ok(format!(
            "{message}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        ))
    }

    fn header(&self, typ: &str) -> Header {
        let mut header = Header::new(self.algorithm.jwt());
        header.typ = Some(typ.into());
        header.kid = Some(self.kid.clone());
        header
    }

    fn encode<T: Serialize>(&self, header: &Header, claims: &T) -> Result<String, TokensError> {
        jsonwebtoken::encode(header, claims, &self.key)
            .map_err(|e| TokensError::Sign(e.to_string()))
    }

    /// `sign` through jsonwebtoken alone (the reference the test compares with).
    #[cfg(test)]
    pub(crate) fn sign_reference<T: Serialize>(
        &self,
        typ: &str,
        claims: &T,
    ) -> Result<String, TokensError> {
        self.encode(&self.header(typ), claims)
    }

    /// The JWS algorithm name it signs with (`EdDSA`, `ES256`, `RS256`).
    pub fn algorithm_name(&self) -> &'static str {
        self.algorithm.as_str()
    }
}

struct VerifyKey {
    algorithm: KeyAlgorithm,
    key: DecodingKey,
    /// Tokens signed by this key verify while `now` is before this.
    verifies_until: Option<i64>,
}

/// Verifies access tokens against a fixed key set; build a new one when the
/// set changes (rotation), it is cheap.
pub struct Verifier {
    keys: HashMap<String, VerifyKey>,
    issuer: String,
    audience: String,
    skew: i64,
    /// Tokens whose signature and claims already verified, by their exact
    /// bytes, with the key that signed them. A signature over the same bytes
    /// with the same key verifies the same way every time, so only that is
    /// remembered: the key's end, the times and the caller's revocation check
    /// run on every call. A new key set is a new verifier, with nothing in it.
    verified: Mutex<HashMap<Box<str>, Verified>>,
}

struct Verified {
    kid: String,
    claims: AccessClaims,
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    typ: String,
    kid: String,
}

const HEADER_MEMBERS: [&str; 3] = ["alg", "typ", "kid"];

impl Verifier {
    /// `skew` is clamped to `0..=MAX_SKEW_SECONDS`.
    pub fn new(issuer: &str, audience: &str, skew: i64) -> Verifier {
        Verifier {
            keys: HashMap::new(),
            issuer: issuer.into(),
            audience: audience.into(),
            skew: skew.clamp(0, MAX_SKEW_SECONDS),
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// Trusts `public` until `verifies_until` (none: while it is in the set).
    pub fn add_key(
        &mut self,
        public: &Jwk,
        verifies_until: Option<i64>,
    ) -> Result<(), TokensError> {
        let (algorithm, key) = public.decoding_key()?;
        self.keys.insert(
            public.kid.clone(),
            VerifyKey {
                algorithm,
                key,
                verifies_until,
            },
        );
        Ok(())
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// How many verified tokens it remembers now (at most
    /// `VERIFIED_CACHE_ENTRIES`).
    pub fn remembered(&self) -> usize {
        self.verified.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// The skew allowed, in seconds.
    pub fn skew(&self) -> i64 {
        self.skew
    }

    /// The token's claims if every check passes at `now` (Unix seconds).
    /// Revocation is the caller's to check on the claims returned.
    ///
    /// A token seen before (byte for byte) skips the decoding and the
    /// signature, not the checks that depend on `now`.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        let seen = self
            .verified
            .lock()
            .ok()
            .and_then(|m| m.get(token).map(|v| (v.kid.clone(), v.claims.clone())));
        if let Some((kid, claims)) = seen {
            let key = self.keys.get(&kid).ok_or(Rejection::UnknownKey)?;
            if key.verifies_until.is_some_and(|until| now >= until) {
                return Err(Rejection::KeyRetired);
            }
            self.check_claims(&claims, now)?;
            return Ok(claims);
        }
        let (kid, claims) = self.verify_signed(token, now)?;
        if let Ok(mut m) = self.verified.lock() {
            if m.len() >= VERIFIED_CACHE_ENTRIES {
                m.retain(|_, v| now < v.claims.exp.saturating_add(self.skew));
                if m.len() >= VERIFIED_CACHE_ENTRIES {
                    m.clear();
                }
            }
            m.insert(
                token.into(),
                Verified {
                    kid,
                    claims: claims.clone(),
                },
            );
        }
        Ok(claims)
    }

    /// Every check, the signature included, whether or not the token was
    /// seen before (what `verify` runs the first time; benchmarks measure it).
    pub fn verify_uncached(&self, token: &str, now: i64) -> Result<AccessClaims, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        self.verify_signed(token, now).map(|(_, claims)| claims)
    }

    fn verify_signed(&self, token: &str, now: i64) -> Result<(String, AccessClaims), Rejection> {
        let mut parts = token.split('.');
        let (Some(head), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        let header_json = decode_part(head)?;
        let header: JoseHeader = parse_object(&header_json)?;
        let header_map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&header_json).map_err(|_| Rejection::Malformed)?;
        if header_map
            .keys()
            .any(|k| !HEADER_MEMBERS.contains(&k.as_str()))
        {
            return Err(Rejection::HeaderMember);
        }
        let typ = header.typ.to_ascii_lowercase();
        if typ != ACCESS_TOKEN_TYPE && typ != "application/at+jwt" {
            return Err(Rejection::Type);
        }
        let key = self.keys.get(&header.kid).ok_or(Rejection::UnknownKey)?;
        if header.alg != key.algorithm.as_str() {
            return Err(Rejection::Algorithm);
        }
        if key.verifies_until.is_some_and(|until| now >= until) {
            return Err(Rejection::KeyRetired);
        }
        let claims_json = decode_part(body)?;
        if signature.is_empty() {
            return Err(Rejection::Signature);
        }
        let signed = &token[..head.len() + 1 + body.len()];
        let valid = jsonwebtoken::crypto::verify(
            signature,
            signed.as_bytes(),
            &key.key,
            key.algorithm.jwt(),
        )
        .unwrap_or(false);
        if !valid {
            return Err(Rejection::Signature);
        }
        let claims: AccessClaims = parse_object(&claims_json).map_err(|r| match r {
            Rejection::DuplicateMember => r,
            _ => Rejection::Claims,
        })?;
        self.check_claims(&claims, now)?;
        Ok((header.kid, claims))
    }

    fn check_claims(&self, c: &AccessClaims, now: i64) -> Result<(), Rejection> {
        if [&c.sub, &c.jti, &c.client_id].iter().any(|s| s.is_empty()) {
            return Err(Rejection::Claims);
        }
        if c.iss != self.issuer {
            return Err(Rejection::Issuer);
        }
        if c.aud != self.audience {
            return Err(Rejection::Audience);
        }
        if c.exp < c.iat || c.nbf > c.exp || c.exp.saturating_sub(c.iat) > MAX_LIFETIME_SECONDS {
            return Err(Rejection::Lifetime);
        }
        if now >= c.exp.saturating_add(self.skew) {
            return Err(Rejection::Expired);
        }
        if c.nbf > now.saturating_add(self.skew) || c.iat > now.saturating_add(self.skew) {
            return Err(Rejection::NotYetValid);
        }
        Ok(())
    }
}

/// base64url without padding, as JWS compact serialization requires.
fn decode_part(part: &str) -> Result<Vec<u8>, Rejection> {
    if part.is_empty() {
        return Err(Rejection::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| Rejection::Malformed)
}

fn parse_object<T: for<'de> Deserialize<'de>>(json: &[u8]) -> Result<T, Rejection> {
    if !crate::json::is_unambiguous_object(json) {
        // Either a repeated name or not one object at all; say which.
        return Err(
            if serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(json).is_ok() {
                Rejection::DuplicateMember
            } else {
                Rejection::Malformed
            },
        );
    }
    serde_json::from_slice(json).map_err(|_| Rejection::Malformed)
}
