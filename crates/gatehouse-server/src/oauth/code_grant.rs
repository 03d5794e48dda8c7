//! The token endpoint's grants for people (TK-6, TK-4): the authorization
//! code exchange (RFC 6749 §4.1.3 with RFC 7636 §4.5) and the refresh grant
//! (§6). A code is good once, within its minute, for the client it was
//! issued to, with the redirect URI of its request and the verifier of its
//! challenge; every refusal is the same `invalid_grant`, and the record says
//! which check failed. A code presented a second time ends the session its
//! first exchange opened (§4.1.2: "SHOULD revoke … all tokens previously
//! issued based on that authorization code").

use gatehouse_identity::session::EndReason;
use gatehouse_store::{AuthorizationRow, ClientRow};
use gatehouse_tokens::authorization::verifier_matches;
use gatehouse_tokens::id_token::{acr_of, IdClaims, PersonClaims};
use gatehouse_tokens::oauth::{GrantType, OAuthErrorCode, Params, Scopes};
use gatehouse_types::TokenResponse;
use http::HeaderMap;
use serde_json::json;

use super::{authenticate_client, Refusal};
use crate::app::AppState;
use crate::authorization::{grants_of, CODE_PREFIX};
use crate::challenges::secret_id_hash;
use crate::clock::to_micros;
use crate::pipeline::{Audit, AuditSlot, SystemChange};
use crate::sessions::{self, Audience, Opening};

const US: i64 = 1_000_000;

fn invalid_grant(reason: &'static str) -> Refusal {
    Refusal::new(
        OAuthErrorCode::InvalidGrant,
        "the grant is invalid, expired, already used or was issued to another client",
    )
    .because(reason)
}

fn unavailable() -> Refusal {
    Refusal::new(OAuthErrorCode::TemporarilyUnavailable, "try again later")
}

/// The client a people's grant is for: a confidential one by its secret, a
/// public one (a native app) by its `client_id` alone.
pub async fn client_of(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    slot: Option<&AuditSlot>,
) -> Result<ClientRow, Refusal> {
    let has_secret =
        headers.contains_key(http::header::AUTHORIZATION) || params.get("client_secret").is_some();
    if has_secret {
        return authenticate_client(state, headers, params, slot).await;
    }
    let refused = |reason| {
        Refusal::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
        .because(reason)
    };
    let id = params
        .get("client_id")
        .filter(|id| id.len() <= 64)
        .ok_or_else(|| refused("no_client_authentication"))?;
    let row = state
        .store
        .clients()
        .find(id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| refused("unknown_client"))?;
    if row.secret_hash.is_some() {
        // A confidential client always proves itself.
        return Err(refused("confidential_client_without_secret"));
    }
    if row.status != "active" {
        return Err(refused("client_disabled"));
    }
    Ok(row)
}

/// `grant_type=authorization_code`.
pub async fn exchange(
    state: &AppState,
    audit: &Audit,
    client: &ClientRow,
    params: &Params,
) -> Result<TokenResponse, Refusal> {
    let code = params.require("code")?;
    let verifier = params.require("code_verifier").map_err(|_| {
        Refusal::new(
            OAuthErrorCode::InvalidRequest,
            "code_verifier is required (PKCE)",
        )
    })?;
    let redirect_uri = params.require("redirect_uri")?;
    let hash = secret_id_hash(CODE_PREFIX, code).ok_or_else(|| invalid_grant("code_malformed"))?;
    let store = state.store.authorizations();
    let row = store
        .find_by_code(&hash)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| invalid_grant("code_unknown"))?;
    if row.client_id != client.id {
        return Err(invalid_grant("code_of_another_client"));
    }
    let now_us = to_micros(state.clock.now());
    if row.exchanged_at_us.is_some() {
        return Err(replayed(state, audit, &row).await);
    }
    if row.code_expires_at_us.is_none_or(|t| t <= now_us) {
        return Err(invalid_grant("code_expired"));
    }
    if row.redirect_uri != redirect_uri {
        return Err(invalid_grant("redirect_uri_mismatch"));
    }
    if !verifier_matches(verifier, &row.code_challenge) {
        return Err(invalid_grant("pkce_verifier_mismatch"));
    }
    if !store
        .exchange_code(&hash, now_us)
        .await
        .map_err(|_| unavailable())?
    {
        return Err(replayed(state, audit, &row).await);
    }
    open(state, audit, client, &row).await
}

/// The code came back: whatever its first exchange opened ends.
async fn replayed(state: &AppState, audit: &Audit, row: &AuthorizationRow) -> Refusal {
    let (Some(user_id), Some(session_id)) = (&row.user_id, &row.session_id) else {
        return invalid_grant("code_reused");
    };
    audit.resource("user", user_id.clone());
    let change = SystemChange {
        actor_kind: "system",
        actor_id: "authorization code reuse detection".into(),
        actor_name: "gatehouse".into(),
        action: "users.sessions.end",
        sealer: state.audit.shared_sealer(),
    };
    let ended = sessions::end(
        state,
        user_id,
        std::slice::from_ref(session_id),
        EndReason::CodeReuse,
        &change,
    )
    .await;
    state.audit.notify_appended();
    audit.detail("ended_sids", json!(ended.unwrap_or_default()));
    invalid_grant("code_reused")
}

