//! TOTP second factor (ID-4, ID-8) and its recovery codes.
//!
//! RFC 6238 as every authenticator app speaks it: HMAC-SHA-1, 6 digits, 30 s
//! steps, a 160-bit secret. A code is accepted for the step before, of, or
//! after now (one step of drift each way, ID-8), and only for a step later
//! than the last one accepted, so a code seen over a shoulder or replayed from
//! a log is worth nothing once used, nor is any older one. The caller stores
//! the step `verify` returns and throttles tries (`lockout`): 6 digits alone
//! would fall to a few hundred thousand guesses.
//!
//! Recovery codes stand in when the device is lost: ten of 50 random bits
//! each, shown once as `xxxxx-xxxxx` in Crockford's base32 (no i, l, o, u;
//! typed `o`, `i`, `l` are read as `0`, `1`, `1`), stored only as HMACs under
//! the [`CodeKey`], each good once.

use std::collections::HashSet;
use std::fmt;

use rand::{CryptoRng, RngCore};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use totp_rs::{Algorithm, TOTP};
use zeroize::{Zeroize, Zeroizing};

use crate::code::{keyed_hash, CodeKey};
use crate::IdentityError;

pub const TOTP_DIGITS: usize = 6;
pub const TOTP_STEP_SECONDS: u64 = 30;
pub const TOTP_SECRET_BYTES: usize = 20;
/// RFC 4226 §4 asks for at least 128 bits; longer than 64 bytes HMAC-SHA-1
/// would hash down anyway.
const MIN_SECRET_BYTES: usize = 16;
const MAX_SECRET_BYTES: usize = 64;
pub const RECOVERY_CODES: usize = 10;
const RECOVERY_CHARS: usize = 10;
const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LABEL: &[u8] = b"gatehouse.recovery-code.v1";
/// Presented input longer than this (bytes) is refused without being read.
const MAX_PRESENTED_BYTES: usize = 32;

/// A TOTP secret, zeroized on drop, never printed.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> TotpSecret {
        let mut bytes = vec![0u8; TOTP_SECRET_BYTES];
        rng.fill_bytes(&mut bytes);
        TotpSecret(bytes)
    }

    /// A stored secret: 16 to 64 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<TotpSecret, IdentityError> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(IdentityError::invalid(
                "totp_secret",
                "must be 16 to 64 bytes",
            ));
        }
        Ok(TotpSecret(bytes.to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut out = String::with_capacity(self.0.len().div_ceil(5) * 8);
        for chunk in self.0.chunks(5) {
            let mut buf = [0u8; 5];
            buf[..chunk.len()].copy_from_slice(chunk);
            let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            let symbols = (chunk.len() * 8).div_ceil(5);
            for i in 0..symbols {
                let index = (bits >> (35 - 5 * i)) & 0x1f;
                out.push(char::from(ALPHABET[index as usize]));
            }
            buf.zeroize();
        }
        out
    }
}

impl Drop for TotpSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

/// Why a TOTP code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpRejection {
    #[error("the code is wrong")]
    Wrong,
    /// Right for a step already used, or older than one used.
    #[error("the code was already used")]
    Replayed,
    #[error("the code must be 6 digits")]
    Malformed,
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The `otpauth://` URI an authenticator app scans (Google Authenticator's
/// key URI format). It holds the secret: show it once, never log it. Issuer
/// and account may not be empty, hold a `:` (the label's separator) or
/// control characters.
pub fn enrolment(
    secret: &TotpSecret,
    issuer: &str,
    account: &str,
) -> Result<Zeroizing<String>, IdentityError> {
    for (field, value) in [("issuer", issuer), ("account", account)] {
        if value.trim().is_empty() || value.contains(':') || value.chars().any(char::is_control) {
            return Err(IdentityError::invalid(
                field,
                "must be non-empty, without ':' or control characters",
            ));
        }
    }
    let issuer = percent_encode(issuer);
    let secret = Zeroizing::new(secret.to_base32());
    Ok(Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.as_str(),
    )))
}

