//! A signed-in person's own factors (ID-4, ID-5, ID-6, ID-8): TOTP enrolment
//! (an `otpauth://` URI to scan, confirmed with a code before it counts, then
//! ten recovery codes shown once), its removal, and changing their password.
//!
//! TOTP secrets are sealed at rest (XChaCha20-Poly1305 under a key derived
//! from the key-encryption key, the user bound in), recovery codes kept as
//! HMACs. Removing a factor or changing the password is recorded, and a
//! password change ends every session of the person and refuses every token
//! issued to them until then.

use gatehouse_identity::totp::{self, TotpSecret};
use gatehouse_store::{CredentialRow, UserRow};
use gatehouse_types::{
    ChangePasswordRequest, ErrorCode, FactorsResponse, RecoveryCodesResponse, TotpEnrolmentResponse,
};
use serde_json::json;

use crate::app::AppState;
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::{Principal, RecordChange};

const US: i64 = 1_000_000;

/// The person a `/v1/me` call is made by; other callers (API tokens,
/// clients) have no profile.
pub async fn me(state: &AppState, caller: &Principal) -> Result<UserRow, ApiFailure> {
    let grant = caller.user_grant().ok_or_else(|| {
        ApiFailure::new(
            ErrorCode::NotFound,
            "only a signed-in person has a profile: this credential is an API token or a client",
        )
    })?;
    state
        .store
        .users()
        .find(&grant.user_id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("user"))
}

/// The associated data a user's TOTP secret is sealed with.
fn totp_kid(user_id: &str) -> String {
    format!("totp:{user_id}")
}

pub fn open_totp(state: &AppState, user_id: &str, sealed: &[u8]) -> Result<TotpSecret, ApiFailure> {
    let bytes = gatehouse_tokens::seal::open(&state.identity.totp_kek, &totp_kid(user_id), sealed)
        .map_err(|_| {
            tracing::error!("a stored TOTP secret does not open");
            ApiFailure::internal()
        })?;
    TotpSecret::from_bytes(&bytes).map_err(|_| ApiFailure::internal())
}

pub fn seal_totp(
    state: &AppState,
    user_id: &str,
    secret: &TotpSecret,
) -> Result<Vec<u8>, ApiFailure> {
    gatehouse_tokens::seal::seal(
        &state.identity.totp_kek,
        &totp_kid(user_id),
        secret.as_bytes(),
        &mut rand::rngs::OsRng,
    )
    .map_err(|_| ApiFailure::internal())
}

/// The recovery codes' HMACs as stored (a JSON array of hex strings).
pub fn recovery_hashes(secret: &[u8]) -> Result<Vec<[u8; 32]>, ApiFailure> {
    let hex_hashes: Vec<String> =
        serde_json::from_slice(secret).map_err(|_| ApiFailure::internal())?;
    hex_hashes
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(ApiFailure::internal)
        })
        .collect()
}

pub fn recovery_secret(hashes: &[[u8; 32]]) -> Vec<u8> {
    let hex_hashes: Vec<String> = hashes.iter().map(hex::encode).collect();
    json!(hex_hashes).to_string().into_bytes()
}

/// `GET /v1/me/factors`.
pub async fn list(state: &AppState, user: &UserRow) -> Result<FactorsResponse, ApiFailure> {
    let credentials = state.store.credentials();
    let password = credentials.find_credential(&user.id, "password").await?;
    let totp = credentials.find_credential(&user.id, "totp").await?;
    let recovery = credentials.find_credential(&user.id, "recovery").await?;
    let left = match recovery {
        Some(row) => recovery_hashes(&row.secret)?.len(),
        None => 0,
    };
    Ok(FactorsResponse {
        has_password: password.is_some(),
        has_totp: totp.is_some_and(|t| t.is_confirmed),
        recovery_codes_left: u32::try_from(left).unwrap_or(0),
        email: user.email.clone(),
        is_email_verified: user.is_email_verified,
        phone: user.phone.clone(),
        is_phone_verified: user.is_phone_verified,
    })
}

fn credential(
    user_id: &str,
    kind: &str,
    secret: Vec<u8>,
    confirmed: bool,
    now_us: i64,
) -> CredentialRow {
    CredentialRow {
        user_id: user_id.to_owned(),
        kind: kind.to_owned(),
        secret,
        last_step: None,
        is_confirmed: confirmed,
        created_at_us: now_us,
        updated_at_us: now_us,
    }
}

