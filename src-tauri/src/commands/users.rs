//! The Users pages (CO-6): users searched and filtered with keyset pages,
//! one user's detail (edits carry the `updated_at` they were made from, so a
//! concurrent edit is the server's `conflict`, never an overwrite), their
//! sessions, the pending registrations, the registration flows, and the
//! development outbox. The server decides every one; the console converts.

use gatehouse_client::UserFilters;
use gatehouse_types::{
    ApiError, ErrorCode, OutboxResponse, RegistrationFlowDefinition, RegistrationFlowListResponse,
    SessionListResponse, SessionResponse, UpdateUserRequest, UserPage, UserResponse, UserStatus,
    UserTypeListResponse,
};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

use super::connected_client;
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// The Users page's filters, as the window sends them (empty is unset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UserListQuery {
    #[serde(default)]
    #[ts(optional)]
    pub user_type: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub status: Option<UserStatus>,
    /// `name:value`.
    #[serde(default)]
    #[ts(optional)]
    pub attribute: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub entitlement: Option<String>,
    /// A prefix of the name, email address or phone number.
    #[serde(default)]
    #[ts(optional)]
    pub q: Option<String>,
}

/// The most a filter field may hold (the server's own limits are checked
/// there; this keeps the IPC bounded).
const MAX_FILTER: usize = 256;

fn filled(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.len() > MAX_FILTER) {
        return Err(local(
            ErrorCode::InvalidInput,
            format!("{name} is longer than {MAX_FILTER} characters"),
        ));
    }
    Ok(value)
}

/// The filters for the client, checked: `attribute` must be `name:value`.
pub fn filters_of(
    query: UserListQuery,
    after: Option<String>,
    limit: u32,
) -> Result<UserFilters, ApiError> {
    let attribute = filled("attribute", query.attribute)?;
    if attribute.as_ref().is_some_and(|a| !a.contains(':')) {
        return Err(local(
            ErrorCode::InvalidInput,
            "attribute: write it as name:value, for example department:cardiology",
        ));
    }
    Ok(UserFilters {
        user_type: filled("user_type", query.user_type)?,
        status: query.status,
        attribute,
        entitlement: filled("entitlement", query.entitlement)?,
        q: filled("search", query.q)?,
        after: filled("after", after)?,
        limit: Some(limit.clamp(1, gatehouse_types::MAX_USER_PAGE)),
    })
}

fn id_of(id: &str) -> Result<String, ApiError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 {
        return Err(local(ErrorCode::InvalidInput, "a user id is needed"));
    }
    Ok(id.to_owned())
}

#[tauri::command]
pub async fn list_users(
    state: State<'_, ConsoleState>,
    query: UserListQuery,
    after: Option<String>,
    limit: u32,
) -> Result<UserPage, ApiError> {
    let filters = filters_of(query, after, limit)?;
    let client = connected_client(&state).await?;
    client.list_users(&filters).await.map_err(from_client)
}

#[tauri::command]
pub async fn get_user(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<UserResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.user(&id_of(&id)?).await.map_err(from_client)
}

/// An edit made from the user as read at `request.expected_updated_at`.
#[tauri::command]
pub async fn update_user(
    state: State<'_, ConsoleState>,
    id: String,
    request: UpdateUserRequest,
) -> Result<UserResponse, ApiError> {
    if request.expected_updated_at.is_none() {
        return Err(local(
            ErrorCode::InvalidInput,
            "an edit names the version it was made from",
        ));
    }
    let client = connected_client(&state).await?;
    client
        .update_user(&id_of(&id)?, &request)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn disable_user(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<UserResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.disable_user(&id_of(&id)?).await.map_err(from_client)
}

#[tauri::command]
pub async fn lock_user(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<UserResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.lock_user(&id_of(&id)?).await.map_err(from_client)
}

#[tauri::command]
pub async fn unlock_user(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<UserResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.unlock_user(&id_of(&id)?).await.map_err(from_client)
}

#[tauri::command]
pub async fn approve_user(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<UserResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.approve_user(&id_of(&id)?).await.map_err(from_client)
}

#[tauri::command]
pub async fn reject_user(
    state: State<'_, ConsoleState>,
    id: String,
    reason: String,
) -> Result<UserResponse, ApiError> {
    if reason.trim().is_empty() {
        return Err(local(
            ErrorCode::InvalidInput,
            "reason: say why the registration is rejected",
        ));
    }
    let client = connected_client(&state).await?;
    client
        .reject_user(&id_of(&id)?, reason.trim())
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn get_user_factors(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<gatehouse_types::FactorsResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.user_factors(&id_of(&id)?).await.map_err(from_client)
}

#[tauri::command]
pub async fn list_user_sessions(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<SessionListResponse, ApiError> {
    let client = connected_client(&state).await?;
    client
        .user_sessions(&id_of(&id)?)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn end_user_sessions(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<SessionListResponse, ApiError> {
    let client = connected_client(&state).await?;
    client
        .end_user_sessions(&id_of(&id)?)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn end_session(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<SessionResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.end_session(&id_of(&id)?).await.map_err(from_client)
}

#[tauri::command]
pub async fn list_user_types(
    state: State<'_, ConsoleState>,
) -> Result<UserTypeListResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.list_user_types().await.map_err(from_client)
}

#[tauri::command]
pub async fn list_registration_flows(
    state: State<'_, ConsoleState>,
) -> Result<RegistrationFlowListResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.list_registration_flows().await.map_err(from_client)
}

#[tauri::command]
pub async fn save_registration_flow(
    state: State<'_, ConsoleState>,
    flow: RegistrationFlowDefinition,
) -> Result<RegistrationFlowDefinition, ApiError> {
    let client = connected_client(&state).await?;
    client
        .put_registration_flow(&flow)
        .await
        .map_err(from_client)
}

#[tauri::command]
pub async fn list_outbox(state: State<'_, ConsoleState>) -> Result<OutboxResponse, ApiError> {
    let client = connected_client(&state).await?;
    client.outbox().await.map_err(from_client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_trimmed_bounded_and_attribute_needs_a_name() {
        let query = UserListQuery {
            q: Some("  ada ".into()),
            user_type: Some("".into()),
            ..UserListQuery::default()
        };
        let f = filters_of(query, None, 100_000).unwrap();
        assert_eq!(f.q.as_deref(), Some("ada"));
        assert_eq!(f.user_type, None);
        assert_eq!(f.limit, Some(gatehouse_types::MAX_USER_PAGE));
        let bad = UserListQuery {
            attribute: Some("cardiology".into()),
            ..UserListQuery::default()
        };
        assert_eq!(
            filters_of(bad, None, 50).unwrap_err().code,
            ErrorCode::InvalidInput
        );
        let long = UserListQuery {
            q: Some("x".repeat(300)),
            ..UserListQuery::default()
        };
        assert!(filters_of(long, None, 50).is_err());
    }
}
