//! `POST /oauth2/revoke` (RFC 7009): a client revokes an access token it was
//! issued. Unknown, malformed and expired tokens answer 200 all the same
//! (§2.2); a revocation holds on every replica within a second (TK-5).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use gatehouse_tokens::oauth::OAuthErrorCode;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::{authenticate_client, form, refuse, Refusal};
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
    let client = authenticate_client(state, headers, &params, slot).await?;
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
