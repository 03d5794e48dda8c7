//! OAuth clients (ID-10): registered by administrators, their secrets
//! generated here (256 bits), shown once and stored hashed, rotated with a
//! grace period; every change committed with its before/after record. A
//! client disabled, or its scopes or grants changed, has every token it holds
//! revoked on every replica.

use gatehouse_store::{ClientRow, ClientUpdated, Store};
use gatehouse_tokens::oauth::{generate_secret, hash_secret};
use gatehouse_types::{
    ClientResponse, ClientSecretResponse, ClientStatus, CreateClientRequest, ErrorCode, GrantType,
    Role, UpdateClientRequest, MAX_CLIENT_LIST_LEN, MAX_CLIENT_NAME_LEN,
};
use serde_json::Value;

use crate::app::AppState;
use crate::clock::{from_micros, to_micros};
use crate::error::ApiFailure;
use crate::oauth::discovery::known_scopes;
use crate::pipeline::{Principal, RecordChange};

fn invalid(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(ErrorCode::ValidationFailed, message.into())
}

fn grant_name(g: GrantType) -> &'static str {
    match g {
        GrantType::ClientCredentials => "client_credentials",
        GrantType::AuthorizationCode => "authorization_code",
        GrantType::RefreshToken => "refresh_token",
    }
}

fn parse_grant(name: &str) -> Option<GrantType> {
    [
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
    ]
    .into_iter()
    .find(|g| grant_name(*g) == name)
}

/// What a client is allowed, checked together (an update is checked as the
/// client it would make).
struct Shape<'a> {
    name: &'a str,
    is_confidential: bool,
    grants: &'a [GrantType],
    scopes: &'a [String],
    redirect_uris: &'a [String],
}

fn check(shape: &Shape<'_>) -> Result<(), ApiFailure> {
    let name = shape.name.trim();
    let len = name.chars().count();
    if len == 0 || len > MAX_CLIENT_NAME_LEN || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "name must be 1 to {MAX_CLIENT_NAME_LEN} characters with no control characters"
        )));
    }
    if shape.grants.is_empty() {
        return Err(invalid("grant_types must name at least one grant"));
    }
    if shape.grants.contains(&GrantType::ClientCredentials) && !shape.is_confidential {
        return Err(invalid(
            "client_credentials is for confidential clients only (RFC 6749 §4.4)",
        ));
    }
    if shape.grants.contains(&GrantType::AuthorizationCode) && shape.redirect_uris.is_empty() {
        return Err(invalid(
            "authorization_code needs at least one redirect URI",
        ));
    }
    if shape.scopes.is_empty()
        || shape.scopes.len() > MAX_CLIENT_LIST_LEN
        || shape.redirect_uris.len() > MAX_CLIENT_LIST_LEN
    {
        return Err(invalid(format!(
            "scopes must name 1 to {MAX_CLIENT_LIST_LEN} scopes, redirect_uris at most {MAX_CLIENT_LIST_LEN}"
        )));
    }
    let known = known_scopes();
    if let Some(unknown) = shape.scopes.iter().find(|s| !known.contains(s)) {
        return Err(invalid(format!(
            "unknown scope {unknown:?}: scopes are {}",
            known.join(", ")
        )));
    }
    for uri in shape.redirect_uris {
        check_redirect(uri)?;
    }
    Ok(())
}

/// Exact https URIs, or loopback IP literals over http for native apps
/// (RFC 8252 §7.3, §8.3: not `localhost`); no fragment (RFC 6749 §3.1.2).
fn check_redirect(uri: &str) -> Result<(), ApiFailure> {
    let bad = || {
        invalid(format!(
            "redirect URI {uri:?} must be https, or http on 127.0.0.1 or [::1], with no fragment"
        ))
    };
    let parsed = url::Url::parse(uri).map_err(|_| bad())?;
    if parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || uri.len() > 512
    {
        return Err(bad());
    }
    let is_loopback = matches!(
        parsed.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback => Ok(()),
        _ => Err(bad()),
    }
}

fn list_text(items: &[String]) -> String {
    items.join(" ")
}

