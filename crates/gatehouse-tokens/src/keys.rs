//! Signing keys (TK-2): generated here, one algorithm pinned to each, a
//! lifecycle of four states, and the rotation that moves them along.
//!
//! `next` is published but signs nothing yet (so relying parties have it cached
//! before its first token), `current` signs, `previous` only verifies until its
//! last token has expired, `retired` verifies nothing and is no longer published.

use std::fmt;

use jsonwebtoken::{Algorithm, EncodingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::jwks::{Jwk, PublicMembers};
use crate::rng::{Lend, Random};
use crate::TokensError;

/// The signature algorithms a key may be pinned to (TK-1). No HMAC: Gatehouse
/// never shares a secret with whoever verifies its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeyAlgorithm {
    #[serde(rename = "EdDSA")]
    EdDsa,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
}

impl KeyAlgorithm {
    pub const ALL: [KeyAlgorithm; 3] = [Self::EdDsa, Self::Es256, Self::Rs256];

    /// The JOSE name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Next,
    Current,
    Previous,
    Retired,
}

impl KeyState {
    pub const ALL: [KeyState; 4] = [Self::Next, Self::Current, Self::Previous, Self::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Previous => "previous",
            Self::Retired => "retired",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// RSA modulus size: 2048 bits is NIST's floor until 2030; verification cost
/// grows with it, and RS256 is the compatibility choice, not the default.
const RSA_BITS: usize = 2048;

/// RFC 8410's PKCS#8 v1 prefix of an Ed25519 private key: the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A key pair: the private half as DER (PKCS#8 for EdDSA and ES256, PKCS#1 for
/// RS256, what jsonwebtoken reads), wiped from memory when dropped, and the
/// public half as a JWK whose `kid` is its thumbprint.
pub struct KeyPair {
    algorithm: KeyAlgorithm,
    private_der: Zeroizing<Vec<u8>>,
    public: Jwk,
}

impl fmt::Debug for KeyPair {
    // The private half never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.public.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl KeyPair {
    /// A new key pair of `algorithm` from `rng`.
    pub fn generate(algorithm: KeyAlgorithm, rng: &mut dyn Random) -> Result<Self, TokensError> {
        let gen_err = |e: &dyn fmt::Display| TokensError::Key(format!("generating a key: {e}"));
        let (private_der, members) = match algorithm {
            KeyAlgorithm::EdDsa => {
                let mut seed = Zeroizing::new([0u8; 32]);
                rng.fill_bytes(seed.as_mut());
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
                let mut der = Zeroizing::new(ED25519_PKCS8_PREFIX.to_vec());
                der.extend_from_slice(seed.as_ref());
                let x = public.to_bytes().to_vec();
                (der, PublicMembers::Okp { x })
            }
            KeyAlgorithm::Es256 => {
                use p256::elliptic_curve::Generate;
                use p256::pkcs8::EncodePrivateKey;
                let secret = p256::SecretKey::generate_from_rng(&mut Lend(rng));
                let der = secret.to_pkcs8_der().map_err(|e| gen_err(&e))?;
                let point = secret.public_key().to_sec1_bytes();
                // Uncompressed SEC1: 0x04 || x || y.
                if point.len() != 65 || point[0] != 4 {
                    return Err(TokensError::Key("unexpected P-256 point encoding".into()));
                }
                let members = PublicMembers::Ec {
                    x: point[1..33].to_vec(),
                    y: point[33..].to_vec(),
                };
                (Zeroizing::new(der.as_bytes().to_vec()), members)
            }
            KeyAlgorithm::Rs256 => {
                use rsa::pkcs1::EncodeRsaPrivateKey;
                use rsa::traits::PublicKeyParts;
                let key =
                    rsa::PrivateKey::new(&mut Lend(rng), RSA_BITS).map_err(|e| gen_err(&e))?;
                let der = key.to_pkcs1_der().map_err(|e| gen_err(&e))?;
                let members = PublicMembers::Rsa {
                    n: key.n().to_be_bytes_trimmed_vartime().to_vec(),
                    e: key.e().to_be_bytes_trimmed_vartime().to_vec(),
                };
                (Zeroizing::new(der.as_bytes().to_vec()), members)
            }
        };
        let public = Jwk::new(algorithm, members);
        let pair = KeyPair {
            algorithm,
            private_der,
            public,
        };
        // A key that cannot sign is refused here, not at the first request.
        pair.encoding_key()?;
        Ok(pair)
    }

    /// A key pair read back from storage (its private half unsealed), checked:
    /// the private half must sign what the public half verifies.
    pub fn from_parts(public: Jwk, private_der: Zeroizing<Vec<u8>>) -> Result<Self, TokensError> {
        let algorithm = KeyAlgorithm::parse(&public.alg)
            .ok_or_else(|| TokensError::Key(format!("unknown algorithm {}", public.alg)))?;
        if public.kid != public.thumbprint() {
            return Err(TokensError::Key(
                "key id is not the key's thumbprint".into(),
            ));
        }
        let pair = KeyPair {
            algorithm,
            private_der,
            public,
        };
        let probe = b"gatehouse key check";
        let signature = jsonwebtoken::crypto::sign(probe, &pair.encoding_key()?, algorithm.jwt())
            .map_err(|e| TokensError::Key(e.to_string()))?;
        let (_, decoding) = pair.public.decoding_key()?;
        let ok = jsonwebtoken::crypto::verify(&signature, probe, &decoding, algorithm.jwt())
            .unwrap_or(false);
        if !ok {
            return Err(TokensError::Key(
                "private and public halves do not match".into(),
            ));
        }
        Ok(pair)
    }

    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    pub fn public(&self) -> &Jwk {
        &self.public
    }

    /// The private half, for sealing before it is stored. Never log it.
    pub fn private_der(&self) -> &[u8] {
        &self.private_der
    }

    /// A compact JWS of exactly `header` and `payload` (JSON text, taken as
    /// given), signed with this key. Tokens are issued with [`crate::Signer`];
    /// this is for tools and tests that must build a token field by field.
    pub fn sign_compact(&self, header: &str, payload: &str) -> Result<String, TokensError> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &self.encoding_key()?,
            self.algorithm.jwt(),
        )
        .map_err(|e| TokensError::Sign(e.to_string()))?;
        Ok(format!("{message}.{signature}"))
    }