/// Checks `presented` at `now_s` (Unix seconds). Accepts the code of the step
/// before, of or after now, if that step is later than `last_step`; returns
/// the step, for the caller to store as the new `last_step`.
pub fn verify(
    secret: &TotpSecret,
    presented: &str,
    now_s: i64,
    last_step: Option<u64>,
) -> Result<u64, TotpRejection> {
    if presented.len() > MAX_PRESENTED_BYTES {
        return Err(TotpRejection::Malformed);
    }
    // Apps show "123 456"; people type what they see.
    let digits: Zeroizing<String> =
        Zeroizing::new(presented.chars().filter(|c| *c != ' ').collect());
    if digits.len() != TOTP_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpRejection::Malformed);
    }
    let Ok(now) = u64::try_from(now_s) else {
        return Err(TotpRejection::Wrong);
    };
    let Ok(mut totp) = TOTP::new(
        Algorithm::SHA1,
        TOTP_DIGITS,
        0,
        TOTP_STEP_SECONDS,
        secret.0.clone(),
    ) else {
        return Err(TotpRejection::Wrong);
    };
    let current = now / TOTP_STEP_SECONDS;
    let candidates = [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ];
    // Every candidate is computed and compared, so timing does not say which
    // step matched; of the matches, the latest usable one is taken.
    let mut is_any_match = Choice::from(0);
    let mut is_accepted = Choice::from(0);
    let mut accepted_step = 0u64;
    for step in candidates.into_iter().flatten() {
        let Some(time) = step.checked_mul(TOTP_STEP_SECONDS) else {
            continue;
        };
        let expected = Zeroizing::new(totp.generate(time));
        let is_match = expected.as_bytes().ct_eq(digits.as_bytes());
        let is_fresh = Choice::from(u8::from(last_step.is_none_or(|last| step > last)));
        is_any_match |= is_match;
        let is_usable = is_match & is_fresh;
        accepted_step.conditional_assign(&step, is_usable);
        is_accepted |= is_usable;
    }
    totp.secret.zeroize();
    if bool::from(is_accepted) {
        Ok(accepted_step)
    } else if bool::from(is_any_match) {
        Err(TotpRejection::Replayed)
    } else {
        Err(TotpRejection::Wrong)
    }
}

fn recovery_hash(key: &CodeKey, canonical: &str) -> [u8; 32] {
    keyed_hash(key, &[RECOVERY_LABEL, canonical.as_bytes()])
}

/// Ten symbols from 50 random bits.
fn random_recovery(rng: &mut (impl RngCore + CryptoRng)) -> Zeroizing<String> {
    let bits = rng.next_u64();
    let mut code = Zeroizing::new(String::with_capacity(RECOVERY_CHARS));
    for i in 0..RECOVERY_CHARS {
        let index = (bits >> (5 * i)) & 0x1f;
        code.push(char::from(CROCKFORD[index as usize]));
    }
    code
}

/// `RECOVERY_CODES` distinct codes: the ones to show once (`xxxxx-xxxxx`),
/// and the hashes to store, in the same order.
pub fn issue_recovery(
    key: &CodeKey,
    rng: &mut (impl RngCore + CryptoRng),
) -> (Vec<String>, Vec<[u8; 32]>) {
    let mut seen = HashSet::new();
    let mut shown = Vec::with_capacity(RECOVERY_CODES);
    let mut stored = Vec::with_capacity(RECOVERY_CODES);
    while shown.len() < RECOVERY_CODES {
        let code = random_recovery(rng);
        let hash = recovery_hash(key, &code);
        if seen.insert(hash) {
            let (head, tail) = code.split_at(RECOVERY_CHARS / 2);
            shown.push(format!("{head}-{tail}"));
            stored.push(hash);
        }
    }
    (shown, stored)
}

/// The canonical form of a typed recovery code: lowercase, dashes and spaces
/// dropped, Crockford's look-alikes mapped; `None` unless 10 symbols remain.
fn canonical_recovery(presented: &str) -> Option<Zeroizing<String>> {
    if presented.len() > MAX_PRESENTED_BYTES {
        return None;
    }
    let mut out = Zeroizing::new(String::with_capacity(RECOVERY_CHARS));
    for c in presented.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !CROCKFORD.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == RECOVERY_CHARS).then_some(out)
}

/// The index in `stored` of the code presented, for the caller to remove (a
/// recovery code is good once). Every stored hash is compared, so timing does
/// not say which one matched.
pub fn check_recovery(key: &CodeKey, stored: &[[u8; 32]], presented: &str) -> Option<usize> {
    let canonical = canonical_recovery(presented)?;
    let hash = recovery_hash(key, &canonical);
    let mut is_found = Choice::from(0);
    let mut found = 0u64;
    for (index, candidate) in stored.iter().enumerate() {
        let is_match = candidate.ct_eq(&hash) & !is_found;
        found.conditional_assign(&(index as u64), is_match);
        is_found |= is_match;
    }
    bool::from(is_found)
        .then(|| usize::try_from(found).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648() {
        // proves: ID-4 (the secret an app is given is the one the server holds)
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        assert_eq!(secret.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let odd = TotpSecret(b"foobar".to_vec());
        assert_eq!(odd.to_base32(), "MZXW6YTBOI");
    }

    #[test]
    fn look_alikes_read_as_digits() {
        // proves: ID-8 (o/i/l typed for 0/1 are the same code)
        let canonical = canonical_recovery("OIL23-abcde").unwrap();
        assert_eq!(canonical.as_str(), "01123abcde");
        assert!(canonical_recovery("uuuuu-uuuuu").is_none());
        assert!(canonical_recovery("ééééé-ééééé").is_none());
    }

    #[test]
    fn control_characters_and_colons_are_refused_in_the_label() {
        // proves: ID-4 (the URI's label cannot be forged by the account name)
        let secret = TotpSecret::from_bytes(&[1u8; 20]).unwrap();
        assert!(enrolment(&secret, "Gate:house", "alice").is_err());
        assert!(enrolment(&secret, "Gatehouse", "al\nice").is_err());
        assert!(enrolment(&secret, " ", "alice").is_err());
    }
}
