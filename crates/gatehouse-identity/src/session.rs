//! Sessions and refresh-token families (ID-9, TK-4), as pure decisions: the
//! caller loads the stored rows, asks here what to do, and stores the answer.
//!
//! A session ends when it has been idle too long, when it reaches its absolute
//! lifetime, or when something ends it (logout, an administrator, a password
//! change, …); whichever comes first. Each refresh token is used once: using
//! it spends it and issues the next one in the same family. A spent token
//! presented again means two parties hold the family (the token was stolen,
//! and either the thief or the owner used it first), so the whole family is
//! revoked and its session ended: there is no grace period in which a spent
//! token still works.
//!
//! Refresh tokens are 256 random bits, so a fast hash (SHA-256) is enough to
//! store them; the token itself is shown once and never stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::IdentityError;

const REFRESH_PREFIX: &str = "ghr_";
const REFRESH_BYTES: usize = 32;
/// `ghr_` and 43 characters of unpadded base64url (32 bytes).
pub const REFRESH_TOKEN_LEN: usize = 4 + 43;
/// No session outlives this, whatever a deployment sets.
pub const MAX_SESSION_SECONDS: i64 = 30 * 24 * 3600;

/// A deployment's session settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionRules {
    /// A session unused this long ends.
    pub idle_seconds: i64,
    /// A session ends this long after it began, however much it is used.
    pub absolute_seconds: i64,
    /// How long one refresh token lives.
    pub refresh_seconds: i64,
    /// Whether signing in ends the user's other sessions.
    pub is_single_session: bool,
}

impl Default for SessionRules {
    fn default() -> Self {
        Self {
            idle_seconds: 1800,
            absolute_seconds: 43_200,
            refresh_seconds: 43_200,
            is_single_session: false,
        }
    }
}

impl SessionRules {
    /// Every lifetime positive, none past the absolute one (a refresh token
    /// or an idle allowance longer than the session could never be used), and
    /// the absolute one at most 30 days.
    pub fn validate(&self) -> Result<(), IdentityError> {
        if !(1..=MAX_SESSION_SECONDS).contains(&self.absolute_seconds) {
            return Err(IdentityError::invalid(
                "absolute_seconds",
                "must be 1 to 2592000",
            ));
        }
        if !(1..=self.absolute_seconds).contains(&self.idle_seconds) {
            return Err(IdentityError::invalid(
                "idle_seconds",
                "must be positive and at most absolute_seconds",
            ));
        }
        if !(1..=self.absolute_seconds).contains(&self.refresh_seconds) {
            return Err(IdentityError::invalid(
                "refresh_seconds",
                "must be positive and at most absolute_seconds",
            ));
        }
        Ok(())
    }

    /// What a new sign-in does to the user's other sessions: under a single
    /// session rule they end as `replaced`.
    pub fn ends_other_sessions(&self) -> Option<EndReason> {
        self.is_single_session.then_some(EndReason::Replaced)
    }
}

/// Why a session ended, as the audit record names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Logout,
    Idle,
    Absolute,
    RefreshReuse,
    PasswordChanged,
    Locked,
    Disabled,
    Admin,
    Replaced,
    /// An authorization code was presented again (RFC 6749 §4.1.2).
    CodeReuse,
}

impl EndReason {
    pub const ALL: [EndReason; 10] = [
        Self::Logout,
        Self::Idle,
        Self::Absolute,
        Self::RefreshReuse,
        Self::PasswordChanged,
        Self::Locked,
        Self::Disabled,
        Self::Admin,
        Self::Replaced,
        Self::CodeReuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Idle => "idle",
            Self::Absolute => "absolute",
            Self::RefreshReuse => "refresh_reuse",
            Self::PasswordChanged => "password_changed",
            Self::Locked => "locked",
            Self::Disabled => "disabled",
            Self::Admin => "admin",
            Self::Replaced => "replaced",
            Self::CodeReuse => "code_reuse",
        }
    }
}

/// Refresh tokens: made here, stored by their hash.
pub struct RefreshToken;

