use gatehouse_client::Client;
use gatehouse_types::{ApiError, ErrorCode, ServerInfoResponse};
use tauri::State;

use crate::connect::{connect_remote, session_info};
use crate::error::{from_client, local};
use crate::servers::EMBEDDED;
use crate::state::{ConsoleState, Session};
use crate::types::{ConnectOutcome, ServerTrust, SessionInfo, StartupMode, Verification};

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
    // The console started this server and knows its certificate: pinned, no prompt.
    let session = session_info(
        &state,
        running.server.base_url(),
        running.server.fingerprint.clone(),
        ServerTrust::Pinned,
        true,
        info,
    );
    state.servers.set_last(Some(EMBEDDED))?;
    state.forget_session_data().await;
    *state.session.lock().await = Some(Session {
        client,
        info: session.clone(),
        person: None,
    });
    Ok(session)
}

/// Connects to a remote server (`crate::connect`): no token goes to it before it
/// is verified. On first contact, without a confirmed fingerprint, the answer is
/// `needs_confirmation` with the certificate's fingerprint, and nothing was sent.
/// An empty token means "the one kept for this server".
#[tauri::command]
pub async fn connect_server(
    state: State<'_, ConsoleState>,
    url: String,
    token: String,
    verification: Verification,
) -> Result<ConnectOutcome, ApiError> {
    connect_remote(&state, &url, &token, verification).await
}

/// Ends the session; a remote server's token is forgotten (the embedded server's
/// stays, since only this console can use it).
#[tauri::command]
pub async fn sign_out(state: State<'_, ConsoleState>) -> Result<(), ApiError> {
    let ended = state.session.lock().await.take();
    state.forget_session_data().await;
    if let Some(session) = ended {
        if let Some(person) = &session.person {
            crate::person::sign_out_person(
                &state,
                &session.info.server_url,
                &session.client,
                person,
            )
            .await;
        } else if !session.info.is_embedded {
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
