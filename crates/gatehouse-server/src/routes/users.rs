//! `/v1/users`, `/v1/user-types`, `/v1/registration-flows` (ID-1 … ID-3), thin
//! over [`crate::users`] and [`crate::user_types`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_identity::session::EndReason;
use gatehouse_types::{
    CreateUserRequest, RegistrationFlowDefinition, RegistrationFlowListResponse, RejectUserRequest,
    SessionListResponse, SessionResponse, SetPasswordRequest, UpdateUserRequest, UserPage,
    UserResponse, UserTypeDefinition, UserTypeListResponse,
};

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, ApiQuery, Audit, Caller, PathSession, PathUser, PathUserType};
use crate::sessions;
use crate::user_types;
use crate::users::{self, Edit, UserQuery};

/// `POST /v1/users`.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserResponse>), ApiFailure> {
    let created = audit
        .commit_change(&state.audit, StatusCode::CREATED, |change| {
            let state = &state;
            async move { users::create(state, &caller, request, &change).await }
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /v1/users`: a page in creation order, filtered.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> Result<Json<UserPage>, ApiFailure> {
    Ok(Json(users::list(state.store.as_ref(), query).await?))
}

/// `GET /v1/users/{id}`.
pub async fn read(
    State(state): State<AppState>,
    PathUser(id): PathUser,
) -> Result<Json<UserResponse>, ApiFailure> {
    Ok(Json(users::read(state.store.as_ref(), &id).await?))
}

/// `PATCH /v1/users/{id}`.
pub async fn update(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
    ApiJson(request): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserResponse>, ApiFailure> {
    audit.resource("user", id.clone());
    let updated = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { users::change(state, &id, Edit::Update(request), &change).await }
        })
        .await?;
    Ok(Json(updated))
}

/// `DELETE /v1/users/{id}`: disables (a soft delete).
pub async fn disable(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
) -> Result<Json<UserResponse>, ApiFailure> {
    audit.resource("user", id.clone());
    let disabled = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { users::change(state, &id, users::disabling(), &change).await }
        })
        .await?;
    Ok(Json(disabled))
}

/// `POST /v1/users/{id}/lock`: locked until unlocked.
pub async fn lock(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
) -> Result<Json<UserResponse>, ApiFailure> {
    audit.resource("user", id.clone());
    let locked = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { users::change(state, &id, Edit::Lock, &change).await }
        })
        .await?;
    Ok(Json(locked))
}

/// `DELETE /v1/users/{id}/lock`: ends an administrator's lock and an
/// automatic lockout early.
pub async fn unlock(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
) -> Result<Json<UserResponse>, ApiFailure> {
    audit.resource("user", id.clone());
    let unlocked = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { users::change(state, &id, Edit::Unlock, &change).await }
        })
        .await?;
    Ok(Json(unlocked))
}

/// `POST /v1/users/{id}/approve`: a pending registration becomes active.
pub async fn approve(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
) -> Result<Json<UserResponse>, ApiFailure> {
    audit.resource("user", id.clone());
    let approved = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { users::change(state, &id, Edit::Approve, &change).await }
        })
        .await?;
    Ok(Json(approved))
}

/// `POST /v1/users/{id}/reject`: a pending registration is refused (the user
/// is disabled); the reason is kept in the record.
pub async fn reject(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
    ApiJson(request): ApiJson<RejectUserRequest>,
) -> Result<Json<UserResponse>, ApiFailure> {
    let reason = users::check_reason(&request.reason)?;
    audit.resource("user", id.clone());
    audit.detail("reason", serde_json::json!(reason));
    let rejected = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { users::change(state, &id, Edit::Reject, &change).await }
        })
        .await?;
    Ok(Json(rejected))
}

/// `GET /v1/users/{id}/sessions`: newest first, ended ones too.
pub async fn list_sessions(
    State(state): State<AppState>,
    PathUser(id): PathUser,
) -> Result<Json<SessionListResponse>, ApiFailure> {
    let rows = state.store.sessions().list_sessions(&id, true, 200).await?;
    Ok(Json(SessionListResponse {
        items: rows.iter().map(sessions::to_response).collect(),
    }))
}

/// `DELETE /v1/users/{id}/sessions`: ends every session of the user and cuts
/// off every token issued to them until now.
pub async fn end_sessions(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
) -> Result<Json<SessionListResponse>, ApiFailure> {
    audit.resource("user", id.clone());
    audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            let id = &id;
            async move { sessions::end_all(state, id, EndReason::Admin, &change).await }
        })
        .await?;
    let rows = state.store.sessions().list_sessions(&id, true, 200).await?;
    Ok(Json(SessionListResponse {
        items: rows.iter().map(sessions::to_response).collect(),
    }))
}

/// `DELETE /v1/sessions/{id}`: ends one session; its tokens are refused
/// everywhere within a second.
pub async fn end_session(
    State(state): State<AppState>,
    audit: Audit,
    PathSession(id): PathSession,
) -> Result<Json<SessionResponse>, ApiFailure> {
    let session = state
        .store
        .sessions()
        .find_session(&id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("session"))?;
    audit.resource("session", id.clone());
    audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let (state, session) = (&state, &session);
            async move {
                sessions::end(
                    state,
                    &session.user_id,
                    std::slice::from_ref(&session.id),
                    EndReason::Admin,
                    &change,
                )
                .await
            }
        })
        .await?;
    let ended = state
        .store
        .sessions()
        .find_session(&id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("session"))?;
    Ok(Json(sessions::to_response(&ended)))
}

/// `POST /v1/users/{id}/password`: sets the password; the user's sessions end.
pub async fn set_password(
    State(state): State<AppState>,
    audit: Audit,
    PathUser(id): PathUser,
    ApiJson(request): ApiJson<SetPasswordRequest>,
) -> Result<StatusCode, ApiFailure> {
    audit.resource("user", id.clone());
    let password = zeroize::Zeroizing::new(request.password);
    audit
        .commit_change(&state.audit, StatusCode::NO_CONTENT, |change| {
            let (state, id, password) = (&state, &id, &password);
            async move { sessions::set_password(state, id, password, &change).await }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/user-types`.
pub async fn list_types(
    State(state): State<AppState>,
) -> Result<Json<UserTypeListResponse>, ApiFailure> {
    Ok(Json(user_types::list_types(state.store.as_ref()).await?))
}

/// `PUT /v1/user-types/{name}`.
pub async fn put_type(
    State(state): State<AppState>,
    audit: Audit,
    PathUserType(name): PathUserType,
    ApiJson(definition): ApiJson<UserTypeDefinition>,
) -> Result<Json<UserTypeDefinition>, ApiFailure> {
    audit.resource("user_type", name.clone());
    let stored = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { user_types::put_type(state, &name, definition, &change).await }
        })
        .await?;
    Ok(Json(stored))
}