    /// An Ed25519 pair's signing key, expanded (its PKCS#8 is our fixed
    /// prefix and the 32-byte seed); none for other algorithms.
    pub(crate) fn ed25519_key(&self) -> Option<ed25519_dalek::SigningKey> {
        if self.algorithm != KeyAlgorithm::EdDsa {
            return None;
        }
        let seed = self.private_der.strip_prefix(&ED25519_PKCS8_PREFIX)?;
        let seed: &[u8; 32] = seed.try_into().ok()?;
        Some(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    pub(crate) fn encoding_key(&self) -> Result<EncodingKey, TokensError> {
        let der = &self.private_der;
        let key = match self.algorithm {
            KeyAlgorithm::EdDsa => EncodingKey::from_ed_der(der),
            KeyAlgorithm::Es256 => EncodingKey::from_ec_der(der),
            KeyAlgorithm::Rs256 => EncodingKey::from_rsa_der(der),
        };
        Ok(key)
    }
}

/// One key as the lifecycle sees it: no private material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLife {
    pub kid: String,
    pub state: KeyState,
    /// When it became `current` (Unix seconds).
    pub activated_at: Option<i64>,
    /// Until when a `previous` key still verifies (Unix seconds).
    pub verifies_until: Option<i64>,
}

/// What one rotation changes, to be stored in one transaction with its record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rotation {
    /// `next` → `current`, activated now.
    pub promote: Option<String>,
    /// `current` → `previous`, verifying until `now + overlap`.
    pub demote: Option<String>,
    /// `previous` keys whose tokens have all expired → `retired`.
    pub retire: Vec<String>,
    /// Whether a new `next` must be generated (always after a promotion, or
    /// when there is none).
    pub needs_next: bool,
    /// Whether a `current` must be generated as well (a key set with neither a
    /// `current` nor a `next`, as on first start).
    pub needs_current: bool,
    pub verifies_until: i64,
}

