//! Connecting to a remote server (CO-1): a token goes only to a server the person
//! verified. Either they confirmed its certificate's SHA-256 fingerprint (shown on
//! first contact, or pasted from what `gatehouse init` printed), which is then
//! pinned; or they chose to verify it with the certificate authorities this system
//! trusts, for its host name. The first contact with an unconfirmed server sends
//! `GET /healthz` and nothing else (no token), and remembers nothing. A remembered
//! server is verified the way it was first; changing that means forgetting it,
//! never one way quietly standing in for the other.

use gatehouse_client::{normalize_fingerprint, Client, ClientError};
use gatehouse_types::{ApiError, ErrorCode, ServerInfoResponse};

use crate::error::{from_client, local};
use crate::person::{person_key, PersonTokens};
use crate::servers::{normalize_url, Entry};
use crate::state::{ConsoleState, Session};
use crate::types::{ConnectOutcome, ServerTrust, SessionInfo, Verification};

/// Longest token accepted from the window; real ones are 46 characters.
const MAX_TOKEN_LEN: usize = 4096;

/// How this connection verifies the server.
pub(crate) enum Trust {
    /// Pin this fingerprint; `is_new`: the person has just confirmed it.
    Pin { fingerprint: String, is_new: bool },
    /// A chain to the system's CAs; `is_new`: first connection this way.
    SystemCa { is_new: bool },
}

/// How a connection to `url` will verify the server, or (first contact,
/// nothing confirmed) the fingerprint to show the person first.
pub(crate) enum Resolved {
    Trust(Trust),
    Confirm(ConnectOutcome),
}

pub(crate) async fn resolve(
    state: &ConsoleState,
    url: &str,
    verification: Verification,
) -> Result<Resolved, ApiError> {
    let confirmed = match &verification {
        Verification::Fingerprint {
            confirmed: Some(text),
        } => Some(parse_fingerprint(text)?),
        _ => None,
    };
    let remembered = state.servers.find(url)?;
    Ok(Resolved::Trust(
        match (remembered, verification, confirmed) {
            (Some(entry), verification, confirmed) => {
                remembered_trust(&entry, &verification, confirmed)?
            }
            (None, Verification::SystemCa, _) => Trust::SystemCa { is_new: true },
            (None, Verification::Fingerprint { .. }, confirmed) => {
                let presented = gatehouse_client::probe_fingerprint(url)
                    .await
                    .map_err(from_client)?;
                match confirmed {
                    None => {
                        return Ok(Resolved::Confirm(ConnectOutcome::NeedsConfirmation {
                            server_url: url.to_owned(),
                            fingerprint: presented,
                        }))
                    }
                    Some(entered) if entered != presented => {
                        return Err(mismatch(&entered, &presented));
                    }
                    Some(entered) => Trust::Pin {
                        fingerprint: entered,
                        is_new: true,
                    },
                }
            }
        },
    ))
}

pub async fn connect_remote(
    state: &ConsoleState,
    url: &str,
    token: &str,
    verification: Verification,
) -> Result<ConnectOutcome, ApiError> {
    let url = normalize_url(url)?;
    let token = token_for(state, &url, token)?;
    let trust = match resolve(state, &url, verification).await? {
        Resolved::Trust(trust) => trust,
        Resolved::Confirm(outcome) => return Ok(outcome),
    };
    let session = open(state, &url, &token, trust, None).await?;
    Ok(ConnectOutcome::Connected { session })
}

/// The token from the window, or the one kept for this server when it is empty.
/// Its value is never repeated in an error.
fn token_for(state: &ConsoleState, url: &str, token: &str) -> Result<String, ApiError> {
    match token.trim() {
        "" => state.vault.get(url)?.ok_or_else(|| {
            local(
                ErrorCode::InvalidInput,
                "enter an API token for this server",
            )
        }),
        t if t.len() > MAX_TOKEN_LEN || t.chars().any(char::is_control) => {
            Err(local(ErrorCode::InvalidInput, "that is not an API token"))
        }
        t => Ok(t.to_owned()),
    }
}

/// A fingerprint the person entered, normalised (`AB:CD:…`); what was entered is
/// not repeated when it is not one (it may be a token pasted in the wrong field).
fn parse_fingerprint(text: &str) -> Result<String, ApiError> {
    normalize_fingerprint(text).ok_or_else(|| {
        local(
            ErrorCode::InvalidInput,
            "that is not a SHA-256 fingerprint: paste the 64 hex digits `gatehouse init` printed \
             (AB:CD:… — case, colons and spaces do not matter)",
        )
    })
}

