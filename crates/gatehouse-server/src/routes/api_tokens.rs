use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_types::{
    ApiTokenListResponse, ApiTokenResponse, CreateApiTokenRequest, CreatedApiTokenResponse,
};

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, Audit, Caller, PathToken};
use crate::tokens;

/// `POST /v1/api-tokens`: the secret is in this response and nowhere else, ever.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<CreateApiTokenRequest>,
) -> Result<(StatusCode, Json<CreatedApiTokenResponse>), ApiFailure> {
    let record_of = |time_us: i64, after: serde_json::Value| {
        audit.resource("api_token", after["id"].as_str().unwrap_or_default());
        audit.record(time_us, StatusCode::CREATED.as_u16(), None, Some(after))
    };
    let created = tokens::create(
        state.store.as_ref(),
        state.clock.as_ref(),
        request,
        state.default_token_ttl_seconds,
        Some(caller.token_id),
        (&record_of, state.audit.sealer()),
    )
    .await?;
    audit.mark_recorded();
    state.audit.notify_appended();
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /v1/api-tokens`: every token, oldest first, without secrets.
pub async fn list(State(state): State<AppState>) -> Result<Json<ApiTokenListResponse>, ApiFailure> {
    Ok(Json(ApiTokenListResponse {
        items: tokens::list(state.store.as_ref()).await?,
    }))
}

/// `DELETE /v1/api-tokens/{id}`: revokes; revoking twice keeps the first time.
pub async fn revoke(
    State(state): State<AppState>,
    audit: Audit,
    PathToken(id): PathToken,
) -> Result<Json<ApiTokenResponse>, ApiFailure> {
    audit.resource("api_token", id.0.to_string());
    let record_of = |time_us: i64, before: serde_json::Value, after: serde_json::Value| {
        audit.record(time_us, StatusCode::OK.as_u16(), Some(before), Some(after))
    };
    let token = tokens::revoke(
        state.store.as_ref(),
        state.clock.as_ref(),
        id,
        (&record_of, state.audit.sealer()),
    )
    .await?;
    audit.mark_recorded();
    state.audit.notify_appended();
    // Live tails held by this token end now, not at their next periodic check.
    state.policies.recheck_all();
    Ok(Json(token))
}
