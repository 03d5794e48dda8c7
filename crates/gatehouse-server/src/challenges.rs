//! Sign-in in steps (ID-4, ID-5, ID-8): a code by SMS or email as the only
//! factor (`/v1/auth/otp/start`, `/v1/auth/otp/verify`), and the second
//! factor after a first (`/v1/auth/mfa`: TOTP, a recovery code, or a code by
//! SMS).
//!
//! A step that needs another answers a challenge: a random id (only its
//! SHA-256 is stored), good for [`CHALLENGE_TTL_SECONDS`], once, for the
//! methods it names, for at most [`MAX_CHALLENGE_CHECKS`] wrong codes. An
//! address with no account (or one that may not sign in this way) gets a decoy
//! challenge: stored, counted and answered like a real one, no sooner than
//! [`OTP_FLOOR`], so the answers never say whether an account exists; its code
//! is never sent, so it can never be completed. Wrong codes count against the
//! account's hourly failures (ID-7) as wrong passwords do.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse_identity::code::{Purpose, MAX_CHECKS};
use gatehouse_identity::contact::{Email, Phone};
use gatehouse_identity::totp;
use gatehouse_identity::user_type::{SecondFactor, SignInMethod, UserType};
use gatehouse_messaging::Channel;
use gatehouse_store::{ChallengeRow, UserRow};
use gatehouse_types::{
    ChallengeMethod, ChallengeResponse, ErrorCode, MfaRequest, OtpStartRequest, OtpVerifyRequest,
};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::clock::to_micros;
use crate::codes::{self, Checked, Delivery};
use crate::error::ApiFailure;
use crate::pipeline::Audit;
use crate::sign_in::{self, Failure, Step, Via};

pub const CHALLENGE_TTL_SECONDS: i64 = 600;
/// Wrong TOTP or recovery codes a challenge takes (SMS and email codes count
/// their own tries, the same number).
pub const MAX_CHALLENGE_CHECKS: i64 = MAX_CHECKS as i64;
/// No answer to `otp/start` comes sooner than this after the request began: a
/// real send waits for the sender, a decoy does not.
pub const OTP_FLOOR: Duration = Duration::from_millis(400);
const PREFIX: &str = "ghc_";
const US: i64 = 1_000_000;

/// A new random id (`prefix` and 32 bytes in base64url) and the SHA-256 the
/// store keeps: challenge ids here, registration ids in `sign_up`.
pub(crate) fn new_secret_id(prefix: &str) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let id = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = Sha256::digest(id.as_bytes()).to_vec();
    (id, hash)
}

/// The stored hash of an id [`new_secret_id`] made with `prefix`; `None` when
/// `presented` cannot be one.
pub(crate) fn secret_id_hash(prefix: &str, presented: &str) -> Option<Vec<u8>> {
    let body = presented.strip_prefix(prefix)?;
    (body.len() == 43
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| Sha256::digest(presented.as_bytes()).to_vec())
}

fn new_id() -> (String, Vec<u8>) {
    new_secret_id(PREFIX)
}

fn id_hash(presented: &str) -> Option<Vec<u8>> {
    secret_id_hash(PREFIX, presented)
}

/// What codes of a challenge are bound to.
fn binding(id_hash: &[u8]) -> String {
    hex::encode(id_hash)
}

/// The amr value (RFC 8176) a method proves.
fn amr_of(method: ChallengeMethod) -> &'static str {
    match method {
        ChallengeMethod::Sms => "sms",
        ChallengeMethod::Email => "email",
        ChallengeMethod::Totp => "otp",
        ChallengeMethod::RecoveryCode => "rec",
    }
}

/// Whether a sign-in whose first factor was `first` (an amr value) needs a
/// second for `user`, and by which methods it may be made.
pub fn second_step(
    kind: &UserType,
    user: &UserRow,
    has_totp: bool,
    first: &str,
) -> (bool, Vec<ChallengeMethod>) {
    // A password alone is not enough when the type only signs in with a
    // password and an SMS code; anyone with TOTP enrolled is asked for it.
    let password_needs_sms = first == "pwd"
        && !kind.sign_in.contains(&SignInMethod::Password)
        && kind.sign_in.contains(&SignInMethod::PasswordAndPhoneCode);
    let is_needed = kind.second_factor == SecondFactor::Required || has_totp || password_needs_sms;
    let mut methods = Vec::new();
    if has_totp && !password_needs_sms {
        methods.extend([ChallengeMethod::Totp, ChallengeMethod::RecoveryCode]);
    }
    if first != "sms" && user.phone.is_some() && user.is_phone_verified {
        methods.push(ChallengeMethod::Sms);
    }
    (is_needed, methods)
}

