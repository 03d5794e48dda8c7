use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_types::{
    ApiTokenId, ApiTokenListResponse, ApiTokenResponse, CreateApiTokenRequest,
    CreatedApiTokenResponse, ErrorCode,
};

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, ApiPath, Caller};
use crate::tokens;

/// `POST /v1/api-tokens`: the secret is in this response and nowhere else, ever.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(request): ApiJson<CreateApiTokenRequest>,
) -> Result<(StatusCode, Json<CreatedApiTokenResponse>), ApiFailure> {
    let created = tokens::create(
        state.store.as_ref(),
        state.clock.as_ref(),
        request,
        state.default_token_ttl_seconds,
        Some(caller.token_id),
    )
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
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiTokenResponse>, ApiFailure> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiFailure::new(ErrorCode::InvalidParameter, "token id must be a UUID"))?;
    Ok(Json(
        tokens::revoke(state.store.as_ref(), state.clock.as_ref(), ApiTokenId(id)).await?,
    ))
}
