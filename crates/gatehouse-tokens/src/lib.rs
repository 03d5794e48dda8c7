//! Gatehouse's tokens (TK-1 … TK-3, TK-7, ID-10): access tokens as JWTs
//! (jsonwebtoken 12, RustCrypto), signing keys with their lifecycle and
//! rotation, private keys sealed at rest under a key-encryption key, the
//! published JWK set, and OAuth 2.0's grant logic (client secrets, client
//! authentication, scopes, errors in RFC 6749's shape).
//!
//! It never does HTTP or database work, never reads the system clock or the
//! OS's randomness (both are passed in), never follows a URL or key found in a
//! token, and never lets a private key or a client secret reach a `Debug` or
//! `Display` string.

pub mod access;
pub mod authorization;
pub mod forwarded;
pub mod id_token;
mod json;
pub mod jwks;
pub mod keys;
pub mod oauth;
mod rng;
pub mod seal;

pub use access::{AccessClaims, Rejection, Signer, SubjectKind, Verifier};
pub use jwks::{Jwk, JwkSet};
pub use keys::{plan_rotation, KeyAlgorithm, KeyLife, KeyPair, KeyState, Rotation};
pub use rng::Random;
pub use seal::Kek;

/// What can go wrong here (verification failures are [`Rejection`]s, not errors).
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("key: {0}")]
    Key(String),
    #[error("key-encryption key: {0}")]
    Kek(String),
    /// Sealing failed, or a sealed key did not open: wrong key-encryption key,
    /// another key's row, or altered bytes (deliberately not told apart).
    #[error("a sealed signing key does not open with this key-encryption key")]
    Seal,
    #[error("signing: {0}")]
    Sign(String),
}
