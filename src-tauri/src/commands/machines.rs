//! The Machines pages (ID-10, TK-2): OAuth clients (register, change, rotate
//! the secret, disable) and the token signing keys (list, rotate now). A new
//! secret crosses to the window once, to be shown with a copy button; the
//! console keeps no copy.

use gatehouse_types::{
    ApiError, ClientResponse, ClientSecretResponse, CreateClientRequest, ErrorCode, KeyResponse,
    UpdateClientRequest,
};
use tauri::State;

use super::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

fn id_of(id: &str) -> Result<String, ApiError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 {
        return Err(local(ErrorCode::InvalidInput, "a client id is needed"));
    }
    Ok(id.to_owned())
}

#[tauri::command]
pub async fn list_clients(state: State<'_, ConsoleState>) -> Result<Vec<ClientResponse>, ApiError> {
    let client = connected_client(&state).await?;
    client.list_clients().await.map_err(from_client)
}

#[tauri::command]
pub async fn create_client(
    state: State<'_, ConsoleState>,
    request: CreateClientRequest,
) -> Result<ClientSecretResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.create_client(&request).await.map_err(from_client)
}

#[tauri::command]
pub async fn update_client(
    state: State<'_, ConsoleState>,
    id: String,
    request: UpdateClientRequest,
) -> Result<ClientResponse, ApiError> {
    let client = connected_client(&state).await?;
    client
        .update_client(&id_of(&id)?, &request)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn rotate_client_secret(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<ClientSecretResponse, ApiError> {
    let client = connected_client(&state).await?;
    client
        .rotate_client_secret(&id_of(&id)?)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn disable_client(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<ClientResponse, ApiError> {
    let client = connected_client(&state).await?;
    client
        .disable_client(&id_of(&id)?)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn list_keys(state: State<'_, ConsoleState>) -> Result<Vec<KeyResponse>, ApiError> {
    let client = connected_client(&state).await?;
    client.list_keys().await.map_err(from_client)
}

/// Rotates now: the next key signs from now on, the current one keeps
/// verifying the tokens it signed until they expire.
#[tauri::command]
pub async fn rotate_keys(state: State<'_, ConsoleState>) -> Result<Vec<KeyResponse>, ApiError> {
    let client = connected_client(&state).await?;
    client.rotate_keys().await.map_err(from_client)
}
