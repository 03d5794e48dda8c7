//! Authorization requests (TK-6): a client sends a person to
//! `/oauth2/authorize`; they sign in on the hosted page with every step the
//! API has (the sign-in machinery runs with [`Via::Authorization`], so its
//! throttles, lockouts, decoys and records are the same); a third-party
//! client is then shown what it asks for; and the client gets a code, good
//! once for [`CODE_TTL_SECONDS`], bound to it, its redirect URI and its PKCE
//! challenge. The code names the session it opens, so a code presented twice
//! ends that session (RFC 6749 §4.1.2).
//!
//! A request is bound to the browser that began it by a cookie (only its
//! SHA-256 is stored): a request id lifted from one browser's page cannot be
//! finished from another.

use gatehouse_store::{AuthorizationRow, ClientRow, UserRow};
use gatehouse_tokens::authorization::{
    check_client, check_request, client_id, error_redirect, redirect_with, NoRedirect,
    RegisteredClient, CODE_TTL_SECONDS, REQUEST_TTL_SECONDS,
};
use gatehouse_tokens::oauth::{GrantType, OAuthError, OAuthErrorCode, Params, Scopes};
use serde_json::json;

use crate::app::AppState;
use crate::challenges::{new_secret_id, secret_id_hash};
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::Audit;

/// The cookie binding a request to its browser (`__Host-`: set by this host
/// only, over HTTPS, for every path).
pub const BROWSER_COOKIE: &str = "__Host-gatehouse-authorize";
/// The console's own client: first-party, so it is not asked for consent.
pub const CONSOLE_CLIENT: &str = "gatehouse-console";
const REQUEST_PREFIX: &str = "ghr_";
const BROWSER_PREFIX: &str = "ghb_";
/// Authorization codes (RFC 6749 §4.1.2).
pub const CODE_PREFIX: &str = "ghac_";
const US: i64 = 1_000_000;

/// Why an authorization request is not shown the sign-in page.
#[derive(Debug)]
pub enum Refused {
    /// Shown to the person: there is nowhere safe to send them.
    Page(NoRedirect),
    /// Sent back to the client's redirect URI with the error.
    Redirect(String),
    /// The store did not answer.
    Unavailable,
}

/// A request accepted: what the page needs.
pub struct Begun {
    pub request_id: String,
    pub cookie: String,
    pub client_name: String,
    pub login_hint: Option<String>,
    pub redirect_uri: String,
}

/// What the request check needs of a stored client.
pub fn grants_of(row: &ClientRow) -> Vec<GrantType> {
    row.grants.split(' ').filter_map(GrantType::parse).collect()
}

pub fn scopes_of(row: &ClientRow) -> Scopes {
    Scopes::from_names(row.scopes.split(' ').filter(|s| !s.is_empty()))
}

/// Stored as a JSON array (a URI may hold any character but a space is rare).
fn redirect_uris_of(row: &ClientRow) -> Vec<String> {
    serde_json::from_str(&row.redirect_uris).unwrap_or_default()
}

/// `GET /oauth2/authorize`: checks the request and stores it.
pub async fn begin(state: &AppState, audit: &Audit, params: &Params) -> Result<Begun, Refused> {
    let id = client_id(params).map_err(Refused::Page)?;
    audit.detail("client_id", json!(id));
    let client = state
        .store
        .clients()
        .find(id)
        .await
        .map_err(|_| Refused::Unavailable)?;
    let (grants, scopes, uris) = client.as_ref().map_or_else(
        || (Vec::new(), Scopes::default(), Vec::new()),
        |c| (grants_of(c), scopes_of(c), redirect_uris_of(c)),
    );
    let registered = client.as_ref().map(|c| RegisteredClient {
        is_active: c.status == "active",
        grants: &grants,
        scopes: &scopes,
        redirect_uris: &uris,
    });
    let redirect_uri = check_client(registered.as_ref(), params).map_err(|e| {
        audit.detail("request_refused", json!(e.as_str()));
        Refused::Page(e)
    })?;
    let (Some(client), Some(registered)) = (client, registered) else {
        return Err(Refused::Page(NoRedirect::UnknownClient));
    };
    let request = check_request(&registered, redirect_uri.clone(), params).map_err(|e| {
        audit.detail("request_refused", json!(e.error.as_str()));
        Refused::Redirect(error_redirect(
            &redirect_uri,
            &e,
            params.get("state"),
            &state.tokens.issuer,
        ))
    })?;
    let now_us = to_micros(state.clock.now());
    let (request_id, id_hash) = new_secret_id(REQUEST_PREFIX);
    let (cookie, browser_hash) = new_secret_id(BROWSER_PREFIX);
    let row = AuthorizationRow {
        id_hash,
        browser_hash,
        client_id: client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scopes.to_string(),
        state: request.state.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        source_ip: audit.facts.source_ip.clone(),
        user_agent: audit.facts.user_agent.chars().take(256).collect(),
        created_at_us: now_us,
        expires_at_us: now_us.saturating_add(REQUEST_TTL_SECONDS * US),
        user_id: None,
        amr: None,
        auth_time_us: None,
        code_hash: None,
        code_expires_at_us: None,
        session_id: None,
        exchanged_at_us: None,
    };
    prune(state, now_us).await;
    state
        .store
        .authorizations()
        .create_authorization(&row)
        .await
        .map_err(|_| Refused::Unavailable)?;
    audit.detail("scope", json!(row.scope));
    Ok(Begun {
        request_id,
        cookie,
        client_name: client.name,
        login_hint: request.login_hint,
        redirect_uri: request.redirect_uri,
    })
}

