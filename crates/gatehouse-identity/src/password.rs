//! Passwords (ID-6, ID-7): the rules a new password must meet, and Argon2id.
//!
//! The rules are NIST SP 800-63B §5.1.1.2's: length counted in Unicode
//! characters after NFKC (so the same password typed on two keyboards is the
//! same password), 15 at least when it is the only factor and 8 when another
//! follows, up to 256 (NIST asks that 64 be allowed), never truncated, no
//! composition rules, and refused when it is known or guessable: on the
//! operator's blocklist, or scored by zxcvbn (with the user's own details as
//! context) below 3 when it is the only factor, below 2 when a second factor
//! follows (10^6 guesses: out of reach of an online attacker held to 100
//! failures an hour, ID-7, who must also beat the second factor). zxcvbn only looks at the first 100 characters, so a
//! long password with a weak start is refused: erring towards refusal is safe.
//!
//! Hashing is Argon2id with OWASP's parameters. Verifying reports when a stored
//! hash was made with other parameters, so sign-in upgrades it; `verify_dummy`
//! spends the same time on an unknown account, so timing says nothing about
//! which accounts exist. Argon2 costs 19 MiB per call: [`BoundedHasher`] caps
//! how many run at once and keeps them off the async workers.

use std::collections::HashSet;
use std::fmt;

use argon2::password_hash::{self, PasswordHash, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::{CryptoRng, RngCore};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::IdentityError;

/// The shortest password when it is the only factor (NIST SP 800-63B-4).
pub const MIN_CHARS_ONLY_FACTOR: usize = 15;
/// The shortest password when a second factor follows.
pub const MIN_CHARS_WITH_SECOND_FACTOR: usize = 8;
/// The longest password, in characters after NFKC.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Input longer than this (bytes, before normalising) is refused before any
/// work: no 256-character password comes near it, and it bounds what an
/// anonymous caller makes the server normalise and hash.
pub const MAX_PASSWORD_INPUT_BYTES: usize = 8192;
/// zxcvbn's score 3 (at least 10^8 guesses) for a password alone.
const MIN_SCORE_ONLY_FACTOR: u8 = 3;
/// zxcvbn's score 2 (at least 10^6 guesses) when a second factor follows:
/// zxcvbn scores no 8-character password above 2, and NIST allows 8 there.
const MIN_SCORE_WITH_SECOND_FACTOR: u8 = 2;
pub const SALT_BYTES: usize = 16;
pub const OUTPUT_BYTES: usize = 32;
/// A stored hash asking for more than these is refused (`IdentityError::Hash`)
/// rather than run: no hasher here may write one (`Hasher::new` checks), and a
/// corrupted row must not break the memory bound `BoundedHasher` promises.
pub const MAX_MEMORY_KIB: u32 = 262_144;
pub const MAX_ITERATIONS: u32 = 16;
pub const MAX_PARALLELISM: u32 = 8;
/// Hashed once per `Hasher` so `verify_dummy` has a real hash to lose against.
const DUMMY_PASSWORD: &str = "gatehouse dummy password, never a real one";

/// Why a password is refused. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRejection {
    #[error("the password must have at least {min} characters")]
    TooShort { min: usize },
    #[error("the password must have at most {max} characters")]
    TooLong { max: usize },
    #[error("the password is too easy to guess")]
    Common,
    #[error("the password is on the list of refused passwords")]
    Blocklisted,
}

/// NFKC into a buffer sized up front, so growing it leaves no stray copies
/// behind for the common cases.
fn normalise(password: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(password.len().saturating_mul(3)));
    out.extend(password.nfkc());
    out
}

fn too_long() -> PasswordRejection {
    PasswordRejection::TooLong {
        max: MAX_PASSWORD_CHARS,
    }
}

/// What a new password must meet. The blocklist is kept normalised and
/// lowercased, the way candidates are compared against it.
#[derive(Clone, Default)]
pub struct PasswordRules {
    blocklist: HashSet<String>,
}

impl fmt::Debug for PasswordRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRules")
            .field("blocklist_len", &self.blocklist.len())
            .finish()
    }
}

impl PasswordRules {
    pub fn new() -> PasswordRules {
        PasswordRules::default()
    }

