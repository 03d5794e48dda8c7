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

use gatehouse_identity::code::CodeKey;
use gatehouse_identity::contact::Email;
use gatehouse_identity::lockout::{source_key, AccountFailures, LockoutRules, SourceThrottle};
use gatehouse_identity::password::{
    BoundedHasher, Hasher, PasswordRules, MAX_PASSWORD_INPUT_BYTES,
};
use gatehouse_identity::session::SessionRules;
use gatehouse_messaging::Senders;
use gatehouse_store::UserRow;
use gatehouse_tokens::Kek;
use gatehouse_types::{ChallengeResponse, ErrorCode, SignInMethod, SignInResponse, SignInStep};
use serde_json::json;

use crate::config::IdentityConfig;
use crate::error::{ApiFailure, ServerError};
use crate::pipeline::Audit;

/// Addresses with no account whose failures are remembered at once; past it
/// the map starts over (an attacker spraying addresses only resets it).
const MAX_UNKNOWN: usize = 10_000;

/// Codes one source may have sent per minute, to any addresses (ID-8).
const SENDS_PER_SOURCE_PER_MINUTE: u32 = 10;

/// What signing people in needs, built once per server.
pub struct Identity {
    pub hasher: BoundedHasher,
    pub passwords: PasswordRules,
    pub sessions: SessionRules,
    pub lockout: LockoutRules,
    /// Keys one-time and recovery codes, and the send limit's destinations.
    pub code_key: CodeKey,
    /// Seals TOTP secrets at rest (derived from the key-encryption key).
    pub totp_kek: Kek,
    pub senders: Senders,
    /// The issuer named in authenticator apps.
    pub totp_issuer: String,
    /// The SMS provider whose delivery reports are accepted, if one is
    /// configured.
    pub sms_provider: Option<gatehouse_messaging::SmsSenderConfig>,
    /// The directory people may sign in with, if one is configured.
    pub directory: Option<gatehouse_directory::Directory>,
    throttle: Mutex<SourceThrottle>,
    sends: Mutex<SourceThrottle>,
    unknown: Mutex<HashMap<String, AccountFailures>>,
}