/// Whether the user has a confirmed authenticator app (TOTP).
pub async fn has_totp(state: &AppState, user_id: &str) -> Result<bool, ApiFailure> {
    let totp = state
        .store
        .credentials()
        .find_credential(user_id, "totp")
        .await?;
    Ok(totp.is_some_and(|c| c.is_confirmed))
}

/// After a first factor: the session when it is enough, else a challenge
/// for the second (its SMS code sent at once when SMS is the only way).
/// `has_totp` is [`has_totp`]'s answer for the user (a password sign-in asks
/// it while the password is being verified).
pub async fn after_first_factor(
    state: &AppState,
    audit: &Audit,
    (user, kind, has_totp): (&UserRow, &UserType, bool),
    first: &str,
    via: &Via,
) -> Result<Step, ApiFailure> {
    let (is_needed, methods) = second_step(kind, user, has_totp, first);
    if !is_needed {
        return sign_in::open_session(state, audit, user, kind, &[first], via).await;
    }
    if methods.is_empty() {
        return Err(sign_in::note_failure(
            audit,
            Failure::NoSecondFactor,
            Some(&user.id),
        ));
    }
    let now_us = to_micros(state.clock.now());
    let (id, hash) = new_id();
    let sends_sms = methods == [ChallengeMethod::Sms];
    let phone = user.phone.clone().unwrap_or_default();
    let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
    let row = ChallengeRow {
        id_hash: hash.clone(),
        stage: "second_factor".into(),
        user_id: Some(user.id.clone()),
        methods: json!(methods).to_string(),
        amr: json!([first]).to_string(),
        destination: if sends_sms {
            masked.clone()
        } else {
            String::new()
        },
        source_ip: audit.facts.source_ip.clone(),
        created_at_us: now_us,
        expires_at_us: now_us.saturating_add(CHALLENGE_TTL_SECONDS * US),
        checks: 0,
        completed_at_us: None,
        authorization_hash: via.authorization_hash(),
    };
    prune(state, now_us).await;
    state.store.challenges().create_challenge(&row).await?;
    audit.detail("sign_in_outcome", json!("second_factor_required"));
    audit.resource("user", user.id.clone());
    if sends_sms {
        let delivery = Delivery {
            to: &phone,
            channel: Channel::Sms,
            masked: masked.clone(),
            is_real: true,
        };
        codes::send_code(
            state,
            audit,
            &binding(&hash),
            Purpose::SecondFactor,
            &delivery,
        )
        .await?;
    }
    Ok(Step::Challenge(ChallengeResponse {
        challenge_id: id,
        methods,
        sent_to: sends_sms.then_some(masked),
        expires_in: u64::try_from(CHALLENGE_TTL_SECONDS).unwrap_or(600),
    }))
}

/// Removes expired codes, challenges and sign-ups now and then (one call in
/// 64), so anonymous callers cannot grow the tables without bound.
async fn prune(state: &AppState, now_us: i64) {
    if !rand::rngs::OsRng.next_u32().is_multiple_of(64) {
        return;
    }
    let sends_before = now_us.saturating_sub(codes::SEND_WINDOW_SECONDS * US);
    if let Err(e) = state.store.challenges().prune(now_us, sends_before).await {
        tracing::warn!(error = %e, "pruning expired challenges failed");
    }
}

/// The account an `otp/start` names, if it may sign in that way; otherwise
/// why not (for the record).
async fn eligible(
    state: &AppState,
    channel: Channel,
    address: &str,
    now_us: i64,
) -> Result<Result<UserRow, Failure>, ApiFailure> {
    let users = state.store.users();
    let user = match channel {
        Channel::Email => users.find_by_email(address).await?,
        Channel::Sms => users.find_by_phone(address).await?,
    };
    let Some(user) = user else {
        return Ok(Err(Failure::UnknownAccount));
    };
    let kind = crate::users::load_type(state.store.as_ref(), &user.user_type).await?;
    let (method, is_verified) = match channel {
        Channel::Email => (SignInMethod::EmailCode, user.is_email_verified),
        Channel::Sms => (SignInMethod::PhoneCode, user.is_phone_verified),
    };
    if let Some(failure) = sign_in::barrier(&user, now_us) {
        return Ok(Err(failure));
    }
    if !kind.sign_in.contains(&method) || !is_verified {
        return Ok(Err(Failure::MethodNotAllowed));
    }
    Ok(Ok(user))
}

