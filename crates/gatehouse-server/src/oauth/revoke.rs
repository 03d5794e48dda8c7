//! `POST /oauth2/revoke` (RFC 7009): a client revokes an access token or a
//! refresh token it was issued (a public client names itself by
//! `client_id`, §2.1). A refresh token's revocation ends its session, and with
//! it every token the session was issued (§2.1: "SHOULD also invalidate all
//! access tokens based on the same authorization grant"). Unknown, malformed
//! and expired tokens answer 200 all the same (§2.2); a revocation holds on
//! every replica within a second (TK-5).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use gatehouse_tokens::oauth::OAuthErrorCode;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use gatehouse_identity::session::{EndReason, RefreshToken};

use super::{form, refuse, Refusal};
use crate::app::AppState;
use crate::pipeline::{Audit, AuditSlot};

pub async fn revoke(
    State(state): State<AppState>,
    slot: Option<Extension<AuditSlot>>,
    audit: Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slot = slot.map(|Extension(s)| s);
    match run(&state, &audit, &headers, &body, slot.as_ref()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(refusal) => refuse(slot.as_ref(), refusal),
    }
}

async fn run(
    state: &AppState,
    audit: &Audit,
    headers: &HeaderMap,
    body: &Bytes,
    slot: Option<&AuditSlot>,
) -> Result<(), Refusal> {
    let params = form(headers, body)?;
    let client = super::code_grant::client_of(state, headers, &params, slot).await?;
    let token = params.require("token")?;
    // §2.1: a hint the server does not know is ignored, not refused.
    let note = |outcome: &str| {
        if let Some(slot) = slot {
            slot.note()
                .details
                .get_or_insert_with(serde_json::Map::new)
                .insert("revocation".into(), json!(outcome));
        }
    };
    if let Some(hash) = RefreshToken::hash_presented(token) {
        return revoke_refresh(state, audit, &client.id, &hash, note).await;
    }
    let Ok(claims) = state.auth.verify_jwt(token) else {
        // Not a token this server would accept now: nothing to revoke.
        note("not_an_active_token");
        return Ok(());
    };
    if claims.client_id != client.id {
        note("issued_to_another_client");
        return Err(Refusal::new(
            OAuthErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ));
    }
    let now = state.clock.now();
    let not_after_us = claims.exp.saturating_add(60).saturating_mul(1_000_000);
    let store = state.store.clone();
    let jti = claims.jti.clone();
    audit
        .commit_change(&state.audit, StatusCode::OK, |change| async move {
            use crate::pipeline::RecordChange;
            let record = change.record(
                now.timestamp_micros(),
                ("access_token", &jti),
                None,
                Some(json!({"revoked": true, "client_id": claims.client_id, "expires_at": claims.exp})),
            );
            store
                .token_events()
                .revoke_token(&jti, not_after_us, now.timestamp_micros(), &record, change.sealer())
                .await
                .map_err(crate::error::ApiFailure::from)
        })
        .await
        .map_err(|_| Refusal::new(OAuthErrorCode::TemporarilyUnavailable, "try again later"))?;
    state
        .auth
        .state
        .revoke_token(&claims.jti, claims.exp.saturating_add(60));
    // Live tails held with this token end now, not at their next check.
    state.policies.recheck_all();
    Ok(())
}

/// A refresh token: its session ends (a spent one too: the grant is over).
async fn revoke_refresh(
    state: &AppState,
    audit: &Audit,
    client_id: &str,
    hash: &[u8],
    note: impl Fn(&str),
) -> Result<(), Refusal> {
    let unavailable = || Refusal::new(OAuthErrorCode::TemporarilyUnavailable, "try again later");
    let sessions = state.store.sessions();
    let Some(refresh) = sessions
        .find_refresh(hash)
        .await
        .map_err(|_| unavailable())?
    else {
        note("not_an_active_token");
        return Ok(());
    };
    let Some(session) = sessions
        .find_session(&refresh.session_id)
        .await
        .map_err(|_| unavailable())?
    else {
        note("not_an_active_token");
        return Ok(());
    };
    if session.client_id != client_id {
        note("issued_to_another_client");
        return Err(Refusal::new(
            OAuthErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ));
    }
    if session.ended_at_us.is_some() {
        note("session_already_ended");
        return Ok(());
    }
    audit.resource("user", session.user_id.clone());
    note("session_ended");
    audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let session = &session;
            async move {
                crate::sessions::end(
                    state,
                    &session.user_id,
                    std::slice::from_ref(&session.id),
                    EndReason::Logout,
                    &change,
                )
                .await
            }
        })
        .await
        .map_err(|_| unavailable())?;
    Ok(())
}