    /// Adds a list of refused passwords: one a line, `#` comments and blank
    /// lines skipped, each line trimmed.
    pub fn with_blocklist(mut self, text: &str) -> PasswordRules {
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| normalise(line).to_lowercase());
        self.blocklist.extend(entries);
        self
    }

    pub fn blocklist_len(&self) -> usize {
        self.blocklist.len()
    }

    /// Whether `password` may be set. `context` holds what an attacker would
    /// try first: the user's email, name, the service's name.
    pub fn check(
        &self,
        password: &str,
        context: &[&str],
        is_only_factor: bool,
    ) -> Result<(), PasswordRejection> {
        if password.len() > MAX_PASSWORD_INPUT_BYTES {
            return Err(too_long());
        }
        let normalised = normalise(password);
        let chars = normalised.chars().count();
        let min = if is_only_factor {
            MIN_CHARS_ONLY_FACTOR
        } else {
            MIN_CHARS_WITH_SECOND_FACTOR
        };
        if chars < min {
            return Err(PasswordRejection::TooShort { min });
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(too_long());
        }
        let lowered = Zeroizing::new(normalised.to_lowercase());
        if self.blocklist.contains(lowered.as_str()) {
            return Err(PasswordRejection::Blocklisted);
        }
        let words = context_words(context);
        let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
        let min_score = if is_only_factor {
            MIN_SCORE_ONLY_FACTOR
        } else {
            MIN_SCORE_WITH_SECOND_FACTOR
        };
        if u8::from(zxcvbn::zxcvbn(&normalised, &inputs).score()) < min_score {
            return Err(PasswordRejection::Common);
        }
        Ok(())
    }
}

/// Each context value whole and split at punctuation, so "alice" counts as
/// known when the email is "alice.smith@example.com".
fn context_words(context: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for value in context {
        let value = normalise(value).to_lowercase();
        words.extend(
            value
                .split(|c: char| !c.is_alphanumeric())
                .filter(|part| part.chars().count() >= 3 && *part != value)
                .map(str::to_owned),
        );
        if !value.is_empty() {
            words.push(value);
        }
    }
    words
}

/// Argon2id's costs. Salt (16 bytes) and output (32 bytes) are fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1.
    pub const OWASP: Argon2Params = Argon2Params {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

/// What a stored hash said about a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub is_match: bool,
    /// Made with another algorithm, version or costs: hash again on success.
    pub needs_rehash: bool,
}

/// Argon2id with fixed parameters, and a hash to verify against when the
/// account does not exist (a hash of a public throwaway: safe to print).
#[derive(Debug)]
pub struct Hasher {
    params: Argon2Params,
    argon2: Argon2<'static>,
    dummy_phc: String,
}