/// `POST /v1/me/factors/totp`: a new secret, not yet counted. Refused while a
/// confirmed one exists (remove it first), so a stolen session cannot
/// silently swap the person's authenticator.
pub async fn enrol_totp(
    state: &AppState,
    user: &UserRow,
    change: &dyn RecordChange,
) -> Result<TotpEnrolmentResponse, ApiFailure> {
    let credentials = state.store.credentials();
    if let Some(existing) = credentials.find_credential(&user.id, "totp").await? {
        if existing.is_confirmed {
            return Err(ApiFailure::new(
                ErrorCode::Conflict,
                "an authenticator is already enrolled: remove it before enrolling another",
            ));
        }
    }
    let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
    let account = user
        .email
        .clone()
        .or_else(|| user.phone.clone())
        .unwrap_or_else(|| user.id.clone());
    let uri = totp::enrolment(&secret, &state.identity.totp_issuer, &account)
        .map_err(|e| ApiFailure::new(ErrorCode::ValidationFailed, e.to_string()))?;
    let now_us = to_micros(state.clock.now());
    let row = credential(
        &user.id,
        "totp",
        seal_totp(state, &user.id, &secret)?,
        false,
        now_us,
    );
    let record = change.record(
        now_us,
        ("user", &user.id),
        None,
        Some(json!({"factor": "otp", "is_confirmed": false})),
    );
    credentials
        .put_credential(&row, None, &record, change.sealer())
        .await?;
    Ok(TotpEnrolmentResponse {
        otpauth_uri: uri.to_string(),
        secret: secret.to_base32(),
    })
}

/// `POST /v1/me/factors/totp/confirm`: the authenticator's code makes the
/// secret count; the recovery codes are made and shown this once.
pub async fn confirm_totp(
    state: &AppState,
    user: &UserRow,
    code: &str,
    change: &dyn RecordChange,
) -> Result<RecoveryCodesResponse, ApiFailure> {
    let credentials = state.store.credentials();
    let pending = credentials
        .find_credential(&user.id, "totp")
        .await?
        .filter(|c| !c.is_confirmed)
        .ok_or_else(|| {
            ApiFailure::new(
                ErrorCode::Conflict,
                "no authenticator is waiting to be confirmed: enrol one first",
            )
        })?;
    let secret = open_totp(state, &user.id, &pending.secret)?;
    let now_us = to_micros(state.clock.now());
    let step = totp::verify(&secret, code, now_us / US, None).map_err(|_| {
        ApiFailure::new(
            ErrorCode::InvalidCode,
            "the code is not the authenticator's: try the next one",
        )
    })?;
    let mut confirmed = credential(&user.id, "totp", pending.secret.clone(), true, now_us);
    confirmed.created_at_us = pending.created_at_us;
    confirmed.last_step = i64::try_from(step).ok();
    let (shown, hashes) = totp::issue_recovery(&state.identity.code_key, &mut rand::rngs::OsRng);
    let recovery = credential(&user.id, "recovery", recovery_secret(&hashes), true, now_us);
    let record = change.record(
        now_us,
        ("user", &user.id),
        Some(json!({"factor": "otp", "is_confirmed": false})),
        Some(json!({"factor": "otp", "is_confirmed": true, "recovery_codes": hashes.len()})),
    );
    credentials
        .put_credentials(&[confirmed, recovery], &record, change.sealer())
        .await?;
    Ok(RecoveryCodesResponse {
        recovery_codes: shown,
    })
}

/// `DELETE /v1/me/factors/totp`: the authenticator and its recovery codes.
pub async fn remove_totp(
    state: &AppState,
    user: &UserRow,
    change: &dyn RecordChange,
) -> Result<(), ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let credentials = state.store.credentials();
    let record = change.record(
        now_us,
        ("user", &user.id),
        Some(json!({"factor": "otp"})),
        None,
    );
    let removed = credentials
        .delete_credentials(&user.id, &["totp", "recovery"], &record, change.sealer())
        .await?;
    if removed == 0 {
        return Err(ApiFailure::not_found("authenticator"));
    }
    Ok(())
}

/// `POST /v1/me/password`: the current password proves it is the person;
/// the new one is checked against the rules. Every session ends.
pub async fn change_password(
    state: &AppState,
    user: &UserRow,
    request: ChangePasswordRequest,
    change: &dyn RecordChange,
) -> Result<(), ApiFailure> {
    let current = zeroize::Zeroizing::new(request.current_password);
    let next = zeroize::Zeroizing::new(request.new_password);
    let stored = state
        .store
        .credentials()
        .find_credential(&user.id, "password")
        .await?;
    let is_right = match stored {
        Some(row) => {
            let phc = String::from_utf8(row.secret).map_err(|_| ApiFailure::internal())?;
            state
                .identity
                .hasher
                .verify(phc, current.to_string())
                .await
                .map_err(|_| ApiFailure::internal())?
                .is_match
        }
        None => {
            state
                .identity
                .hasher
                .verify_dummy(current.to_string())
                .await;
            false
        }
    };
    if !is_right {
        return Err(ApiFailure::new(
            ErrorCode::InvalidCredentials,
            "the current password is not right",
        ));
    }
    crate::sessions::set_password(state, &user.id, &next, change).await
}