fn mismatch(entered: &str, presented: &str) -> ApiError {
    local(
        ErrorCode::FingerprintMismatch,
        format!(
            "the server's certificate is not the one you entered, so nothing was sent: \
             you entered SHA-256 {entered} and the server presented SHA-256 {presented}"
        ),
    )
}

fn remembered_trust(
    entry: &Entry,
    verification: &Verification,
    confirmed: Option<String>,
) -> Result<Trust, ApiError> {
    match (entry.trust, verification) {
        (ServerTrust::Pinned, Verification::Fingerprint { .. }) => {
            let pin = entry.fingerprint.clone().ok_or_else(|| {
                local(
                    ErrorCode::StorageFailed,
                    "the remembered server has no pinned fingerprint: forget it and connect again",
                )
            })?;
            match confirmed {
                Some(entered) if entered != pin => Err(local(
                    ErrorCode::FingerprintMismatch,
                    format!(
                        "nothing was sent (forget the server first if its certificate really \
                         changed): it is pinned to SHA-256 {pin} and you entered SHA-256 {entered}"
                    ),
                )),
                _ => Ok(Trust::Pin {
                    fingerprint: pin,
                    is_new: false,
                }),
            }
        }
        (ServerTrust::SystemCa, Verification::SystemCa) => Ok(Trust::SystemCa { is_new: false }),
        (ServerTrust::Pinned, Verification::SystemCa) => Err(local(
            ErrorCode::InvalidInput,
            "this server is remembered with a pinned certificate: forget it first to verify it \
             with the system's CAs instead",
        )),
        (ServerTrust::SystemCa, Verification::Fingerprint { .. }) => Err(local(
            ErrorCode::InvalidInput,
            "this server is remembered as verified with the system's CAs: forget it first to pin \
             its certificate instead",
        )),
    }
}

/// A client for `url` verified as `trust` says, with `token` if any.
pub(crate) fn client_for(
    state: &ConsoleState,
    url: &str,
    trust: &Trust,
    token: Option<&str>,
) -> Result<Client, ApiError> {
    let mut builder = Client::builder(url);
    if let Some(token) = token {
        builder = builder.token(token);
    }
    let builder = match trust {
        Trust::Pin { fingerprint, .. } => builder.pin_sha256(fingerprint),
        Trust::SystemCa { .. } => builder.ca_roots(state.trusted_cas()?),
    };
    builder.build().map_err(from_client)
}

/// Connects over the verified connection with `token` (an API token, or a
/// person's access token with `person`), and only then remembers the server
/// and keeps the token (a person's refresh token under its own key).
pub(crate) async fn open(
    state: &ConsoleState,
    url: &str,
    token: &str,
    trust: Trust,
    person: Option<PersonTokens>,
) -> Result<SessionInfo, ApiError> {
    let client = client_for(state, url, &trust, Some(token))?;
    let info = client.server_info().await.map_err(|e| match (&trust, e) {
        // The certificate changed between the look and the connection.
        (
            Trust::Pin { is_new: true, .. },
            ClientError::CertificateMismatch { expected, actual },
        ) => mismatch(&expected, &actual),
        (_, e) => from_client(e),
    })?;
    let (kind, fingerprint) = match &trust {
        Trust::Pin { fingerprint, .. } => (ServerTrust::Pinned, fingerprint.clone()),
        Trust::SystemCa { .. } => (
            ServerTrust::SystemCa,
            client.last_seen_fingerprint().unwrap_or_default(),
        ),
    };
    match trust {
        Trust::Pin { is_new: true, .. } => state.servers.remember(url, kind, Some(&fingerprint))?,
        Trust::SystemCa { is_new: true } => state.servers.remember(url, kind, None)?,
        _ => {}
    }
    match &person {
        None => state.vault.set(url, token)?,
        Some(tokens) => state.vault.set(&person_key(url), &tokens.refresh_token)?,
    }
    state.servers.set_last(Some(url))?;
    let session = session_info(state, url.to_owned(), fingerprint, kind, false, info);
    state.forget_session_data().await;
    *state.session.lock().await = Some(Session {
        client,
        info: session.clone(),
        person,
    });
    Ok(session)
}

pub fn session_info(
    state: &ConsoleState,
    server_url: String,
    fingerprint: String,
    trust: ServerTrust,
    is_embedded: bool,
    info: ServerInfoResponse,
) -> SessionInfo {
    SessionInfo {
        server_url,
        fingerprint,
        trust,
        is_embedded,
        version: info.version,
        database: info.database,
        is_read_only: info.identity.role != gatehouse_types::Role::Administrator,
        identity: info.identity,
        token_storage: state.vault.storage().clone(),
    }
}