/// `GET /v1/registration-flows`.
pub async fn list_flows(
    State(state): State<AppState>,
) -> Result<Json<RegistrationFlowListResponse>, ApiFailure> {
    Ok(Json(user_types::list_flows(state.store.as_ref()).await?))
}

/// `PUT /v1/registration-flows/{user_type}`.
pub async fn put_flow(
    State(state): State<AppState>,
    audit: Audit,
    PathUserType(user_type): PathUserType,
    ApiJson(definition): ApiJson<RegistrationFlowDefinition>,
) -> Result<Json<RegistrationFlowDefinition>, ApiFailure> {
    audit.resource("registration_flow", user_type.clone());
    let stored = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { user_types::put_flow(state, &user_type, definition, &change).await }
        })
        .await?;
    Ok(Json(stored))
}

/// A CSV attachment named `name`.
fn csv_attachment(body: axum::body::Body, name: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    response
}

/// `GET /v1/users/export`: every user the filters match, as CSV, streamed.
pub async fn export(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> Result<axum::response::Response, ApiFailure> {
    let mut filter = users::filter_of(query)?;
    filter.after = None;
    let body = crate::users_export::users_csv(state.store.clone(), filter);
    let name = format!("users-{}.csv", state.clock.now().format("%Y%m%dT%H%M%SZ"));
    Ok(csv_attachment(axum::body::Body::from_stream(body), &name))
}

/// `GET /v1/users/{id}/sessions/export`: the user's sessions, ended ones too, as CSV.
pub async fn export_sessions(
    State(state): State<AppState>,
    PathUser(id): PathUser,
) -> Result<axum::response::Response, ApiFailure> {
    let rows = state
        .store
        .sessions()
        .list_sessions(&id, true, 1000)
        .await?;
    let csv = crate::users_export::sessions_csv(&rows).map_err(|_| ApiFailure::internal())?;
    let name = format!("sessions-{id}.csv");
    Ok(csv_attachment(axum::body::Body::from(csv), &name))
}

/// `GET /v1/users/{id}/factors`: what the user has enrolled, never a secret.
pub async fn list_factors(
    State(state): State<AppState>,
    PathUser(id): PathUser,
) -> Result<Json<gatehouse_types::FactorsResponse>, ApiFailure> {
    let user = state
        .store
        .users()
        .find(&id)
        .await?
        .ok_or_else(|| ApiFailure::not_found("user"))?;
    Ok(Json(crate::factors::list(&state, &user).await?))
}