/// `POST /v1/auth/otp/start`: a code to the address, and the challenge to
/// complete with it; the same answer, no sooner than [`OTP_FLOOR`], whether
/// the address has an account or not.
pub async fn start_otp(
    state: &AppState,
    audit: &Audit,
    request: OtpStartRequest,
    via: &Via,
) -> Result<ChallengeResponse, ApiFailure> {
    let started = tokio::time::Instant::now();
    let outcome = start_otp_now(state, audit, request, via).await;
    if !matches!(&outcome, Err(e) if e.code == ErrorCode::ValidationFailed) {
        tokio::time::sleep_until(started + OTP_FLOOR).await;
    }
    outcome
}

async fn start_otp_now(
    state: &AppState,
    audit: &Audit,
    request: OtpStartRequest,
    via: &Via,
) -> Result<ChallengeResponse, ApiFailure> {
    let invalid = |m: &'static str| ApiFailure::new(ErrorCode::ValidationFailed, m);
    let (channel, address, masked) = match (&request.email, &request.phone) {
        (Some(email), None) => {
            let email = Email::parse(email).map_err(|_| invalid("email: not a valid address"))?;
            (Channel::Email, email.as_str().to_owned(), email.masked())
        }
        (None, Some(phone)) => {
            let phone = Phone::parse(phone)
                .map_err(|_| invalid("phone: must be E.164, a + and up to 15 digits"))?;
            (Channel::Sms, phone.as_str().to_owned(), phone.masked())
        }
        _ => return Err(invalid("give exactly one of email and phone")),
    };
    let method = match channel {
        Channel::Email => ChallengeMethod::Email,
        Channel::Sms => ChallengeMethod::Sms,
    };
    audit.detail("sign_in_method", json!(format!("{}_code", amr_of(method))));
    audit.detail("sign_in_address", json!(masked));
    let now_us = to_micros(state.clock.now());
    let user = match eligible(state, channel, &address, now_us).await? {
        Ok(user) => Some(user),
        Err(failure) => {
            audit.detail("sign_in_failure", json!(failure.as_str()));
            None
        }
    };
    if let Some(user) = &user {
        audit.resource("user", user.id.clone());
    }
    let (id, hash) = new_id();
    let row = ChallengeRow {
        id_hash: hash.clone(),
        stage: "first_factor".into(),
        user_id: user.as_ref().map(|u| u.id.clone()),
        methods: json!([method]).to_string(),
        amr: "[]".into(),
        destination: masked.clone(),
        source_ip: audit.facts.source_ip.clone(),
        created_at_us: now_us,
        expires_at_us: now_us.saturating_add(CHALLENGE_TTL_SECONDS * US),
        checks: 0,
        completed_at_us: None,
        authorization_hash: via.authorization_hash(),
    };
    prune(state, now_us).await;
    let delivery = Delivery {
        to: &address,
        channel,
        masked: masked.clone(),
        is_real: user.is_some(),
    };
    codes::send_code(state, audit, &binding(&hash), Purpose::SignIn, &delivery).await?;
    state.store.challenges().create_challenge(&row).await?;
    Ok(ChallengeResponse {
        challenge_id: id,
        methods: vec![method],
        sent_to: Some(masked),
        expires_in: u64::try_from(CHALLENGE_TTL_SECONDS).unwrap_or(600),
    })
}

/// The live challenge `presented` names at `stage`, or `challenge_expired`.
async fn live(
    state: &AppState,
    presented: &str,
    stage: &str,
    now_us: i64,
    via: &Via,
) -> Result<ChallengeRow, ApiFailure> {
    let hash = id_hash(presented).ok_or_else(codes::gone)?;
    let row = state
        .store
        .challenges()
        .find_challenge(&hash)
        .await?
        .ok_or_else(codes::gone)?;
    // A challenge finishes where it began: the API's through the API, a
    // hosted page's on that page.
    let is_live = row.stage == stage
        && row.authorization_hash == via.authorization_hash()
        && row.completed_at_us.is_none()
        && row.expires_at_us > now_us
        && row.checks < MAX_CHALLENGE_CHECKS;
    if is_live {
        Ok(row)
    } else {
        Err(codes::gone())
    }
}

