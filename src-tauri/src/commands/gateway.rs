//! The Gateway page and the "why" view (GW-7, GW-9): the inventory and WAF,
//! the WAF's settings, the flagged sources, why a request was blocked. Every
//! change is the server's to allow (an auditor's is refused there).

use gatehouse_types::{
    ApiError, BlockedWhyResponse, ErrorCode, FlaggedSourcesResponse, GatewayResponse,
    UpdateWafRequest, WafStatus,
};
use tauri::State;

use super::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

#[tauri::command]
pub async fn get_gateway(state: State<'_, ConsoleState>) -> Result<GatewayResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.gateway().await.map_err(from_client)
}

#[tauri::command]
pub async fn update_waf(
    state: State<'_, ConsoleState>,
    request: UpdateWafRequest,
) -> Result<WafStatus, ApiError> {
    let client = connected_client(&state).await?;
    client.update_waf(&request).await.map_err(from_client)
}

#[tauri::command]
pub async fn list_flagged_sources(
    state: State<'_, ConsoleState>,
) -> Result<FlaggedSourcesResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.flagged_sources().await.map_err(from_client)
}

#[tauri::command]
pub async fn unflag_source(
    state: State<'_, ConsoleState>,
    source: String,
) -> Result<FlaggedSourcesResponse, ApiError> {
    let source = source.trim();
    if source.is_empty() || source.len() > 64 {
        return Err(local(ErrorCode::InvalidInput, "a source address is needed"));
    }
    let client = connected_client(&state).await?;
    client.unflag_source(source).await.map_err(from_client)
}

#[tauri::command]
pub async fn why_blocked(
    state: State<'_, ConsoleState>,
    request_id: String,
) -> Result<BlockedWhyResponse, ApiError> {
    let request_id = request_id.trim();
    let is_id = !request_id.is_empty()
        && request_id.len() <= 64
        && request_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !is_id {
        return Err(local(
            ErrorCode::InvalidInput,
            "a request id is 1 to 64 letters, digits, - and _",
        ));
    }
    let client = connected_client(&state).await?;
    client.why_blocked(request_id).await.map_err(from_client)
}
