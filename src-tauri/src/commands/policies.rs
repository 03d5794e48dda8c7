//! The policies page (CO-4): the active set, validation as you type, new versions
//! from a base version (a stale base is the server's `conflict`), history, diffs,
//! rollback, simulation and the permissions matrix. The server decides every one
//! of them; the console only converts.

use gatehouse_types::{
    ApiError, CreatePolicyVersionRequest, ErrorCode, PolicyDiffResponse, PolicyMatrixResponse,
    PolicySchemaResponse, PolicyVersionPage, PolicyVersionResponse, RollbackPoliciesRequest,
    SimulateRequest, SimulateResponse, ValidatePoliciesResponse,
};
use tauri::State;

use super::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// The most text the editor sends to be validated (the server's own limit is
/// larger; this keeps a pasted file from crossing the IPC boundary in a loop).
const MAX_EDITOR_TEXT: usize = 1024 * 1024;

fn check_text(text: &str) -> Result<(), ApiError> {
    if text.len() > MAX_EDITOR_TEXT {
        return Err(local(
            ErrorCode::InvalidInput,
            format!(
                "the policy text is {} KiB; at most {} KiB can be edited here",
                text.len() / 1024,
                MAX_EDITOR_TEXT / 1024
            ),
        ));
    }
    Ok(())
}

#[tauri::command]
pub async fn get_policies(
    state: State<'_, ConsoleState>,
) -> Result<PolicyVersionResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.active_policies().await.map_err(from_client)
}

#[tauri::command]
pub async fn get_policy_schema(
    state: State<'_, ConsoleState>,
) -> Result<PolicySchemaResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.policy_schema().await.map_err(from_client)
}

#[tauri::command]
pub async fn validate_policies(
    state: State<'_, ConsoleState>,
    text: String,
) -> Result<ValidatePoliciesResponse, ApiError> {
    check_text(&text)?;
    let client = connected_client(&state).await?;
    client.validate_policies(&text).await.map_err(from_client)
}

#[tauri::command]
pub async fn save_policies(
    state: State<'_, ConsoleState>,
    request: CreatePolicyVersionRequest,
) -> Result<PolicyVersionResponse, ApiError> {
    check_text(&request.text)?;
    let client = connected_client(&state).await?;
    client
        .create_policy_version(&request)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn list_policy_versions(
    state: State<'_, ConsoleState>,
    cursor: Option<String>,
) -> Result<PolicyVersionPage, ApiError> {
    let client = connected_client(&state).await?;
    client
        .list_policy_versions(Some(100), cursor.as_deref())
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn get_policy_version(
    state: State<'_, ConsoleState>,
    version: u64,
) -> Result<PolicyVersionResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.policy_version(version).await.map_err(from_client)
}

#[tauri::command]
pub async fn diff_policies(
    state: State<'_, ConsoleState>,
    from: u64,
    to: u64,
) -> Result<PolicyDiffResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.diff_policies(from, to).await.map_err(from_client)
}

#[tauri::command]
pub async fn rollback_policies(
    state: State<'_, ConsoleState>,
    request: RollbackPoliciesRequest,
) -> Result<PolicyVersionResponse, ApiError> {
    let client = connected_client(&state).await?;
    client
        .rollback_policies(&request)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn simulate_policies(
    state: State<'_, ConsoleState>,
    request: SimulateRequest,
) -> Result<SimulateResponse, ApiError> {
    if let Some(draft) = &request.draft {
        check_text(draft)?;
    }
    let client = connected_client(&state).await?;
    client
        .simulate_policies(&request)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn get_policy_matrix(
    state: State<'_, ConsoleState>,
) -> Result<PolicyMatrixResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.policy_matrix().await.map_err(from_client)
}
