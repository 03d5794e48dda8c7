use gatehouse_client::Client;
use gatehouse_types::{ApiError, ErrorCode, Role, ServerInfoResponse};
use tauri::State;

use crate::error::{from_client, local};
use crate::servers::{normalize_url, EMBEDDED};
use crate::state::{ConsoleState, Session};
use crate::types::{SessionInfo, StartupMode};

/// Longest token accepted from the window; real ones are 46 characters.
const MAX_TOKEN_LEN: usize = 4096;

/// `GATEHOUSE_CONSOLE_START` decides if set; otherwise the embedded server, unless
/// the last session was with a remote server.
#[tauri::command]
pub async fn get_startup_mode(state: State<'_, ConsoleState>) -> Result<StartupMode, ApiError> {
    match std::env::var("GATEHOUSE_CONSOLE_START").as_deref() {
        Ok("connect") => return Ok(StartupMode::Connect),
        Ok("embedded") => return Ok(StartupMode::Embedded),
        _ => {}
    }
    Ok(match state.servers.last()? {
        Some(last) if last != EMBEDDED => StartupMode::Connect,
        _ => StartupMode::Embedded,
    })
}

#[tauri::command]
pub async fn get_session(state: State<'_, ConsoleState>) -> Result<Option<SessionInfo>, ApiError> {
    Ok(state.session.lock().await.as_ref().map(|s| s.info.clone()))
}

#[tauri::command]
pub async fn connect_embedded(state: State<'_, ConsoleState>) -> Result<SessionInfo, ApiError> {
    let mut embedded = state.embedded.lock().await;
    if embedded.is_none() {
        *embedded = Some(crate::embedded::start(&state.dir, &state.vault).await?);
    }
    let Some(running) = embedded.as_ref() else {
        return Err(local(
            ErrorCode::Internal,
            "the embedded server did not start",
        ));
    };
    let client = Client::builder(running.server.base_url())
        .pin_sha256(&running.server.fingerprint)
        .token(&running.token)
        .build()
        .map_err(from_client)?;
    let info = client.server_info().await.map_err(from_client)?;
    let session = session_info(
        &state,
        running.server.base_url(),
        running.server.fingerprint.clone(),
        true,
        info,
    );
    state.servers.set_last(Some(EMBEDDED))?;
    state.forget_session_data().await;
    *state.session.lock().await = Some(Session {
        client,
        info: session.clone(),
    });
    Ok(session)
}

/// Connects to a remote server. The first contact learns the certificate's
/// fingerprint without sending the token; the token then goes only over a
/// connection pinned to it. A remembered server must present its pinned
/// certificate. An empty token means "the one kept for this server".
#[tauri::command]
pub async fn connect_server(
    state: State<'_, ConsoleState>,
    url: String,
    token: String,
) -> Result<SessionInfo, ApiError> {
    let url = normalize_url(&url)?;
    let token = match token.trim() {
        "" => state.vault.get(&url)?.ok_or_else(|| {
            local(
                ErrorCode::InvalidInput,
                "enter an API token for this server",
            )
        })?,
        t if t.len() > MAX_TOKEN_LEN || t.chars().any(char::is_control) => {
            return Err(local(ErrorCode::InvalidInput, "that is not an API token"));
        }
        t => t.to_owned(),
    };
    let remembered = state.servers.find(&url)?;
    let fingerprint = match &remembered {
        Some(entry) => entry.fingerprint.clone(),
        None => gatehouse_client::probe_fingerprint(&url)
            .await
            .map_err(from_client)?,
    };
    let client = Client::builder(&url)
        .pin_sha256(&fingerprint)
        .token(&token)
        .build()
        .map_err(from_client)?;
    let info = client.server_info().await.map_err(from_client)?;
    if remembered.is_none() {
        state.servers.remember(&url, &fingerprint)?;
    }
    state.vault.set(&url, &token)?;
    state.servers.set_last(Some(&url))?;
    let session = session_info(&state, url, fingerprint, false, info);
    state.forget_session_data().await;
    *state.session.lock().await = Some(Session {
        client,
        info: session.clone(),
    });
    Ok(session)
}

/// Ends the session; a remote server's token is forgotten (the embedded server's
/// stays, since only this console can use it).
#[tauri::command]
pub async fn sign_out(state: State<'_, ConsoleState>) -> Result<(), ApiError> {
    let ended = state.session.lock().await.take();
    state.forget_session_data().await;
    if let Some(session) = ended {
        if !session.info.is_embedded {
            state.vault.delete(&session.info.server_url)?;
        }
    }
    Ok(())
}

#[tauri::command]
pub async fn get_server_info(
    state: State<'_, ConsoleState>,
) -> Result<ServerInfoResponse, ApiError> {
    let client = super::connected_client(&state).await?;
    client.server_info().await.map_err(from_client)
}

fn session_info(
    state: &ConsoleState,
    server_url: String,
    fingerprint: String,
    is_embedded: bool,
    info: ServerInfoResponse,
) -> SessionInfo {
    SessionInfo {
        server_url,
        fingerprint,
        is_embedded,
        version: info.version,
        database: info.database,
        is_read_only: info.identity.role != Role::Administrator,
        identity: info.identity,
        token_storage: state.vault.storage().clone(),
    }
}