fn methods_of(row: &ChallengeRow) -> Vec<ChallengeMethod> {
    serde_json::from_str(&row.methods).unwrap_or_default()
}

/// `POST /v1/auth/otp/verify`: the code sent by `otp/start`.
pub async fn verify_otp(
    state: &AppState,
    audit: &Audit,
    request: OtpVerifyRequest,
    via: &Via,
) -> Result<Step, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let row = live(state, &request.challenge_id, "first_factor", now_us, via).await?;
    let method = methods_of(&row).first().copied().ok_or_else(codes::gone)?;
    audit.detail("sign_in_method", json!(format!("{}_code", amr_of(method))));
    complete(state, audit, row, method, &request.code, via).await
}

/// `POST /v1/auth/mfa`: the second factor; with `sms` and no code, sends the
/// SMS code (again).
pub async fn mfa(
    state: &AppState,
    audit: &Audit,
    request: MfaRequest,
    via: &Via,
) -> Result<Step, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let row = live(state, &request.challenge_id, "second_factor", now_us, via).await?;
    let methods = methods_of(&row);
    if !methods.contains(&request.method) {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            "method: this challenge is not completed that way; use one of the methods it names",
        ));
    }
    audit.detail("second_factor", json!(request.method.as_str()));
    let Some(code) = request.code else {
        return resend_sms(state, audit, request.challenge_id, row, methods).await;
    };
    complete(state, audit, row, request.method, &code, via).await
}

async fn resend_sms(
    state: &AppState,
    audit: &Audit,
    challenge_id: String,
    row: ChallengeRow,
    methods: Vec<ChallengeMethod>,
) -> Result<Step, ApiFailure> {
    let user_id = row.user_id.clone().ok_or_else(codes::gone)?;
    let user = state
        .store
        .users()
        .find(&user_id)
        .await?
        .ok_or_else(codes::gone)?;
    let phone = user.phone.clone().ok_or_else(codes::gone)?;
    let masked = Phone::parse(&phone).map(|p| p.masked()).unwrap_or_default();
    let delivery = Delivery {
        to: &phone,
        channel: Channel::Sms,
        masked: masked.clone(),
        is_real: true,
    };
    codes::send_code(
        state,
        audit,
        &binding(&row.id_hash),
        Purpose::SecondFactor,
        &delivery,
    )
    .await?;
    let now_us = to_micros(state.clock.now());
    Ok(Step::Challenge(ChallengeResponse {
        challenge_id,
        methods,
        sent_to: Some(masked),
        expires_in: u64::try_from((row.expires_at_us - now_us).max(0) / US).unwrap_or(0),
    }))
}

