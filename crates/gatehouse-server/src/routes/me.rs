//! `/v1/me…`: a signed-in person's own profile, sessions, factors and
//! password (ID-4, ID-9), thin over [`crate::factors`] and
//! [`crate::sessions`]. Each acts on the caller and nobody else.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_identity::session::EndReason;
use gatehouse_types::{
    ChangePasswordRequest, FactorsResponse, OutboxMessage, OutboxResponse, RecoveryCodesResponse,
    SessionListResponse, TotpConfirmRequest, TotpEnrolmentResponse, UserResponse,
};

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::factors::{self, me};
use crate::pipeline::{ApiJson, Audit, Caller};
use crate::sessions;

/// `GET /v1/me`.
pub async fn read(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<UserResponse>, ApiFailure> {
    let user = me(&state, &caller).await?;
    Ok(Json(crate::users::to_response(&user)?))
}

/// `GET /v1/me/sessions`: open ones, newest first.
pub async fn list_sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<SessionListResponse>, ApiFailure> {
    let user = me(&state, &caller).await?;
    let rows = state
        .store
        .sessions()
        .list_sessions(&user.id, false, 200)
        .await?;
    Ok(Json(SessionListResponse {
        items: rows.iter().map(sessions::to_response).collect(),
    }))
}

/// `DELETE /v1/me/sessions`: signs the person out everywhere.
pub async fn end_sessions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
) -> Result<StatusCode, ApiFailure> {
    let user = me(&state, &caller).await?;
    audit
        .commit_change(&state.audit, StatusCode::NO_CONTENT, |change| {
            let state = &state;
            async move { sessions::end_all(state, &user.id, EndReason::Logout, &change).await }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me/factors`.
pub async fn list_factors(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<FactorsResponse>, ApiFailure> {
    let user = me(&state, &caller).await?;
    Ok(Json(factors::list(&state, &user).await?))
}

/// `POST /v1/me/factors/totp`: a secret to scan, not yet counted.
pub async fn enrol_totp(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
) -> Result<(StatusCode, Json<TotpEnrolmentResponse>), ApiFailure> {
    let user = me(&state, &caller).await?;
    let enrolment = audit
        .commit_change(&state.audit, StatusCode::CREATED, |change| {
            let state = &state;
            async move { factors::enrol_totp(state, &user, &change).await }
        })
        .await?;
    Ok((StatusCode::CREATED, Json(enrolment)))
}

/// `POST /v1/me/factors/totp/confirm`: the authenticator's code; the
/// recovery codes, shown once.
pub async fn confirm_totp(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<TotpConfirmRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiFailure> {
    let user = me(&state, &caller).await?;
    let codes = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { factors::confirm_totp(state, &user, &request.code, &change).await }
        })
        .await?;
    Ok(Json(codes))
}

/// `DELETE /v1/me/factors/totp`.
pub async fn remove_totp(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
) -> Result<StatusCode, ApiFailure> {
    let user = me(&state, &caller).await?;
    audit
        .commit_change(&state.audit, StatusCode::NO_CONTENT, |change| {
            let state = &state;
            async move { factors::remove_totp(state, &user, &change).await }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/me/password`: every session of the person ends.
pub async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiFailure> {
    let user = me(&state, &caller).await?;
    audit
        .commit_change(&state.audit, StatusCode::NO_CONTENT, |change| {
            let state = &state;
            async move { factors::change_password(state, &user, request, &change).await }
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/outbox`: what the development outbox kept, newest last; `404`
/// when the server sends for real.
pub async fn outbox(State(state): State<AppState>) -> Result<Json<OutboxResponse>, ApiFailure> {
    let outbox = state
        .identity
        .senders
        .outbox
        .as_ref()
        .ok_or_else(|| ApiFailure::not_found("outbox"))?;
    let items = outbox
        .list()
        .into_iter()
        .map(|e| OutboxMessage {
            id: e.id,
            at: e.at,
            to: e.to,
            channel: e.channel.as_str().to_owned(),
            kind: serde_json::to_value(e.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            subject: e.subject,
            body: e.body,
        })
        .collect();
    Ok(Json(OutboxResponse { items }))
}
