//! Signing in with an email address and a password (ID-4, ID-6, ID-7), and the
//! session and refresh tokens that follow (ID-9, TK-4).
//!
//! Every refusal is the same `401 invalid_credentials`, after the same work and
//! no sooner than 250 ms after the request began: an
//! unknown address, a wrong password, a locked, pending or disabled account, a
//! throttled source and a method the user's type does not allow each cost one
//! Argon2id verify (a dummy one when there is no hash to check) and the delay
//! the failures so far call for. The record names the real reason, for the
//! security team. Failures count per account (at most 100 in any hour, then a
//! lock that ends by itself) and per source (a fixed-size sketch); failures
//! against addresses with no account count too, in a bounded map, so an
//! unknown address behaves as a known one would.

use std::collections::HashMap;
use std::sync::Mutex;

use gatehouse_identity::contact::Email;
use gatehouse_identity::lockout::{source_key, AccountFailures, LockoutRules, SourceThrottle};
use gatehouse_identity::password::{
    BoundedHasher, Hasher, PasswordRules, MAX_PASSWORD_INPUT_BYTES,
};
use gatehouse_identity::session::SessionRules;
use gatehouse_store::UserRow;
use gatehouse_types::{ErrorCode, SecondFactor, SignInMethod};
use serde_json::json;

use crate::config::IdentityConfig;
use crate::error::{ApiFailure, ServerError};
use crate::pipeline::Audit;

/// Addresses with no account whose failures are remembered at once; past it
/// the map starts over (an attacker spraying addresses only resets it).
const MAX_UNKNOWN: usize = 10_000;

/// What signing people in needs, built once per server.
pub struct Identity {
    pub hasher: BoundedHasher,
    pub passwords: PasswordRules,
    pub sessions: SessionRules,
    pub lockout: LockoutRules,
    throttle: Mutex<SourceThrottle>,
    unknown: Mutex<HashMap<String, AccountFailures>>,
}

impl Identity {
    pub fn new(config: &IdentityConfig) -> Result<Identity, ServerError> {
        let mut rng = rand::rngs::OsRng;
        let hasher = Hasher::owasp(&mut rng)
            .map_err(|e| ServerError::Identity(format!("password hasher: {e}")))?;
        let mut passwords = PasswordRules::new();
        if let Some(path) = &config.password_blocklist_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ServerError::Identity(format!(
                    "identity.password_blocklist_file {}: {e}",
                    path.display()
                ))
            })?;
            passwords = passwords.with_blocklist(&text);
        }
        let throttle = SourceThrottle::new(
            gatehouse_identity::lockout::DEFAULT_PER_SOURCE_PER_MINUTE,
            &mut rng,
        )
        .map_err(|e| ServerError::Identity(format!("source throttle: {e}")))?;
        Ok(Identity {
            hasher: BoundedHasher::new(std::sync::Arc::new(hasher), config.max_concurrent_hashes),
            passwords,
            sessions: config.session_rules(),
            lockout: config.lockout_rules(),
            throttle: Mutex::new(throttle),
            unknown: Mutex::new(HashMap::new()),
        })
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, SourceThrottle> {
        match self.throttle.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn unknown(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccountFailures>> {
        match self.unknown.lock() {
            Ok(u) => u,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Whether `source` (an IP address as the record has it) is throttled now.
    pub fn is_source_throttled(&self, source: &str, now_s: i64) -> bool {
        source
            .parse()
            .map(|ip| self.throttle().is_throttled(&source_key(ip), now_s))
            .unwrap_or(false)
    }

    pub fn record_source_failure(&self, source: &str, now_s: i64) {
        if let Ok(ip) = source.parse() {
            self.throttle().record_failure(&source_key(ip), now_s);
        }
    }

    /// Counts a failure against an address with no account; returns the state.
    pub fn record_unknown_failure(&self, address: &str, now_s: i64) -> AccountFailures {
        let mut unknown = self.unknown();
        if unknown.len() >= MAX_UNKNOWN && !unknown.contains_key(address) {
            unknown.clear();
        }
        let next = unknown
            .get(address)
            .cloned()
            .unwrap_or_default()
            .record_failure(&self.lockout, now_s);
        unknown.insert(address.to_owned(), next.clone());
        next
    }
}

/// The one answer to every failed sign-in.
pub fn refused() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::InvalidCredentials,
        "sign-in failed: check the email address and password, or try again later",
    )
}

/// Why a sign-in failed, for the record only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    UnknownAccount,
    WrongPassword,
    Locked,
    NotActive,
    Throttled,
    MethodNotAllowed,
    NoPassword,
    /// The type needs a second factor; sign-in with one is not served yet.
    SecondFactorRequired,
    Malformed,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownAccount => "unknown_account",
            Self::WrongPassword => "wrong_password",
            Self::Locked => "locked",
            Self::NotActive => "not_active",
            Self::Throttled => "throttled",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NoPassword => "no_password_set",
            Self::SecondFactorRequired => "second_factor_required",
            Self::Malformed => "malformed",
        }
    }
}