impl RefreshToken {
    /// A new token, to give to the client once, and the hash to store.
    pub fn issue(rng: &mut (impl RngCore + CryptoRng)) -> (String, [u8; 32]) {
        let mut bytes = [0u8; REFRESH_BYTES];
        rng.fill_bytes(&mut bytes);
        let token = format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
        bytes.zeroize();
        let hash = hash(&token);
        (token, hash)
    }

    /// The hash to look a presented token up by, or `None` for anything that
    /// is not exactly a token's shape: checked length first, so an anonymous
    /// caller cannot make the server hash a megabyte, and canonical base64
    /// only, so one token has one spelling.
    pub fn hash_presented(presented: &str) -> Option<[u8; 32]> {
        if presented.len() != REFRESH_TOKEN_LEN {
            return None;
        }
        let encoded = presented.strip_prefix(REFRESH_PREFIX)?;
        let mut decoded = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let is_token = decoded.len() == REFRESH_BYTES;
        decoded.zeroize();
        is_token.then(|| hash(presented))
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A session's times, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Set when something ended the session before it expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<SessionEnd>,
}

/// When and why a session was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnd {
    pub at: i64,
    pub reason: EndReason,
}

/// Why the session is over at `now`, or `None` while it runs. A stored end
/// wins (whatever its time: an end is never undone by a clock), then the
/// absolute lifetime, then idleness. Each limit is reached at its exact second.
pub fn session_expiry(rules: &SessionRules, state: &SessionState, now: i64) -> Option<EndReason> {
    if let Some(end) = state.ended {
        return Some(end.reason);
    }
    if now >= state.created_at.saturating_add(rules.absolute_seconds) {
        return Some(EndReason::Absolute);
    }
    if now >= state.last_seen_at.saturating_add(rules.idle_seconds) {
        return Some(EndReason::Idle);
    }
    None
}

/// A refresh token's row: the hash it is found by is the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRefresh {
    /// Every token issued from one sign-in shares the family.
    pub family: String,
    pub session_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub spent_at: Option<i64>,
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// No such token: refuse.
    Unknown,
    /// Spend this token, issue the next in the same family expiring at
    /// `expires_at`, and mark the session seen.
    Rotate { expires_at: i64 },
    /// A spent token presented again: revoke the whole family and end its
    /// session with [`EndReason::RefreshReuse`].
    Reused,
    /// The token is past its lifetime: refuse (the session may still run).
    Expired,
    /// The token's session is over: refuse.
    SessionEnded(EndReason),
}

/// Decides on a presented refresh token, found by its hash (`None`: not
/// found). Reuse is checked first: a spent token is a theft signal even once
/// expired or after its session ended.
pub fn decide_refresh(
    rules: &SessionRules,
    stored: Option<&StoredRefresh>,
    session: &SessionState,
    now: i64,
) -> RefreshDecision {
    let Some(stored) = stored else {
        return RefreshDecision::Unknown;
    };
    if stored.spent_at.is_some() {
        return RefreshDecision::Reused;
    }
    if let Some(reason) = session_expiry(rules, session, now) {
        return RefreshDecision::SessionEnded(reason);
    }
    // The rules' lifetime caps a stored expiry set under longer rules.
    let expires_at = stored
        .expires_at
        .min(stored.issued_at.saturating_add(rules.refresh_seconds));
    if now >= expires_at {
        return RefreshDecision::Expired;
    }
    // The next token never outlives the session.
    let session_end = session.created_at.saturating_add(rules.absolute_seconds);
    RefreshDecision::Rotate {
        expires_at: now.saturating_add(rules.refresh_seconds).min(session_end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_have_the_presented_shape() {
        // proves: TK-4 (what is issued is what is accepted back)
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let (token, stored) = RefreshToken::issue(&mut rng);
        assert_eq!(token.len(), REFRESH_TOKEN_LEN);
        assert_eq!(RefreshToken::hash_presented(&token), Some(stored));
    }

    #[test]
    fn reasons_have_distinct_names() {
        let names: std::collections::BTreeSet<_> =
            EndReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), EndReason::ALL.len());
        for reason in EndReason::ALL {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }
}