/// Removes expired requests now and then (one call in 32).
async fn prune(state: &AppState, now_us: i64) {
    use rand::RngCore;
    if !rand::rngs::OsRng.next_u32().is_multiple_of(32) {
        return;
    }
    if let Err(e) = state
        .store
        .authorizations()
        .prune_authorizations(now_us)
        .await
    {
        tracing::warn!(error = %e, "pruning expired authorization requests failed");
    }
}

/// A request in progress, as a page step finds it.
pub struct Pending {
    pub id_hash: Vec<u8>,
    pub row: AuthorizationRow,
    pub client: ClientRow,
}

impl Pending {
    pub fn needs_consent(&self) -> bool {
        self.client.id != CONSOLE_CLIENT
    }

    pub fn is_authenticated(&self) -> bool {
        self.row.user_id.is_some()
    }
}

/// The live request `request_id` names, begun in this browser (`cookie`),
/// its code not yet issued; `None` for anything else, all alike.
pub async fn pending(
    state: &AppState,
    request_id: &str,
    cookie: Option<&str>,
) -> Result<Option<Pending>, ApiFailure> {
    let (Some(id_hash), Some(browser_hash)) = (
        secret_id_hash(REQUEST_PREFIX, request_id),
        cookie.and_then(|c| secret_id_hash(BROWSER_PREFIX, c)),
    ) else {
        return Ok(None);
    };
    let Some(row) = state
        .store
        .authorizations()
        .find_authorization(&id_hash)
        .await?
    else {
        return Ok(None);
    };
    let now_us = to_micros(state.clock.now());
    let is_same_browser = row.browser_hash == browser_hash;
    if !is_same_browser || row.expires_at_us <= now_us || row.code_hash.is_some() {
        return Ok(None);
    }
    let client = state.store.clients().find(&row.client_id).await?;
    Ok(client
        .filter(|c| c.status == "active")
        .map(|client| Pending {
            id_hash,
            row,
            client,
        }))
}

/// The request as stored now (after a step changed it).
pub async fn reload(state: &AppState, pending: &Pending) -> Result<Option<Pending>, ApiFailure> {
    let row = state
        .store
        .authorizations()
        .find_authorization(&pending.id_hash)
        .await?;
    Ok(row.map(|row| Pending {
        id_hash: pending.id_hash.clone(),
        row,
        client: pending.client.clone(),
    }))
}

/// Every factor proven on the hosted page of the request `id_hash`: the
/// request records who signed in (once).
pub async fn authenticated(
    state: &AppState,
    audit: &Audit,
    id_hash: &[u8],
    user: &UserRow,
    amr: &[&str],
) -> Result<(), ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let amr = serde_json::to_string(amr).map_err(|_| ApiFailure::internal())?;
    let is_set = state
        .store
        .authorizations()
        .set_authenticated(id_hash, &user.id, &amr, now_us)
        .await?;
    if !is_set {
        return Err(crate::codes::gone());
    }
    audit.detail("signed_in_for", json!("oauth2_client"));
    Ok(())
}

/// The person allowed the client (or it needs no consent): a code, and
/// where the browser goes with it.
pub async fn approve(
    state: &AppState,
    audit: &Audit,
    pending: &Pending,
) -> Result<String, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    let (code, code_hash) = new_secret_id(CODE_PREFIX);
    let session_id = uuid::Uuid::now_v7().to_string();
    let is_issued = state
        .store
        .authorizations()
        .issue_code(
            &pending.id_hash,
            &code_hash,
            now_us.saturating_add(CODE_TTL_SECONDS * US),
            &session_id,
        )
        .await?;
    if !is_issued {
        return Err(crate::codes::gone());
    }
    audit.detail("client_id", json!(pending.client.id));
    audit.detail("request_outcome", json!("code_issued"));
    if let Some(user) = &pending.row.user_id {
        audit.resource("user", user.clone());
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &pending.row.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", &state.tokens.issuer));
    Ok(redirect_with(&pending.row.redirect_uri, &pairs))
}

/// The person refused, or gave up: `access_denied` to the client.
pub fn deny(state: &AppState, audit: &Audit, pending: &Pending) -> String {
    audit.detail("client_id", json!(pending.client.id));
    audit.detail("request_outcome", json!("access_denied"));
    error_redirect(
        &pending.row.redirect_uri,
        &OAuthError::new(
            OAuthErrorCode::AccessDenied,
            "the person did not allow the request",
        ),
        pending.row.state.as_deref(),
        &state.tokens.issuer,
    )
}