/// Notes the failure in the record (never the password) and answers it.
pub fn note_failure(audit: &Audit, failure: Failure, user_id: Option<&str>) -> ApiFailure {
    audit.detail("sign_in_method", json!("password"));
    audit.detail("sign_in_outcome", json!("failure"));
    audit.detail("sign_in_failure", json!(failure.as_str()));
    if let Some(id) = user_id {
        audit.resource("user", id);
    }
    refused()
}

/// The address as an account is found by, or `Malformed`.
pub fn address(raw: &str, password: &str) -> Result<Email, Failure> {
    if password.len() > MAX_PASSWORD_INPUT_BYTES || password.is_empty() {
        return Err(Failure::Malformed);
    }
    Email::parse(raw).map_err(|_| Failure::Malformed)
}

/// What stops `user` signing in with a password before the password is
/// checked, if anything.
pub fn barrier(
    user: &UserRow,
    sign_in: &[SignInMethod],
    second_factor: SecondFactor,
    now_us: i64,
) -> Option<Failure> {
    if user.status == "locked" || user.locked_until_us.is_some_and(|t| t > now_us) {
        return Some(Failure::Locked);
    }
    if user.status != "active" {
        return Some(Failure::NotActive);
    }
    if !sign_in.contains(&SignInMethod::Password) {
        return Some(Failure::MethodNotAllowed);
    }
    if second_factor == SecondFactor::Required {
        return Some(Failure::SecondFactorRequired);
    }
    None
}

/// The account's failure state as stored.
pub fn failures_of(user: &UserRow) -> AccountFailures {
    AccountFailures {
        recent: serde_json::from_str(&user.recent_failures).unwrap_or_default(),
        locked_until: user.locked_until_us.map(|us| us / 1_000_000),
    }
}

/// No refusal is answered sooner than this after the request began: the paths
/// differ by a lookup or a write (a millisecond next to Argon2's tens), and the
/// floor hides that from a caller timing the answers.
pub const FAILURE_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);

/// `POST /v1/auth/password`: the whole sign-in, refusals made alike, none
/// answered before [`FAILURE_FLOOR`].
pub async fn with_password(
    state: &crate::app::AppState,
    audit: &Audit,
    request: gatehouse_types::PasswordSignInRequest,
) -> Result<gatehouse_types::SignInResponse, ApiFailure> {
    let started = tokio::time::Instant::now();
    let outcome = attempt(state, audit, request).await;
    if matches!(&outcome, Err(e) if e.code == ErrorCode::InvalidCredentials) {
        tokio::time::sleep_until(started + FAILURE_FLOOR).await;
    }
    outcome
}

