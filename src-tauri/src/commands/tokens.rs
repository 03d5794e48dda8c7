//! The API tokens page (issue 6, until user management): list, mint, revoke.

use gatehouse_types::{
    ApiError, ApiTokenId, ApiTokenResponse, CreateApiTokenRequest, CreatedApiTokenResponse,
    ErrorCode,
};
use tauri::State;

use super::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

#[tauri::command]
pub async fn list_api_tokens(
    state: State<'_, ConsoleState>,
) -> Result<Vec<ApiTokenResponse>, ApiError> {
    let client = connected_client(&state).await?;
    client.list_api_tokens().await.map_err(from_client)
}

/// The secret is in the answer once, for the window to show with a copy button;
/// the console keeps no copy.
#[tauri::command]
pub async fn create_api_token(
    state: State<'_, ConsoleState>,
    request: CreateApiTokenRequest,
) -> Result<CreatedApiTokenResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.create_api_token(&request).await.map_err(from_client)
}

#[tauri::command]
pub async fn revoke_api_token(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<ApiTokenResponse, ApiError> {
    let id = uuid::Uuid::parse_str(id.trim())
        .map_err(|_| local(ErrorCode::InvalidInput, "a token id is a UUID"))?;
    let client = connected_client(&state).await?;
    client
        .revoke_api_token(ApiTokenId(id))
        .await
        .map_err(from_client)
}
