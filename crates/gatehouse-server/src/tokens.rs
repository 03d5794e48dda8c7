//! Opaque API tokens (ID-10): minted from the OS's CSPRNG, shown once, stored only
//! as a SHA-256 hash (the secret has 256 bits of entropy, so a slow hash adds
//! nothing), carrying a role and an expiry, revocable.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration;
use gatehouse_store::{ApiTokenRow, Revoked, Store};
use gatehouse_types::{
    ApiTokenId, ApiTokenResponse, CreateApiTokenRequest, CreatedApiTokenResponse, ErrorCode, Role,
    MAX_TOKEN_NAME_LEN, MAX_TOKEN_TTL_SECONDS,
};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::{from_micros, to_micros, Clock};
use crate::error::ApiFailure;
use crate::pipeline::{Principal, PrincipalKind, RecordChange};

const PREFIX: &str = "gh_";
const SECRET_BYTES: usize = 32;
/// Unpadded base64url of 32 bytes.
const ENCODED_LEN: usize = 43;
const MIN_TTL_SECONDS: u64 = 60;

fn generate_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn is_well_formed(secret: &str) -> bool {
    secret.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == ENCODED_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The principal a token secret stands for, if it is well-formed, known, unexpired
/// and not revoked; `invalid_token` otherwise.
pub async fn find_active(
    store: &dyn Store,
    clock: &dyn Clock,
    secret: &str,
) -> Result<Principal, ApiFailure> {
    if !is_well_formed(secret) {
        return Err(ApiFailure::invalid_token());
    }
    let row = store
        .api_tokens()
        .find_by_secret_hash(&hash_secret(secret))
        .await?
        .ok_or_else(ApiFailure::invalid_token)?;
    principal_of(row, clock)
}

/// The principal of the token with this id if it is still unexpired and not
/// revoked; `invalid_token` otherwise. Long-lived requests (the live tail)
/// check their caller again with it.
pub async fn find_active_by_id(
    store: &dyn Store,
    clock: &dyn Clock,
    id: ApiTokenId,
) -> Result<Principal, ApiFailure> {
    let row = store
        .api_tokens()
        .find(id.0)
        .await?
        .ok_or_else(ApiFailure::invalid_token)?;
    principal_of(row, clock)
}

fn principal_of(row: ApiTokenRow, clock: &dyn Clock) -> Result<Principal, ApiFailure> {
    let now = to_micros(clock.now());
    if row.revoked_at_us.is_some() || row.expires_at_us <= now {
        return Err(ApiFailure::invalid_token());
    }
    let role = row.role.parse::<Role>().map_err(|e| {
        tracing::warn!(token_id = %row.id, error = %e, "stored token has an unknown role");
        ApiFailure::invalid_token()
    })?;
    Ok(Principal {
        name: row.name,
        role,
        kind: PrincipalKind::ApiToken(ApiTokenId(row.id)),
    })
}

fn to_json(token: &ApiTokenResponse) -> serde_json::Value {
    serde_json::to_value(token).unwrap_or(serde_json::Value::Null)
}

/// Mints a token, committed together with its audit record. `created_by` is
/// `None` only for `gatehouse init`.
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    request: CreateApiTokenRequest,
    default_ttl_seconds: u64,
    created_by: Option<ApiTokenId>,
    change: &dyn RecordChange,
) -> Result<CreatedApiTokenResponse, ApiFailure> {
    let name = request.name.trim();
    let name_len = name.chars().count();
    if name_len == 0 || name_len > MAX_TOKEN_NAME_LEN || name.chars().any(char::is_control) {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!("name must be 1 to {MAX_TOKEN_NAME_LEN} characters with no control characters"),
        ));
    }
    let ttl = request.expires_in_seconds.unwrap_or(default_ttl_seconds);
    if !(MIN_TTL_SECONDS..=MAX_TOKEN_TTL_SECONDS).contains(&ttl) {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!(
                "expires_in_seconds must be between {MIN_TTL_SECONDS} and {MAX_TOKEN_TTL_SECONDS}"
            ),
        ));
    }
    let now = clock.now();
    // ttl is at most a year, so it fits an i64 of seconds.
    let expires = now + Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX / 1_000_000));
    let secret = generate_secret();
    let row = ApiTokenRow {
        id: uuid::Uuid::new_v4(),
        name: name.to_owned(),
        role: request.role.as_str().to_owned(),
        secret_hash: hash_secret(&secret),
        created_at_us: to_micros(now),
        expires_at_us: to_micros(expires),
        revoked_at_us: None,
        created_by: created_by.map(|id| id.0),
    };
    let token = to_response(row.clone())?;
    let id = token.id.to_string();
    let record = change.record(
        to_micros(now),
        ("api_token", &id),
        None,
        Some(to_json(&token)),
    );
    store
        .api_tokens()
        .create(&row, &record, change.sealer())
        .await?;
    Ok(CreatedApiTokenResponse { token, secret })
}