/// The rotation to make at `now`: on demand (`force`), or because the current
/// key is older than `period` seconds. `overlap` is how long a demoted key
/// still verifies: at least the longest access token's lifetime plus the skew,
/// so no token signed before the rotation stops verifying before it expires.
pub fn plan_rotation(
    keys: &[KeyLife],
    now: i64,
    period: i64,
    overlap: i64,
    force: bool,
) -> Rotation {
    let current = keys.iter().find(|k| k.state == KeyState::Current);
    let next = keys.iter().find(|k| k.state == KeyState::Next);
    let due = force
        || current.is_none()
        || current.is_some_and(|c| c.activated_at.is_none_or(|at| now - at >= period));
    let mut plan = Rotation {
        verifies_until: now.saturating_add(overlap),
        retire: keys
            .iter()
            .filter(|k| k.state == KeyState::Previous && k.verifies_until.is_none_or(|t| t <= now))
            .map(|k| k.kid.clone())
            .collect(),
        ..Rotation::default()
    };
    if due {
        match next {
            Some(n) => {
                plan.promote = Some(n.kid.clone());
                plan.demote = current.map(|c| c.kid.clone());
                plan.needs_next = true;
            }
            None if current.is_none() => {
                plan.needs_current = true;
                plan.needs_next = true;
            }
            None => {
                // No next to promote (it was lost): make one now and rotate at
                // the next turn, so relying parties see it published first.
                plan.needs_next = true;
            }
        }
    } else if next.is_none() {
        plan.needs_next = true;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn life(kid: &str, state: KeyState, activated: Option<i64>, until: Option<i64>) -> KeyLife {
        KeyLife {
            kid: kid.into(),
            state,
            activated_at: activated,
            verifies_until: until,
        }
    }

    #[test]
    fn every_algorithm_generates_a_key_that_signs_and_reads_back() {
        // proves: TK-1, TK-2
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for algorithm in KeyAlgorithm::ALL {
            let pair = KeyPair::generate(algorithm, &mut rng).unwrap();
            assert_eq!(pair.public().alg, algorithm.as_str());
            assert_eq!(pair.kid(), pair.public().thumbprint());
            let again = KeyPair::from_parts(
                pair.public().clone(),
                Zeroizing::new(pair.private_der().to_vec()),
            )
            .unwrap();
            assert_eq!(again.kid(), pair.kid());
            assert!(!format!("{pair:?}").contains(&format!("{:?}", pair.private_der())));
        }
    }

    #[test]
    fn halves_of_two_keys_are_refused_together() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let a = KeyPair::generate(KeyAlgorithm::EdDsa, &mut rng).unwrap();
        let b = KeyPair::generate(KeyAlgorithm::EdDsa, &mut rng).unwrap();
        let mixed =
            KeyPair::from_parts(a.public().clone(), Zeroizing::new(b.private_der().to_vec()));
        assert!(mixed.is_err());
        let mut renamed = a.public().clone();
        renamed.kid = "../../etc/passwd".into();
        assert!(KeyPair::from_parts(renamed, Zeroizing::new(a.private_der().to_vec())).is_err());
    }

    #[test]
    fn rotation_promotes_next_demotes_current_and_retires_expired_previous() {
        // proves: TK-2
        let day = 86_400;
        let keys = [
            life("old", KeyState::Previous, Some(0), Some(10 * day)),
            life("cur", KeyState::Current, Some(day), None),
            life("nxt", KeyState::Next, None, None),
        ];
        // Not yet due: nothing moves but what has expired.
        let quiet = plan_rotation(&keys, 5 * day, 30 * day, 600, false);
        assert_eq!(quiet.promote, None);
        assert!(quiet.retire.is_empty() && !quiet.needs_next);
        // Due by age, after the previous key's last token expired.
        let due = plan_rotation(&keys, 31 * day + 1, 30 * day, 600, false);
        assert_eq!(due.promote.as_deref(), Some("nxt"));
        assert_eq!(due.demote.as_deref(), Some("cur"));
        assert_eq!(due.retire, vec!["old".to_string()]);
        assert!(due.needs_next);
        assert_eq!(due.verifies_until, 31 * day + 1 + 600);
        // On demand, at any time.
        let forced = plan_rotation(&keys, 2 * day, 30 * day, 600, true);
        assert_eq!(forced.promote.as_deref(), Some("nxt"));
        // First start: nothing at all.
        let first = plan_rotation(&[], 0, 30 * day, 600, false);
        assert!(first.needs_current && first.needs_next);
    }
}