impl Hasher {
    pub fn new(
        params: Argon2Params,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Hasher, IdentityError> {
        if params.memory_kib > MAX_MEMORY_KIB
            || params.iterations > MAX_ITERATIONS
            || params.parallelism > MAX_PARALLELISM
        {
            return Err(IdentityError::Hash);
        }
        let argon_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|_| IdentityError::Hash)?;
        let mut hasher = Hasher {
            params,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, argon_params),
            dummy_phc: String::new(),
        };
        hasher.dummy_phc = hasher.hash(DUMMY_PASSWORD, rng)?;
        Ok(hasher)
    }

    pub fn owasp(rng: &mut (impl RngCore + CryptoRng)) -> Result<Hasher, IdentityError> {
        Hasher::new(Argon2Params::OWASP, rng)
    }

    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of the
    /// NFKC-normalised password under a fresh salt.
    pub fn hash(
        &self,
        password: &str,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<String, IdentityError> {
        let mut salt = [0u8; SALT_BYTES];
        rng.fill_bytes(&mut salt);
        self.hash_with_salt(password, &salt)
    }

    fn hash_with_salt(
        &self,
        password: &str,
        salt: &[u8; SALT_BYTES],
    ) -> Result<String, IdentityError> {
        let mut memory = self.new_memory();
        self.hash_in(password, salt, &mut memory)
    }

    /// Argon2's working memory for this hasher's parameters (19 MiB at
    /// OWASP's): [`BoundedHasher`] keeps one per permit and reuses it, so a
    /// burst of sign-ins never asks the allocator for more.
    pub fn new_memory(&self) -> Vec<Block> {
        vec![Block::default(); self.argon2_params().block_count()]
    }

    fn argon2_params(&self) -> &Params {
        self.argon2.params()
    }

    /// [`Hasher::hash`]'s work in `memory` (from [`Hasher::new_memory`]).
    pub(crate) fn hash_in(
        &self,
        password: &str,
        salt: &[u8; SALT_BYTES],
        memory: &mut [Block],
    ) -> Result<String, IdentityError> {
        if password.len() > MAX_PASSWORD_INPUT_BYTES {
            return Err(too_long().into());
        }
        let normalised = normalise(password);
        let mut out = Zeroizing::new([0u8; OUTPUT_BYTES]);
        self.argon2
            .hash_password_into_with_memory(normalised.as_bytes(), salt, out.as_mut(), memory)
            .map_err(|_| IdentityError::Hash)?;
        let salt = password_hash::SaltString::encode_b64(salt).map_err(|_| IdentityError::Hash)?;
        let output = password_hash::Output::new(out.as_ref()).map_err(|_| IdentityError::Hash)?;
        let p = self.params;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            p.memory_kib,
            p.iterations,
            p.parallelism,
            salt.as_str(),
            output
        ))
    }

    /// Whether `password` is the one `phc` was made from, with the costs
    /// `phc` names. A hash that does not parse, or asks for more than the
    /// `MAX_*` costs, is an error, never a match.
    pub fn verify(&self, phc: &str, password: &str) -> Result<Verified, IdentityError> {
        let mut memory = self.new_memory();
        self.verify_in(phc, password, &mut memory)
    }

    /// [`Hasher::verify`]'s work, in `memory` when the stored hash has this
    /// hasher's parameters (a hash made with others gets memory of its own).
    pub(crate) fn verify_in(
        &self,
        phc: &str,
        password: &str,
        memory: &mut [Block],
    ) -> Result<Verified, IdentityError> {
        if password.len() > MAX_PASSWORD_INPUT_BYTES {
            return Err(too_long().into());
        }
        let parsed = PasswordHash::new(phc).map_err(|_| IdentityError::Hash)?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| IdentityError::Hash)?;
        let stored = Params::try_from(&parsed).map_err(|_| IdentityError::Hash)?;
        if parsed.salt.is_none()
            || parsed.hash.is_none()
            || stored.m_cost() > MAX_MEMORY_KIB
            || stored.t_cost() > MAX_ITERATIONS
            || stored.p_cost() > MAX_PARALLELISM
        {
            return Err(IdentityError::Hash);
        }
        let normalised = normalise(password);
        let needs_rehash = algorithm != Algorithm::Argon2id
            || parsed.version != Some(u32::from(Version::V0x13))
            || stored.m_cost() != self.params.memory_kib
            || stored.t_cost() != self.params.iterations
            || stored.p_cost() != self.params.parallelism
            || stored.output_len() != Some(OUTPUT_BYTES);
        let is_match = match (&parsed.hash, &parsed.salt) {
            (Some(expected), Some(salt)) if !needs_rehash => {
                let mut salt_bytes = [0u8; 64];
                let salt = salt
                    .decode_b64(&mut salt_bytes)
                    .map_err(|_| IdentityError::Hash)?;
                let mut out = Zeroizing::new([0u8; OUTPUT_BYTES]);
                self.argon2
                    .hash_password_into_with_memory(
                        normalised.as_bytes(),
                        salt,
                        out.as_mut(),
                        memory,
                    )
                    .map_err(|_| IdentityError::Hash)?;
                // `Output`'s equality is constant-time.
                password_hash::Output::new(out.as_ref()).map_err(|_| IdentityError::Hash)?
                    == *expected
            }
            _ => match self.argon2.verify_password(normalised.as_bytes(), &parsed) {
                Ok(()) => true,
                Err(password_hash::Error::Password) => false,
                Err(_) => return Err(IdentityError::Hash),
            },
        };
        Ok(Verified {
            is_match,
            needs_rehash,
        })
    }

    /// One full `verify` against a throwaway hash, result discarded: what
    /// sign-in runs when the account is unknown (ID-7).
    pub fn verify_dummy(&self, password: &str) {
        let _ = self.verify(&self.dummy_phc, password);
    }

    pub(crate) fn verify_dummy_in(&self, password: &str, memory: &mut [Block]) {
        let _ = self.verify_in(&self.dummy_phc, password, memory);
    }
}

pub use crate::hashing::BoundedHasher;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_words_split_at_punctuation() {
        // proves: ID-6 (context words include the parts of an email)
        let words = context_words(&["Alice.Smith@Example.com"]);
        assert!(words.contains(&"alice".to_owned()));
        assert!(words.contains(&"smith".to_owned()));
        assert!(words.contains(&"alice.smith@example.com".to_owned()));
    }

    #[test]
    fn the_dummy_hash_is_made_with_the_current_parameters() {
        // proves: ID-7 (an unknown account costs one full verify at today's cost)
        let params = Argon2Params {
            memory_kib: 2048,
            iterations: 3,
            parallelism: 1,
        };
        let hasher = Hasher::new(params, &mut rand::rngs::OsRng).unwrap();
        let v = hasher.verify(&hasher.dummy_phc, DUMMY_PASSWORD).unwrap();
        assert!(v.is_match && !v.needs_rehash);
        assert!(hasher.dummy_phc.contains("m=2048,t=3,p=1"));
    }
}
