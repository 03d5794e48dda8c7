//! The `[identity]` section: sessions, refresh tokens, lockout and password
//! hashing for people signing in (ID-6, ID-7, ID-9, TK-4).

use std::path::PathBuf;

use gatehouse_identity::lockout::LockoutRules;
use gatehouse_identity::session::SessionRules;
use serde::Deserialize;

use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// A session unused this long ends (60 s to 30 days).
    pub session_idle_seconds: i64,
    /// A session ends this long after sign-in, used or not (60 s to 30 days).
    pub session_absolute_seconds: i64,
    /// When true, signing in ends the user's other sessions (ID-9).
    pub is_single_session: bool,
    /// Failed sign-ins an account may have in any hour before it is locked
    /// (1 to 100).
    pub max_failures_per_hour: u32,
    /// How long a lockout lasts at least (60 s to a day); it also lasts until
    /// the oldest failure counted leaves the hour.
    pub lock_seconds: i64,
    /// Argon2id hashes run at once (1 to 64): each takes 19 MiB. The default is
    /// the number of cores: more only makes each slower (they contend for the
    /// caches and memory bandwidth) and starves the rest of the server.
    pub max_concurrent_hashes: usize,
    /// Passwords refused on top of zxcvbn's lists: one per line, `#` comments.
    pub password_blocklist_file: Option<PathBuf>,
    /// The issuer authenticator apps show beside a TOTP code (1 to 64
    /// characters, no `:`).
    pub totp_issuer: String,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        let sessions = SessionRules::default();
        let lockout = LockoutRules::default();
        Self {
            session_idle_seconds: sessions.idle_seconds,
            session_absolute_seconds: sessions.absolute_seconds,
            is_single_session: sessions.is_single_session,
            max_failures_per_hour: lockout.max_failures_per_hour,
            lock_seconds: lockout.lock_seconds,
            max_concurrent_hashes: std::thread::available_parallelism()
                .map(|n| n.get().min(64))
                .unwrap_or(2),
            password_blocklist_file: None,
            totp_issuer: "Gatehouse".into(),
        }
    }
}

impl IdentityConfig {
    pub fn session_rules(&self) -> SessionRules {
        SessionRules {
            idle_seconds: self.session_idle_seconds,
            absolute_seconds: self.session_absolute_seconds,
            refresh_seconds: self.session_absolute_seconds,
            is_single_session: self.is_single_session,
        }
    }

    pub fn lockout_rules(&self) -> LockoutRules {
        LockoutRules {
            max_failures_per_hour: self.max_failures_per_hour,
            lock_seconds: self.lock_seconds,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        const MONTH: i64 = 30 * 24 * 3600;
        let issuer = &self.totp_issuer;
        if issuer.trim().is_empty()
            || issuer.chars().count() > 64
            || issuer.contains(':')
            || issuer.chars().any(char::is_control)
        {
            return invalid(
                "identity.totp_issuer",
                "must be 1 to 64 characters, without ':' or control characters",
            );
        }
        if !(60..=MONTH).contains(&self.session_absolute_seconds) {
            return invalid("identity.session_absolute_seconds", "must be 60 to 2592000");
        }
        if !(60..=self.session_absolute_seconds).contains(&self.session_idle_seconds) {
            return invalid(
                "identity.session_idle_seconds",
                "must be 60 to identity.session_absolute_seconds",
            );
        }
        if !(1..=100).contains(&self.max_failures_per_hour) {
            return invalid("identity.max_failures_per_hour", "must be 1 to 100");
        }
        if !(60..=86_400).contains(&self.lock_seconds) {
            return invalid("identity.lock_seconds", "must be 60 to 86400");
        }
        if !(1..=64).contains(&self.max_concurrent_hashes) {
            return invalid("identity.max_concurrent_hashes", "must be 1 to 64");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn out_of_range_values_are_refused_naming_their_key() {
        // proves: ID-7, ID-9
        assert!(IdentityConfig::default().validate().is_ok());
        type Tweak = fn(&mut IdentityConfig);
        let cases: [(&str, Tweak); 5] = [
            ("identity.max_failures_per_hour", |c| {
                c.max_failures_per_hour = 101
            }),
            ("identity.lock_seconds", |c| c.lock_seconds = 0),
            ("identity.session_idle_seconds", |c| {
                c.session_idle_seconds = c.session_absolute_seconds + 1
            }),
            ("identity.session_absolute_seconds", |c| {
                c.session_absolute_seconds = 31 * 24 * 3600
            }),
            ("identity.max_concurrent_hashes", |c| {
                c.max_concurrent_hashes = 0
            }),
        ];
        for (key, tweak) in cases {
            let mut config = IdentityConfig::default();
            tweak(&mut config);
            match config.validate() {
                Err(ConfigError::Invalid { key: named, .. }) => assert_eq!(named, key),
                other => panic!("{key}: {other:?}"),
            }
        }
    }
}
