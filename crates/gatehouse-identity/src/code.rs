//! One-time codes sent by SMS or email (ID-8): 8 random digits (26.6 bits;
//! 6 digits would be 19.9, under ID-8's 20), good for at most 10 minutes,
//! once, for at most 5 tries, and only for the purpose and the flow that asked
//! for them.
//!
//! Only an HMAC of the code is stored, keyed with a [`CodeKey`] kept outside the
//! database: with 10^8 codes a plain hash would be reversed in a second by
//! whoever reads the table. The HMAC covers the purpose and the binding (the
//! challenge or flow id), length-prefixed, so a code sent to sign up cannot
//! sign in, and a code from one flow cannot finish another.
//!
//! `check` is pure: it returns the outcome and the record to store in its
//! place, so the caller cannot count a try without also storing it, and two
//! concurrent checks are the store's to serialise (compare-and-swap on
//! `checks`). Throttling across codes (ID-7) is `lockout`'s.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::IdentityError;

pub const CODE_DIGITS: usize = 8;
pub const MAX_CODE_TTL_SECONDS: i64 = 600;
/// Wrong answers allowed per code; the next check, even a right one, fails.
pub const MAX_CHECKS: u32 = 5;
const CODE_SPACE: u32 = 100_000_000;
/// Draws at or above the largest multiple of 10^8 under 2^32 are thrown away,
/// so every code is equally likely (a plain `% 10^8` favours the low ones).
const ACCEPT_BELOW: u32 = (u32::MAX / CODE_SPACE) * CODE_SPACE;
/// Presented input longer than this is wrong without being read further.
const MAX_PRESENTED_BYTES: usize = 4 * CODE_DIGITS;
const CODE_LABEL: &[u8] = b"gatehouse.one-time-code.v1";

/// The server-side secret one-time and recovery codes are keyed with. Kept
/// outside the database (config or keyring), so a copy of the database alone
/// cannot test codes offline.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl CodeKey {
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> CodeKey {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        CodeKey(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> CodeKey {
        CodeKey(bytes)
    }

    /// For saving the key where it is kept.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for CodeKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeKey(…)")
    }
}

/// HMAC-SHA256 under `key` of each field prefixed with its length, so no two
/// different field lists hash the same bytes. The first field names the use
/// (one-time code, recovery code) so a hash made for one is never good for
/// the other.
pub(crate) fn keyed_hash(key: &CodeKey, fields: &[&[u8]]) -> [u8; 32] {
    // HMAC pads a short key with zeros to its block: doing it here makes the
    // infallible fixed-size constructor usable.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(&key.0);
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into());
    for field in fields {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    mac.finalize().into_bytes().into()
}

/// What a code is for. A code is only ever good for the purpose it was sent
/// for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    SignUpEmail,
    SignUpPhone,
    SignIn,
    SecondFactor,
    ContactChange,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Purpose::SignUpEmail,
        Purpose::SignUpPhone,
        Purpose::SignIn,
        Purpose::SecondFactor,
        Purpose::ContactChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::SignUpEmail => "sign_up_email",
            Purpose::SignUpPhone => "sign_up_phone",
            Purpose::SignIn => "sign_in",
            Purpose::SecondFactor => "second_factor",
            Purpose::ContactChange => "contact_change",
        }
    }
}

impl FromStr for Purpose {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Purpose, IdentityError> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| IdentityError::invalid("purpose", "unknown code purpose"))
    }
}

/// A new code: `code` goes to the user and nowhere else, `hash` and
/// `expires_at` (Unix seconds) to the store.
#[derive(Clone)]
pub struct IssuedCode {
    pub code: String,
    pub hash: [u8; 32],
    pub expires_at: i64,
}

impl fmt::Debug for IssuedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCode")
            .field("code", &"…")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl IssuedCode {
    /// The record to store, fresh: no tries yet.
    pub fn to_stored(&self, purpose: Purpose, binding: &str) -> StoredCode {
        StoredCode {
            hash: self.hash,
            purpose,
            binding: binding.to_owned(),
            expires_at: self.expires_at,
            checks: 0,
            is_consumed: false,
        }
    }
}

/// What the store keeps of a code.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCode {
    pub hash: [u8; 32],
    pub purpose: Purpose,
    pub binding: String,
    pub expires_at: i64,
    /// Wrong answers so far.
    pub checks: u32,
    pub is_consumed: bool,
}

impl fmt::Debug for StoredCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCode")
            .field("hash", &"…")
            .field("purpose", &self.purpose)
            .field("binding", &self.binding)
            .field("expires_at", &self.expires_at)
            .field("checks", &self.checks)
            .field("is_consumed", &self.is_consumed)
            .finish()
    }
}

/// The outcome of presenting a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong {
        checks_left: u32,
    },
    Expired,
    /// `MAX_CHECKS` wrong answers already: a new code is needed.
    Exhausted,
    /// Already accepted once.
    Consumed,
}