fn split(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The client as answered and recorded: no secret, ever.
pub fn to_response(row: &ClientRow) -> Result<ClientResponse, ApiFailure> {
    let role = row
        .role
        .parse::<Role>()
        .map_err(|_| ApiFailure::internal())?;
    Ok(ClientResponse {
        client_id: row.id.clone(),
        name: row.name.clone(),
        role,
        is_confidential: row.is_confidential,
        grant_types: row.grants.split(' ').filter_map(parse_grant).collect(),
        scopes: split(&row.scopes),
        redirect_uris: serde_json::from_str(&row.redirect_uris).unwrap_or_default(),
        status: if row.status == "active" {
            ClientStatus::Active
        } else {
            ClientStatus::Disabled
        },
        previous_secret_valid_until: row.previous_secret_until_us.map(from_micros),
        tokens_valid_after: (row.tokens_valid_after_us > 0)
            .then(|| from_micros(row.tokens_valid_after_us)),
        created_at: from_micros(row.created_at_us),
        created_by: row.created_by.clone(),
        updated_at: from_micros(row.updated_at_us),
    })
}

fn json_of(row: &ClientRow) -> Option<Value> {
    to_response(row)
        .ok()
        .and_then(|r| serde_json::to_value(r).ok())
}

/// Registers a client; a confidential one's secret is in the answer only.
pub async fn create(
    state: &AppState,
    caller: &Principal,
    request: CreateClientRequest,
    change: &dyn RecordChange,
) -> Result<ClientSecretResponse, ApiFailure> {
    check(&Shape {
        name: &request.name,
        is_confidential: request.is_confidential,
        grants: &request.grant_types,
        scopes: &request.scopes,
        redirect_uris: &request.redirect_uris,
    })?;
    let now_us = to_micros(state.clock.now());
    let secret = request
        .is_confidential
        .then(|| generate_secret(&mut rand::rngs::OsRng));
    let mut grants: Vec<&str> = request.grant_types.iter().map(|g| grant_name(*g)).collect();
    grants.sort_unstable();
    grants.dedup();
    let mut scopes = request.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let row = ClientRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: request.name.trim().to_owned(),
        is_confidential: request.is_confidential,
        role: request.role.as_str().to_owned(),
        grants: grants.join(" "),
        scopes: list_text(&scopes),
        redirect_uris: serde_json::to_string(&request.redirect_uris)
            .map_err(|_| ApiFailure::internal())?,
        status: "active".into(),
        secret_hash: secret.as_deref().map(hash_secret),
        previous_secret_hash: None,
        previous_secret_until_us: None,
        tokens_valid_after_us: 0,
        created_at_us: now_us,
        created_by: format!("{} ({})", caller.name, caller.id()),
        updated_at_us: now_us,
    };
    let record = change.record(now_us, ("client", &row.id), None, json_of(&row));
    state
        .store
        .clients()
        .create(&row, &record, change.sealer())
        .await?;
    Ok(ClientSecretResponse {
        client: to_response(&row)?,
        client_secret: secret,
    })
}

pub async fn list(store: &dyn Store) -> Result<Vec<ClientResponse>, ApiFailure> {
    store
        .clients()
        .list()
        .await?
        .iter()
        .map(to_response)
        .collect()
}

pub async fn read(store: &dyn Store, id: &str) -> Result<ClientResponse, ApiFailure> {
    let row = store
        .clients()
        .find(id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("client"))?;
    to_response(&row)
}

/// What an edit does to a stored client.
enum Edit {
    Update(UpdateClientRequest),
    RotateSecret { secret: String, grace_us: i64 },
    Disable,
}

/// The client `edit` makes of `before`, checked.
fn edited(before: &ClientRow, edit: &Edit, now_us: i64) -> Result<ClientRow, ApiFailure> {
    let mut after = before.clone();
    after.updated_at_us = now_us;
    match edit {
        Edit::Update(u) => {
            if let Some(name) = &u.name {
                after.name = name.trim().to_owned();
            }
            if let Some(grants) = &u.grant_types {
                let mut names: Vec<&str> = grants.iter().map(|g| grant_name(*g)).collect();
                names.sort_unstable();
                names.dedup();
                after.grants = names.join(" ");
            }
            if let Some(scopes) = &u.scopes {
                let mut s = scopes.clone();
                s.sort();
                s.dedup();
                after.scopes = list_text(&s);
            }
            if let Some(uris) = &u.redirect_uris {
                after.redirect_uris =
                    serde_json::to_string(uris).map_err(|_| ApiFailure::internal())?;
            }
            if let Some(status) = u.status {
                after.status = match status {
                    ClientStatus::Active => "active".into(),
                    ClientStatus::Disabled => "disabled".into(),
                };
            }
            let grants: Vec<GrantType> = after.grants.split(' ').filter_map(parse_grant).collect();
            let uris: Vec<String> = serde_json::from_str(&after.redirect_uris).unwrap_or_default();
            check(&Shape {
                name: &after.name,
                is_confidential: after.is_confidential,
                grants: &grants,
                scopes: &split(&after.scopes),
                redirect_uris: &uris,
            })?;
        }
        Edit::RotateSecret { secret, grace_us } => {
            if !before.is_confidential {
                return Err(invalid("a public client has no secret to rotate"));
            }
            after.previous_secret_hash = before.secret_hash.clone();
            after.previous_secret_until_us = Some(now_us.saturating_add(*grace_us));
            after.secret_hash = Some(hash_secret(secret));
        }
        Edit::Disable => after.status = "disabled".into(),
    }
    let is_cut = (after.status != "active" && before.status == "active")
        || after.scopes != before.scopes
        || after.grants != before.grants;
    if is_cut {
        after.tokens_valid_after_us = now_us;
    }
    Ok(after)
}

