//! `POST /oauth2/token` (RFC 6749 §3.2): the client credentials grant (§4.4),
//! and for people the authorization code (§4.1.3, PKCE required) and refresh
//! (§6) grants, in [`super::code_grant`]. The implicit and password grants
//! never will be (RFC 9700).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use gatehouse_store::ClientRow;
use gatehouse_tokens::oauth::{
    grant_client_credentials, GrantType, GrantingClient, OAuthErrorCode, Scopes,
};
use gatehouse_tokens::{AccessClaims, SubjectKind};
use gatehouse_types::TokenResponse;
use http::HeaderMap;
use serde_json::json;

use super::{answer, authenticate_client, client_principal, code_grant, form, refuse, Refusal};
use crate::app::AppState;
use crate::pipeline::{Audit, AuditSlot};

pub async fn token(
    State(state): State<AppState>,
    slot: Option<Extension<AuditSlot>>,
    audit: Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slot = slot.map(|Extension(s)| s);
    match grant(&state, &audit, &headers, &body, slot.as_ref()).await {
        Ok(response) => answer(&response),
        Err(refusal) => refuse(slot.as_ref(), refusal),
    }
}

async fn grant(
    state: &AppState,
    audit: &Audit,
    headers: &HeaderMap,
    body: &Bytes,
    slot: Option<&AuditSlot>,
) -> Result<TokenResponse, Refusal> {
    let params = form(headers, body)?;
    let grant_type = params.require("grant_type")?;
    if let Some(slot) = slot {
        slot.note()
            .details
            .get_or_insert_with(serde_json::Map::new)
            .insert(
                "grant_type".into(),
                json!(grant_type.chars().take(64).collect::<String>()),
            );
    }
    match GrantType::parse(grant_type) {
        Some(GrantType::ClientCredentials) => {}
        Some(GrantType::AuthorizationCode) => {
            let client = code_grant::client_of(state, headers, &params, slot).await?;
            return code_grant::exchange(state, audit, &client, &params).await;
        }
        Some(GrantType::RefreshToken) => {
            let client = code_grant::client_of(state, headers, &params, slot).await?;
            return code_grant::refresh(state, audit, &client, &params).await;
        }
        None => {
            return Err(Refusal::new(
                OAuthErrorCode::UnsupportedGrantType,
                "the grant types here are client_credentials, authorization_code and refresh_token",
            ))
        }
    }
    let client = authenticate_client(state, headers, &params, slot).await?;
    let scopes = granted_scopes(&client, &params)?;
    let issued = issue(state, &client, &scopes)?;
    if let Some(slot) = slot {
        let mut note = slot.note();
        note.principal = Some(client_principal(
            &client,
            Some((
                &issued.1,
                issued.2,
                issued.3,
                scopes.iter().map(str::to_owned).collect(),
            )),
        ));
        note.resource_type = Some("access_token".into());
        note.resource_id = Some(issued.1.clone());
        note.details
            .get_or_insert_with(serde_json::Map::new)
            .insert("scope".into(), json!(scopes.to_string()));
    }
    Ok(TokenResponse {
        access_token: issued.0,
        token_type: "Bearer".into(),
        expires_in: u64::try_from(state.tokens.access_ttl_seconds).unwrap_or(300),
        scope: scopes.to_string(),
        refresh_token: None,
        id_token: None,
    })
}

fn granted_scopes(
    client: &ClientRow,
    params: &gatehouse_tokens::oauth::Params,
) -> Result<Scopes, Refusal> {
    let grants = crate::authorization::grants_of(client);
    let registered = crate::authorization::scopes_of(client);
    Ok(grant_client_credentials(
        &GrantingClient {
            is_confidential: client.is_confidential,
            grants: &grants,
            scopes: &registered,
        },
        params,
    )?)
}

/// Signs the token: `(token, jti, iat, exp)`.
fn issue(
    state: &AppState,
    client: &ClientRow,
    scopes: &Scopes,
) -> Result<(String, String, i64, i64), Refusal> {
    // Tokens issued at or before a client's cut are refused; one issued in the
    // same second as the cut, but after it, says so by its `iat` (at most a
    // second ahead, within the skew).
    let now = state
        .clock
        .now()
        .timestamp()
        .max(client.tokens_valid_after_us / 1_000_000 + 1);
    let exp = now + state.tokens.access_ttl_seconds;
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = AccessClaims {
        iss: state.tokens.issuer.clone(),
        sub: client.id.clone(),
        aud: state.tokens.audience.clone(),
        exp,
        nbf: now,
        iat: now,
        jti: jti.clone(),
        client_id: client.id.clone(),
        scope: scopes.to_string(),
        sub_kind: SubjectKind::Client,
        name: client.name.clone(),
        role: Some(client.role.clone()),
        sid: None,
        user_type: None,
    };
    let keys = state.auth.keys.current();
    let unavailable = || {
        Refusal::new(
            OAuthErrorCode::TemporarilyUnavailable,
            "no signing key is available; try again",
        )
    };
    let signer = keys.signer.as_ref().ok_or_else(unavailable)?;
    let token = signer.issue(&claims).map_err(|e| {
        tracing::error!(error = %e, "cannot sign an access token");
        unavailable()
    })?;
    Ok((token, jti, now, exp))
}