/// Checks the code for `method`, then finishes the step: the next challenge
/// or the session.
async fn complete(
    state: &AppState,
    audit: &Audit,
    row: ChallengeRow,
    method: ChallengeMethod,
    presented: &str,
    via: &Via,
) -> Result<Step, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let challenges = state.store.challenges();
    let user_id = row.user_id.clone();
    let is_right = match (method, &user_id) {
        (ChallengeMethod::Sms | ChallengeMethod::Email, _) => {
            let purpose = if row.stage == "first_factor" {
                Purpose::SignIn
            } else {
                Purpose::SecondFactor
            };
            match codes::check_code(state, &binding(&row.id_hash), purpose, presented).await? {
                Checked::Accepted => true,
                Checked::Gone => return Err(codes::gone()),
                Checked::Wrong { checks_left } => {
                    if let Some(id) = &user_id {
                        sign_in::count_failure(state, audit, id, now_us).await?;
                    }
                    audit.detail("sign_in_outcome", json!("failure"));
                    audit.detail("sign_in_failure", json!("wrong_code"));
                    return Err(codes::wrong_code(checks_left));
                }
            }
        }
        (ChallengeMethod::Totp, Some(id)) => check_totp(state, id, presented, now_us).await?,
        (ChallengeMethod::RecoveryCode, Some(id)) => {
            check_recovery(state, id, presented, now_us).await?
        }
        (_, None) => false,
    };
    if !is_right {
        if let Some(id) = &user_id {
            sign_in::count_failure(state, audit, id, now_us).await?;
        }
        audit.detail("sign_in_outcome", json!("failure"));
        audit.detail("sign_in_failure", json!("wrong_code"));
        let counted = challenges
            .count_challenge_check(&row.id_hash, row.checks)
            .await?;
        let left = MAX_CHALLENGE_CHECKS - row.checks - 1;
        return Err(if counted && left > 0 {
            codes::wrong_code(u32::try_from(left).unwrap_or(0))
        } else {
            codes::gone()
        });
    }
    if !challenges.complete_challenge(&row.id_hash, now_us).await? {
        return Err(codes::gone());
    }
    let user_id = user_id.ok_or_else(codes::gone)?;
    let user = state
        .store
        .users()
        .find(&user_id)
        .await?
        .ok_or_else(codes::gone)?;
    audit.resource("user", user.id.clone());
    if let Some(failure) = sign_in::barrier(&user, now_us) {
        return Err(sign_in::note_failure(audit, failure, Some(&user.id)));
    }
    let kind = crate::users::load_type(state.store.as_ref(), &user.user_type).await?;
    if method == ChallengeMethod::RecoveryCode {
        audit.detail("recovery_code_used", json!(true));
    }
    if row.stage == "first_factor" {
        let has_totp = has_totp(state, &user.id).await?;
        return after_first_factor(state, audit, (&user, &kind, has_totp), amr_of(method), via)
            .await;
    }
    let mut amr: Vec<String> = serde_json::from_str(&row.amr).unwrap_or_default();
    amr.push(amr_of(method).to_owned());
    amr.push("mfa".to_owned());
    let amr: Vec<&str> = amr.iter().map(String::as_str).collect();
    sign_in::open_session(state, audit, &user, &kind, &amr, via).await
}

/// Whether `presented` is the user's authenticator's code now, never
/// accepted before (the step is stored by compare-and-swap: of two requests
/// with one code, one wins).
async fn check_totp(
    state: &AppState,
    user_id: &str,
    presented: &str,
    now_us: i64,
) -> Result<bool, ApiFailure> {
    let credentials = state.store.credentials();
    let Some(credential) = credentials.find_credential(user_id, "totp").await? else {
        return Ok(false);
    };
    if !credential.is_confirmed {
        return Ok(false);
    }
    let secret = crate::factors::open_totp(state, user_id, &credential.secret)?;
    let last = credential.last_step.and_then(|s| u64::try_from(s).ok());
    match totp::verify(&secret, presented, now_us / US, last) {
        Ok(step) => {
            let step = i64::try_from(step).map_err(|_| ApiFailure::internal())?;
            Ok(credentials
                .set_last_step(user_id, credential.last_step, step)
                .await?)
        }
        Err(_) => Ok(false),
    }
}

/// Whether `presented` is one of the user's unused recovery codes; if so it is
/// spent (compare-and-swap on the stored list).
async fn check_recovery(
    state: &AppState,
    user_id: &str,
    presented: &str,
    now_us: i64,
) -> Result<bool, ApiFailure> {
    let credentials = state.store.credentials();
    let Some(credential) = credentials.find_credential(user_id, "recovery").await? else {
        return Ok(false);
    };
    let mut hashes = crate::factors::recovery_hashes(&credential.secret)?;
    let Some(index) = totp::check_recovery(&state.identity.code_key, &hashes, presented) else {
        return Ok(false);
    };
    hashes.remove(index);
    let next = crate::factors::recovery_secret(&hashes);
    Ok(credentials
        .upgrade_secret(user_id, "recovery", &credential.secret, &next, now_us)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_only_well_formed_ones_are_looked_up() {
        let (a, hash) = new_id();
        let (b, _) = new_id();
        assert_ne!(a, b);
        assert_eq!(id_hash(&a), Some(hash));
        assert_eq!(id_hash("ghc_short"), None);
        assert_eq!(id_hash(&a.replace("ghc_", "ghr_")), None);
        assert_eq!(id_hash(&format!("{a}x")), None);
    }
}