pub async fn list(store: &dyn Store) -> Result<Vec<ApiTokenResponse>, ApiFailure> {
    store
        .api_tokens()
        .list()
        .await?
        .into_iter()
        .map(to_response)
        .collect()
}

/// Revokes a token, committed together with its audit record. Refuses to revoke
/// the last active administrator token, which would leave nobody able to
/// administer the server.
pub async fn revoke(
    store: &dyn Store,
    clock: &dyn Clock,
    id: ApiTokenId,
    change: &dyn RecordChange,
) -> Result<ApiTokenResponse, ApiFailure> {
    let now = to_micros(clock.now());
    let resource_id = id.0.to_string();
    let audit = move |before: &ApiTokenRow, after: &ApiTokenRow| {
        let json = |row: &ApiTokenRow| {
            to_response(row.clone())
                .map(|t| to_json(&t))
                .unwrap_or_default()
        };
        change.record(
            now,
            ("api_token", &resource_id),
            Some(json(before)),
            Some(json(after)),
        )
    };
    match store
        .api_tokens()
        .revoke(
            id.0,
            now,
            Role::Administrator.as_str(),
            &audit,
            change.sealer(),
        )
        .await?
    {
        Revoked::Unknown => Err(ApiFailure::not_found("api token")),
        Revoked::LastActive => Err(ApiFailure::new(
            ErrorCode::Conflict,
            "cannot revoke the last active administrator token: mint another one first",
        )),
        Revoked::Done(row) => to_response(row),
    }
}

pub async fn count_active_administrators(
    store: &dyn Store,
    clock: &dyn Clock,
) -> Result<u64, ApiFailure> {
    Ok(store
        .api_tokens()
        .count_active(Role::Administrator.as_str(), to_micros(clock.now()))
        .await?)
}

fn to_response(row: ApiTokenRow) -> Result<ApiTokenResponse, ApiFailure> {
    let role = row.role.parse::<Role>().map_err(|e| {
        tracing::error!(token_id = %row.id, error = %e, "stored token has an unknown role");
        ApiFailure::internal()
    })?;
    Ok(ApiTokenResponse {
        id: ApiTokenId(row.id),
        name: row.name,
        role,
        created_at: from_micros(row.created_at_us),
        expires_at: from_micros(row.expires_at_us),
        revoked_at: row.revoked_at_us.map(from_micros),
        created_by: row.created_by.map(ApiTokenId),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_well_formed_and_distinct() {
        let a = generate_secret();
        let b = generate_secret();
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(a, b);
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }

    #[test]
    fn malformed_secrets_are_refused_before_any_lookup() {
        let good = generate_secret();
        for bad in [
            "",
            "gh_",
            &good[..good.len() - 1],
            &format!("{good}A"),
            &good.replacen("gh_", "gx_", 1),
            &format!("gh_{}", "=".repeat(ENCODED_LEN)),
            &format!("gh_{}", "é".repeat(ENCODED_LEN / 2)),
        ] {
            assert!(!is_well_formed(bad), "{bad:?}");
        }
    }
}
