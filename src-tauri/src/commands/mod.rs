//! Tauri commands: each converts its arguments, delegates to gatehouse-client (or
//! the embedded server), and converts the answer. Listed in build.rs's app
//! manifest and granted one by one in capabilities/default.json.

pub mod blocked;
pub mod servers;
pub mod session;
pub mod tokens;

use gatehouse_client::Client;
use gatehouse_types::{ApiError, ErrorCode};

use crate::error::local;
use crate::state::ConsoleState;

/// The connected server's client, or `not_connected`.
pub(crate) async fn connected_client(state: &ConsoleState) -> Result<Client, ApiError> {
    state
        .session
        .lock()
        .await
        .as_ref()
        .map(|s| s.client.clone())
        .ok_or_else(|| local(ErrorCode::NotConnected, "not connected to a server"))
}
