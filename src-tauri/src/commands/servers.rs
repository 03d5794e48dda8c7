use gatehouse_types::ApiError;
use tauri::State;

use crate::servers::normalize_url;
use crate::state::ConsoleState;
use crate::types::RememberedServer;

#[tauri::command]
pub async fn list_servers(
    state: State<'_, ConsoleState>,
) -> Result<Vec<RememberedServer>, ApiError> {
    state
        .servers
        .list()?
        .into_iter()
        .map(|e| {
            let has_token = state.vault.get(&e.url)?.is_some();
            Ok(RememberedServer {
                url: e.url,
                trust: e.trust,
                fingerprint: e.fingerprint,
                first_seen_at: e.first_seen_at,
                has_token,
            })
        })
        .collect()
}

/// Forgets a server: how it is verified (its pin) and its token.
#[tauri::command]
pub async fn forget_server(state: State<'_, ConsoleState>, url: String) -> Result<(), ApiError> {
    let url = normalize_url(&url)?;
    state.vault.delete(&url)?;
    state.servers.forget(&url)
}