async fn attempt(
    state: &crate::app::AppState,
    audit: &Audit,
    request: gatehouse_types::PasswordSignInRequest,
) -> Result<gatehouse_types::SignInResponse, ApiFailure> {
    let identity = &state.identity;
    let now_us = crate::clock::to_micros(state.clock.now());
    let now_s = now_us / 1_000_000;
    let source = audit.facts.source_ip.clone();
    let password = zeroize::Zeroizing::new(request.password);
    let email = match address(&request.email, &password) {
        Ok(email) => email,
        Err(failure) => return Err(note_failure(audit, failure, None)),
    };
    audit.detail("sign_in_address", json!(email.masked()));
    if identity.is_source_throttled(&source, now_s) {
        identity.hasher.verify_dummy(password.to_string()).await;
        return Err(note_failure(audit, Failure::Throttled, None));
    }
    let user = state.store.users().find_by_email(email.as_str()).await?;
    let Some(user) = user else {
        identity.hasher.verify_dummy(password.to_string()).await;
        identity.record_source_failure(&source, now_s);
        let failures = identity.record_unknown_failure(email.as_str(), now_s);
        tokio::time::sleep(failures.delay()).await;
        return Err(note_failure(audit, Failure::UnknownAccount, None));
    };
    let kind = crate::users::load_type(state.store.as_ref(), &user.user_type).await?;
    let credential = state
        .store
        .credentials()
        .find_credential(&user.id, "password")
        .await?;
    let blocked = barrier(&user, &kind.sign_in, kind.second_factor, now_us)
        .or(credential.is_none().then_some(Failure::NoPassword));
    let (Some(credential), None) = (credential, blocked) else {
        identity.hasher.verify_dummy(password.to_string()).await;
        let failure = blocked.unwrap_or(Failure::NoPassword);
        tokio::time::sleep(failures_of(&user).delay()).await;
        return Err(note_failure(audit, failure, Some(&user.id)));
    };
    let phc = String::from_utf8(credential.secret.clone()).map_err(|_| ApiFailure::internal())?;
    let verified = identity
        .hasher
        .verify(phc, password.to_string())
        .await
        .map_err(|_| ApiFailure::internal())?;
    if !verified.is_match {
        identity.record_source_failure(&source, now_s);
        let before = failures_of(&user);
        let after = before.record_failure(&identity.lockout, now_s);
        let recent = serde_json::to_string(&after.recent).map_err(|_| ApiFailure::internal())?;
        let locked_until_us = after.locked_until.map(|s| s.saturating_mul(1_000_000));
        state
            .store
            .credentials()
            .set_failures(&user.id, &recent, locked_until_us)
            .await?;
        if after.locked_until.is_some() && before.locked_until != after.locked_until {
            audit.detail("locked_until", json!(after.locked_until));
        }
        tokio::time::sleep(after.delay()).await;
        return Err(note_failure(audit, Failure::WrongPassword, Some(&user.id)));
    }
    if verified.needs_rehash {
        let rehashed = identity
            .hasher
            .hash(password.to_string(), &mut rand::rngs::OsRng)
            .await;
        if let Ok(new) = rehashed {
            state
                .store
                .credentials()
                .upgrade_secret(
                    &user.id,
                    "password",
                    &credential.secret,
                    new.as_bytes(),
                    now_us,
                )
                .await?;
            audit.detail("rehashed", json!(true));
        }
    }
    if !user.recent_failures.is_empty() && user.recent_failures != "[]" {
        state
            .store
            .credentials()
            .set_failures(&user.id, "[]", user.locked_until_us)
            .await?;
    }
    audit.detail("sign_in_method", json!("password"));
    audit.detail("sign_in_outcome", json!("success"));
    audit.resource("user", user.id.clone());
    let role = kind.role.clone().unwrap_or_else(|| "user".into());
    let user_agent = audit.facts.user_agent.clone();
    audit
        .commit_change(&state.audit, http::StatusCode::OK, |change| {
            let (user, role, source) = (&user, &role, &source);
            async move {
                crate::sessions::open(state, user, role, &["pwd"], source, &user_agent, &change)
                    .await
            }
        })
        .await
}