/// Opens the session the code names and issues its tokens.
async fn open(
    state: &AppState,
    audit: &Audit,
    client: &ClientRow,
    row: &AuthorizationRow,
) -> Result<TokenResponse, Refusal> {
    let now_us = to_micros(state.clock.now());
    let user_id = row.user_id.clone().unwrap_or_default();
    let user = state
        .store
        .users()
        .find(&user_id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| invalid_grant("user_gone"))?;
    if crate::sign_in::barrier(&user, now_us).is_some() {
        return Err(invalid_grant("user_not_active"));
    }
    let kind = crate::users::load_type(state.store.as_ref(), &user.user_type)
        .await
        .map_err(|_| unavailable())?;
    let role = kind.role.clone().unwrap_or_else(|| "user".into());
    let amr: Vec<String> = row
        .amr
        .as_deref()
        .and_then(|a| serde_json::from_str(a).ok())
        .unwrap_or_default();
    let amr_refs: Vec<&str> = amr.iter().map(String::as_str).collect();
    audit.resource("user", user.id.clone());
    audit.detail("client_id", json!(client.id));
    let opening = Opening {
        user: &user,
        role: &role,
        amr: &amr_refs,
        source_ip: &row.source_ip,
        user_agent: &row.user_agent,
        audience: Audience {
            client_id: &client.id,
            scope: &row.scope,
        },
        session_id: row.session_id.clone(),
        with_refresh: grants_of(client).contains(&GrantType::RefreshToken),
    };
    let opened = audit
        .commit_change(&state.audit, http::StatusCode::OK, |change| {
            let opening = &opening;
            async move { sessions::open_with(state, opening, &change).await }
        })
        .await
        .map_err(|_| unavailable())?;
    let scopes = Scopes::parse(&row.scope).unwrap_or_default();
    let id_token = if scopes.contains(gatehouse_tokens::authorization::OPENID) {
        let claims = IdClaims {
            iss: state.tokens.issuer.clone(),
            sub: user.id.clone(),
            aud: client.id.clone(),
            azp: client.id.clone(),
            exp: now_us / US + state.tokens.access_ttl_seconds,
            iat: now_us / US,
            auth_time: row.auth_time_us.unwrap_or(now_us) / US,
            nonce: row.nonce.clone(),
            acr: acr_of(&amr).to_owned(),
            amr,
            sid: opened.session_id.clone(),
            person: person_claims(&user, &scopes),
        };
        Some(sign_id_token(state, &claims)?)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token: opened.access_token,
        token_type: "Bearer".into(),
        expires_in: opened.expires_in,
        scope: row.scope.clone(),
        refresh_token: opened.refresh_token,
        id_token,
    })
}

/// What the granted scopes let a client know of the person (Core §5.4).
pub fn person_claims(user: &gatehouse_store::UserRow, scopes: &Scopes) -> PersonClaims {
    let mut person = PersonClaims::default();
    if scopes.contains("profile") {
        person.name = Some(user.display_name.clone());
        person.user_type = Some(user.user_type.clone());
    }
    if scopes.contains("email") {
        person.email = user.email.clone();
        person.email_verified = user.email.as_ref().map(|_| user.is_email_verified);
    }
    if scopes.contains("phone") {
        person.phone_number = user.phone.clone();
        person.phone_number_verified = user.phone.as_ref().map(|_| user.is_phone_verified);
    }
    person
}

fn sign_id_token(state: &AppState, claims: &IdClaims) -> Result<String, Refusal> {
    let keys = state.auth.keys.current();
    let signer = keys.signer.as_ref().ok_or_else(unavailable)?;
    signer.issue_id_token(claims).map_err(|e| {
        tracing::error!(error = %e, "cannot sign an ID token");
        unavailable()
    })
}

/// `grant_type=refresh_token` (RFC 6749 §6): rotates, as `/v1/auth/refresh`
/// does, for the client the token was issued to only.
pub async fn refresh(
    state: &AppState,
    audit: &Audit,
    client: &ClientRow,
    params: &Params,
) -> Result<TokenResponse, Refusal> {
    if !grants_of(client).contains(&GrantType::RefreshToken) {
        return Err(Refusal::new(
            OAuthErrorCode::UnauthorizedClient,
            "the client may not use this grant type",
        ));
    }
    let presented = params.require("refresh_token")?;
    if let Some(asked) = params.get("scope") {
        // §6: no more than the original grant; narrowing is not offered.
        // Checked before the rotation, so a refused request spends nothing.
        let asked = Scopes::parse(asked)?;
        if asked != granted_scope(state, presented).await? {
            return Err(Refusal::new(
                OAuthErrorCode::InvalidScope,
                "a refresh keeps the scope first granted; ask without scope",
            ));
        }
    }
    let rotated = sessions::refresh(state, audit, presented, &client.id)
        .await
        .map_err(|failure| {
            if failure.code == gatehouse_types::ErrorCode::InvalidToken {
                invalid_grant("refresh_refused")
            } else {
                unavailable()
            }
        })?;
    let session = state
        .store
        .sessions()
        .find_session(&rotated.session_id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| invalid_grant("session_gone"))?;
    Ok(TokenResponse {
        access_token: rotated.access_token,
        token_type: "Bearer".into(),
        expires_in: rotated.expires_in,
        scope: session.scope,
        refresh_token: Some(rotated.refresh_token),
        id_token: None,
    })
}

/// The scope the session of a refresh token was granted.
async fn granted_scope(state: &AppState, presented: &str) -> Result<Scopes, Refusal> {
    let hash = gatehouse_identity::session::RefreshToken::hash_presented(presented)
        .ok_or_else(|| invalid_grant("refresh_malformed"))?;
    let sessions = state.store.sessions();
    let refresh = sessions
        .find_refresh(&hash)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| invalid_grant("refresh_unknown"))?;
    let session = sessions
        .find_session(&refresh.session_id)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| invalid_grant("session_gone"))?;
    Ok(Scopes::parse(&session.scope).unwrap_or_default())
}
