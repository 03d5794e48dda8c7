//! Tauri commands: each converts its arguments, delegates to gatehouse-client (or
//! the embedded server), and converts the answer. Listed in build.rs's app
//! manifest and granted one by one in capabilities/default.json.

pub mod audit;
pub mod blocked;
pub mod export;
pub mod gateway;
pub mod machines;
pub mod person;
pub mod policies;
pub mod servers;
pub mod session;
pub mod tokens;
pub mod users;

use chrono::{DateTime, Utc};
use gatehouse_client::Client;
use gatehouse_types::{ApiError, ErrorCode};

use crate::error::local;
use crate::state::ConsoleState;

/// The connected server's client, or `not_connected`; a person's access
/// token is refreshed first when it is about to expire (`session_expired`
/// when the server refuses).
pub(crate) async fn connected_client(state: &ConsoleState) -> Result<Client, ApiError> {
    crate::person::fresh_client(state).await
}

/// An optional date and time from the window (RFC 3339); empty is unset.
pub(crate) fn parse_time(
    name: &str,
    value: Option<String>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| {
            DateTime::parse_from_rfc3339(v.trim())
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    local(
                        ErrorCode::InvalidInput,
                        format!("{name} must be a date and time such as 2026-11-23T12:00:00Z"),
                    )
                })
        })
        .transpose()
}