/// Applies `edit`; revokes every token the client holds when it is disabled or
/// its scopes or grants change.
async fn apply(
    state: &AppState,
    id: &str,
    edit: Edit,
    change: &dyn RecordChange,
) -> Result<ClientRow, ApiFailure> {
    let now_us = to_micros(state.clock.now());
    // Checked before the transaction, so a refused edit writes nothing and is
    // recorded as the failure it is.
    let current = state
        .store
        .clients()
        .find(id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("client"))?;
    edited(&current, &edit, now_us)?;
    let edit_fn = |before: &ClientRow| -> Option<ClientRow> {
        edited(before, &edit, now_us)
            .ok()
            .filter(|after| after != before)
    };
    let audit = |before: &ClientRow, after: &ClientRow| {
        change.record(now_us, ("client", id), json_of(before), json_of(after))
    };
    // Revocation entries outlive the longest token a client can hold.
    let event_until =
        now_us.saturating_add(state.tokens.access_ttl_seconds.saturating_add(120) * 1_000_000);
    let outcome = state
        .store
        .clients()
        .update(id, &edit_fn, &audit, event_until, change.sealer())
        .await?;
    // Whatever changed, this replica's OAuth endpoints read it again.
    state.auth.state.forget_client(id);
    match outcome {
        ClientUpdated::Unknown => Err(ApiFailure::not_found("client")),
        ClientUpdated::Unchanged(row) => Ok(*row),
        ClientUpdated::Done { before, after } => {
            if after.tokens_valid_after_us != before.tokens_valid_after_us {
                state
                    .auth
                    .state
                    .cut_client(&after.id, after.tokens_valid_after_us);
                state.policies.recheck_all();
            }
            Ok(*after)
        }
    }
}

pub async fn update(
    state: &AppState,
    id: &str,
    request: UpdateClientRequest,
    change: &dyn RecordChange,
) -> Result<ClientResponse, ApiFailure> {
    let row = apply(state, id, Edit::Update(request), change).await?;
    to_response(&row)
}

/// A new secret; the old one works for the configured grace period.
pub async fn rotate_secret(
    state: &AppState,
    id: &str,
    change: &dyn RecordChange,
) -> Result<ClientSecretResponse, ApiFailure> {
    let secret = generate_secret(&mut rand::rngs::OsRng);
    let grace_us = state.tokens.secret_grace_seconds.saturating_mul(1_000_000);
    let row = apply(
        state,
        id,
        Edit::RotateSecret {
            secret: secret.clone(),
            grace_us,
        },
        change,
    )
    .await?;
    Ok(ClientSecretResponse {
        client: to_response(&row)?,
        client_secret: Some(secret),
    })
}

/// Disables the client and revokes every token it holds.
pub async fn disable(
    state: &AppState,
    id: &str,
    change: &dyn RecordChange,
) -> Result<ClientResponse, ApiFailure> {
    let row = apply(state, id, Edit::Disable, change).await?;
    to_response(&row)
}

/// Registers the console's own client (`gatehouse-console`) when the
/// database has none: public (a desktop app keeps no secret), the code grant
/// with PKCE and refresh, a loopback redirect on any port (RFC 8252), and
/// every scope, since a person in the console does what their policies let
/// them and nothing the scopes would add. Recorded as the server's change.
/// An administrator may disable or narrow it like any client.
pub async fn ensure_console_client(
    store: &dyn Store,
    sealer: &gatehouse_audit::Sealer,
    now_us: i64,
) -> Result<(), crate::error::ServerError> {
    use crate::authorization::CONSOLE_CLIENT;
    let failed = |e: gatehouse_store::StoreError| crate::error::ServerError::Init(e.to_string());
    if store
        .clients()
        .find(CONSOLE_CLIENT)
        .await
        .map_err(failed)?
        .is_some()
    {
        return Ok(());
    }
    let row = ClientRow {
        id: CONSOLE_CLIENT.into(),
        name: "Gatehouse console".into(),
        is_confidential: false,
        role: Role::User.as_str().into(),
        grants: "authorization_code refresh_token".into(),
        scopes: list_text(&known_scopes()),
        redirect_uris: serde_json::json!(["http://127.0.0.1/callback"]).to_string(),
        status: "active".into(),
        secret_hash: None,
        previous_secret_hash: None,
        previous_secret_until_us: None,
        tokens_valid_after_us: 0,
        created_at_us: now_us,
        created_by: "gatehouse".into(),
        updated_at_us: now_us,
    };
    let record = gatehouse_audit::Record {
        time_us: now_us,
        event_id: None,
        actor_kind: "operator".into(),
        actor_id: "gatehouse".into(),
        actor_name: "gatehouse".into(),
        on_behalf_of: None,
        action: "clients.create".into(),
        resource_type: "client".into(),
        resource_id: CONSOLE_CLIENT.into(),
        outcome: "success".into(),
        status: 0,
        source_ip: String::new(),
        user_agent: String::new(),
        request_id: format!("seed-client-{CONSOLE_CLIENT}"),
        before: None,
        after: json_of(&row).map(|v| v.to_string()),
        details: None,
    };
    match store.clients().create(&row, &record, sealer).await {
        Ok(()) => Ok(()),
        // Another replica registered it first.
        Err(_)
            if store
                .clients()
                .find(CONSOLE_CLIENT)
                .await
                .map_err(failed)?
                .is_some() =>
        {
            Ok(())
        }
        Err(e) => Err(failed(e)),
    }
}