/// A code of `CODE_DIGITS` uniformly random digits, leading zeros kept.
fn random_code(rng: &mut (impl RngCore + CryptoRng)) -> String {
    loop {
        let draw = rng.next_u32();
        if draw < ACCEPT_BELOW {
            return format!("{:0width$}", draw % CODE_SPACE, width = CODE_DIGITS);
        }
    }
}

fn code_hash(key: &CodeKey, purpose: Purpose, binding: &str, code: &str) -> [u8; 32] {
    keyed_hash(
        key,
        &[
            CODE_LABEL,
            purpose.as_str().as_bytes(),
            binding.as_bytes(),
            code.as_bytes(),
        ],
    )
}

/// The key a destination (an address codes are sent to) is counted under:
/// an HMAC, so whoever reads the send counts learns no address.
pub fn destination_key(key: &CodeKey, address: &str) -> [u8; 32] {
    keyed_hash(key, &[b"gatehouse.code-destination.v1", address.as_bytes()])
}

/// A new code for `purpose` in the flow `binding`, valid for `ttl_seconds`
/// from `now`, clamped to 1..=600.
pub fn issue(
    key: &CodeKey,
    purpose: Purpose,
    binding: &str,
    now: i64,
    ttl_seconds: i64,
    rng: &mut (impl RngCore + CryptoRng),
) -> IssuedCode {
    let code = random_code(rng);
    let hash = code_hash(key, purpose, binding, &code);
    IssuedCode {
        code,
        hash,
        expires_at: now.saturating_add(ttl_seconds.clamp(1, MAX_CODE_TTL_SECONDS)),
    }
}

/// The digits of a presented code, with the spaces and dashes people type
/// removed; `None` unless exactly `CODE_DIGITS` ASCII digits remain.
fn normalise(presented: &str) -> Option<Zeroizing<String>> {
    if presented.len() > MAX_PRESENTED_BYTES {
        return None;
    }
    let digits: Zeroizing<String> = Zeroizing::new(
        presented
            .chars()
            .filter(|c| *c != ' ' && *c != '-')
            .collect(),
    );
    (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Checks `presented` against `stored` for `purpose` in flow `binding` at
/// `now`, and returns the outcome with the record to store in its place:
/// one more try counted after a wrong answer (malformed input included),
/// consumed after the right one, unchanged otherwise. The caller must store
/// the record before answering, or the try is not counted.
#[must_use]
pub fn check(
    key: &CodeKey,
    stored: &StoredCode,
    presented: &str,
    purpose: Purpose,
    binding: &str,
    now: i64,
) -> (CodeCheck, StoredCode) {
    if stored.is_consumed {
        return (CodeCheck::Consumed, stored.clone());
    }
    if stored.checks >= MAX_CHECKS {
        return (CodeCheck::Exhausted, stored.clone());
    }
    if now >= stored.expires_at {
        return (CodeCheck::Expired, stored.clone());
    }
    let is_right = normalise(presented).is_some_and(|digits| {
        let hash = code_hash(key, purpose, binding, &digits);
        let same_flow = stored.purpose == purpose && stored.binding == binding;
        bool::from(hash.ct_eq(&stored.hash)) && same_flow
    });
    let mut next = stored.clone();
    if is_right {
        next.is_consumed = true;
        return (CodeCheck::Accepted, next);
    }
    next.checks = stored.checks.saturating_add(1);
    let checks_left = MAX_CHECKS.saturating_sub(next.checks);
    (CodeCheck::Wrong { checks_left }, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out the scripted words, then zeros.
    struct Scripted(Vec<u32>);

    impl RngCore for Scripted {
        fn next_u32(&mut self) -> u32 {
            if self.0.is_empty() {
                0
            } else {
                self.0.remove(0)
            }
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            dest.fill(0);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl CryptoRng for Scripted {}

    #[test]
    fn draws_in_the_biased_tail_are_rejected() {
        // proves: ID-8 (rejection sampling: no modulo bias, leading zeros kept)
        let mut rng = Scripted(vec![ACCEPT_BELOW, u32::MAX, 12_345]);
        assert_eq!(random_code(&mut rng), "00012345");
        let mut rng = Scripted(vec![ACCEPT_BELOW - 1]);
        assert_eq!(random_code(&mut rng), "99999999");
    }

    #[test]
    fn keyed_hash_is_rfc_2104_hmac_with_length_prefixes() {
        // proves: ID-8 (the padded-key constructor equals plain HMAC-SHA256)
        let key = CodeKey::from_bytes([7u8; 32]);
        let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(&3u64.to_be_bytes());
        mac.update(b"abc");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(keyed_hash(&key, &[b"abc"]), expected);
        // Fields cannot run into each other.
        assert_ne!(
            keyed_hash(&key, &[b"ab", b"c"]),
            keyed_hash(&key, &[b"a", b"bc"])
        );
    }
}
