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
    let inner = state.clone();
    let created = audit
        .commit_change(&state.audit, StatusCode::CREATED, |change| async move {
            let state = inner;
            tokens::create(
                state.store.as_ref(),
                state.clock.as_ref(),
                request,
                state.default_token_ttl_seconds,
                caller.api_token_id(),
                &change,
            )
            .await
        })
        .await?;
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
    let inner = state.clone();
    let token = audit
        .commit_change(&state.audit, StatusCode::OK, |change| async move {
            let state = inner;
            tokens::revoke(state.store.as_ref(), state.clock.as_ref(), id, &change).await
        })
        .await?;
    // Live tails held by this token end now, not at their next periodic check.
    state.policies.recheck_all();
    Ok(Json(token))
}
