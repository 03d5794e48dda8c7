//! `POST /oauth2/introspect` (RFC 7662): a client allowed to (its registered
//! scopes include `tokens:introspect`) asks whether a token is active. An
//! inactive token, for whatever reason, answers `{"active": false}` and
//! nothing else (§2.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use gatehouse_tokens::oauth::OAuthErrorCode;
use gatehouse_types::IntrospectionResponse;
use http::HeaderMap;
use serde_json::json;

use super::{answer, authenticate_client, form, refuse, Refusal};
use crate::app::AppState;
use crate::pipeline::AuditSlot;

/// The scope a client needs to introspect others' tokens.
pub const INTROSPECT_SCOPE: &str = "tokens:introspect";

pub async fn introspect(
    State(state): State<AppState>,
    slot: Option<Extension<AuditSlot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slot = slot.map(|Extension(s)| s);
    match run(&state, &headers, &body, slot.as_ref()).await {
        Ok(response) => answer(&response),
        Err(refusal) => refuse(slot.as_ref(), refusal),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    slot: Option<&AuditSlot>,
) -> Result<IntrospectionResponse, Refusal> {
    let params = form(headers, body)?;
    let client = authenticate_client(state, headers, &params, slot).await?;
    if !client.scopes.split(' ').any(|s| s == INTROSPECT_SCOPE) {
        return Err(Refusal::new(
            OAuthErrorCode::UnauthorizedClient,
            "this client may not introspect tokens",
        ));
    }
    let token = params.require("token")?;
    let verdict = state.auth.verify_jwt(token);
    if let Some(slot) = slot {
        slot.note()
            .details
            .get_or_insert_with(serde_json::Map::new)
            .insert(
                "introspection".into(),
                json!(match &verdict {
                    Ok(_) => "active",
                    Err(r) => r.as_str(),
                }),
            );
    }
    let Ok(c) = verdict else {
        return Ok(IntrospectionResponse::default());
    };
    Ok(IntrospectionResponse {
        active: true,
        scope: Some(c.scope),
        client_id: Some(c.client_id),
        username: Some(c.name),
        token_type: Some("Bearer".into()),
        exp: Some(c.exp),
        iat: Some(c.iat),
        nbf: Some(c.nbf),
        sub: Some(c.sub),
        aud: Some(c.aud),
        iss: Some(c.iss),
        jti: Some(c.jti),
    })
}