impl Identity {
    /// `kek` is the key-encryption key kept outside the database: the code
    /// key and the TOTP sealing key are derived from it.
    pub fn new(
        config: &IdentityConfig,
        kek: &Kek,
        senders: Senders,
        sms_provider: Option<gatehouse_messaging::SmsSenderConfig>,
        directory: Option<&gatehouse_directory::DirectoryConfig>,
    ) -> Result<Identity, ServerError> {
        let directory = directory
            .map(|c| gatehouse_directory::Directory::new(c.clone()))
            .transpose()
            .map_err(|e| ServerError::Identity(format!("directory: {e}")))?;
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
        let sends = SourceThrottle::new(SENDS_PER_SOURCE_PER_MINUTE, &mut rng)
            .map_err(|e| ServerError::Identity(format!("send throttle: {e}")))?;
        Ok(Identity {
            hasher: BoundedHasher::new(std::sync::Arc::new(hasher), config.max_concurrent_hashes)
                .map_err(|e| ServerError::Identity(format!("password hashing threads: {e}")))?,
            passwords,
            sessions: config.session_rules(),
            lockout: config.lockout_rules(),
            code_key: CodeKey::from_bytes(*kek.derive("gatehouse.code-key.v1")),
            totp_kek: Kek::from_bytes(kek.derive("gatehouse.totp-seal.v1")),
            senders,
            totp_issuer: config.totp_issuer.clone(),
            directory,
            sms_provider,
            throttle: Mutex::new(throttle),
            sends: Mutex::new(sends),
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

    fn sends(&self) -> std::sync::MutexGuard<'_, SourceThrottle> {
        match self.sends.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Whether `source` has had as many codes sent as a minute allows.
    pub fn is_send_throttled(&self, source: &str, now_s: i64) -> bool {
        source
            .parse()
            .map(|ip| self.sends().is_throttled(&source_key(ip), now_s))
            .unwrap_or(false)
    }

    pub fn record_send(&self, source: &str, now_s: i64) {
        if let Ok(ip) = source.parse() {
            self.sends().record_failure(&source_key(ip), now_s);
        }
    }

    /// The key an address's sends are counted under (an HMAC: the table
    /// holds no address).
    pub fn destination_key(&self, address: &str) -> [u8; 32] {
        gatehouse_identity::code::destination_key(&self.code_key, address)
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
    /// A second factor is needed and the user has none to give.
    NoSecondFactor,
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
            Self::NoSecondFactor => "no_second_factor",
            Self::Malformed => "malformed",
        }
    }
}

/// Notes the failure in the record (never the password) and answers it.
pub fn note_failure(audit: &Audit, failure: Failure, user_id: Option<&str>) -> ApiFailure {
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

/// What stops `user` signing in at all (any method), if anything: a lock
/// (an administrator's, or the hourly failures'), or a status other than
/// active (pending approval, disabled).
pub fn barrier(user: &UserRow, now_us: i64) -> Option<Failure> {
    if user.status == "locked" || user.locked_until_us.is_some_and(|t| t > now_us) {
        return Some(Failure::Locked);
    }
    if user.status != "active" {
        return Some(Failure::NotActive);
    }
    None
}

/// Whether the type lets its users start with a password (alone, or with an
/// SMS code after it).
fn allows_password(sign_in: &[SignInMethod]) -> bool {
    sign_in.contains(&SignInMethod::Password)
        || sign_in.contains(&SignInMethod::PasswordAndPhoneCode)
}

/// Counts a failed step (a wrong password or code) against the user and the
/// source (ID-7), locks the account past the hourly limit, and waits the
/// delay the failures so far call for.
pub async fn count_failure(
    state: &crate::app::AppState,
    audit: &Audit,
    user_id: &str,
    now_us: i64,
) -> Result<(), ApiFailure> {
    let identity = &state.identity;
    let now_s = now_us / 1_000_000;
    identity.record_source_failure(&audit.facts.source_ip, now_s);
    let Some(user) = state.store.users().find(user_id).await? else {
        return Ok(());
    };
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
    Ok(())
}

/// Where a sign-in began, and so where it finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `/v1/auth/…`: the session's tokens go to the caller.
    Api,
    /// The hosted page of an authorization request (its id's SHA-256): the
    /// request records who signed in, and its client gets a code.
    Authorization(Vec<u8>),
}

impl Via {
    /// What a challenge begun this way stores.
    pub fn authorization_hash(&self) -> Option<Vec<u8>> {
        match self {
            Via::Api => None,
            Via::Authorization(hash) => Some(hash.clone()),
        }
    }
}

/// What a sign-in step comes to.
#[derive(Debug)]
pub enum Step {
    SignedIn(SignInResponse),
    Challenge(ChallengeResponse),
    /// Every factor proven for an authorization request ([`Via::Authorization`]).
    Authenticated,
}

impl Step {
    /// The API's answer (a sign-in through the API never ends `Authenticated`).
    pub fn into_api(self) -> Result<SignInStep, ApiFailure> {
        match self {
            Step::SignedIn(response) => Ok(SignInStep::SignedIn(response)),
            Step::Challenge(challenge) => Ok(SignInStep::ChallengeRequired(challenge)),
            Step::Authenticated => Err(ApiFailure::internal()),
        }
    }
}

/// Opens the session once every factor the sign-in needs is proven, with its
/// record (the request's own); for an authorization request, records who
/// signed in on it instead.
pub async fn open_session(
    state: &crate::app::AppState,
    audit: &Audit,
    user: &UserRow,
    kind: &gatehouse_identity::user_type::UserType,
    amr: &[&str],
    via: &Via,
) -> Result<Step, ApiFailure> {
    audit.detail("sign_in_outcome", json!("success"));
    audit.detail("amr", json!(amr));
    audit.resource("user", user.id.clone());
    if let Via::Authorization(hash) = via {
        crate::authorization::authenticated(state, audit, hash, user, amr).await?;
        return Ok(Step::Authenticated);
    }
    let role = kind.role.clone().unwrap_or_else(|| "user".into());
    let source = audit.facts.source_ip.clone();
    let user_agent = audit.facts.user_agent.clone();
    let response = audit
        .commit_change(&state.audit, http::StatusCode::OK, |change| {
            let (role, source) = (&role, &source);
            async move {
                crate::sessions::open(state, user, role, amr, source, &user_agent, &change).await
            }
        })
        .await?;
    Ok(Step::SignedIn(response))
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
    via: &Via,
) -> Result<Step, ApiFailure> {
    let started = tokio::time::Instant::now();
    let outcome = attempt(state, audit, request, via).await;
    if matches!(&outcome, Err(e) if e.code == ErrorCode::InvalidCredentials) {
        tokio::time::sleep_until(started + FAILURE_FLOOR).await;
    }
    outcome
}

async fn attempt(
    state: &crate::app::AppState,
    audit: &Audit,
    request: gatehouse_types::PasswordSignInRequest,
    via: &Via,
) -> Result<Step, ApiFailure> {
    let identity = &state.identity;
    let now_us = crate::clock::to_micros(state.clock.now());
    let now_s = now_us / 1_000_000;
    let source = audit.facts.source_ip.clone();
    let password = zeroize::Zeroizing::new(request.password);
    audit.detail("sign_in_method", json!("password"));
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
    // The type and the password asked together; the authenticator app while
    // the password is verified (a sign-in's lookups add nothing to its time
    // that can run beside the hash).
    let (kind, credential) = tokio::try_join!(
        crate::users::load_type(state.store.as_ref(), &user.user_type),
        async {
            let found = state
                .store
                .credentials()
                .find_credential(&user.id, "password")
                .await?;
            Ok::<_, ApiFailure>(found)
        },
    )?;
    let blocked = barrier(&user, now_us)
        .or((!allows_password(&kind.sign_in)).then_some(Failure::MethodNotAllowed))
        .or(credential.is_none().then_some(Failure::NoPassword));
    let (Some(credential), None) = (credential, blocked) else {
        identity.hasher.verify_dummy(password.to_string()).await;
        let failure = blocked.unwrap_or(Failure::NoPassword);
        tokio::time::sleep(failures_of(&user).delay()).await;
        return Err(note_failure(audit, failure, Some(&user.id)));
    };
    let phc = String::from_utf8(credential.secret.clone()).map_err(|_| ApiFailure::internal())?;
    let (verified, has_totp) = tokio::join!(
        identity.hasher.verify(phc, password.to_string()),
        crate::challenges::has_totp(state, &user.id),
    );
    let verified = verified.map_err(|_| ApiFailure::internal())?;
    if !verified.is_match {
        count_failure(state, audit, &user.id, now_us).await?;
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
    crate::challenges::after_first_factor(state, audit, (&user, &kind, has_totp?), "pwd", via).await
}
