//! `POST /v1/signup` and `/v1/signup/{id}/verify` (ID-1, ID-2): public, thin
//! over [`crate::sign_up`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::Json;
use gatehouse_types::{SignUpRequest, SignUpResponse, SignUpVerifyRequest};

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, Audit};
use crate::sign_up;

/// `POST /v1/signup`: `202`, the same for a new address and a taken one.
pub async fn start(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<SignUpRequest>,
) -> Result<(StatusCode, Json<SignUpResponse>), ApiFailure> {
    let response = sign_up::start(&state, &audit, request).await?;
    Ok((StatusCode::ACCEPTED, Json(response)))
}

/// `POST /v1/signup/{id}/verify`: the code for the current step.
pub async fn verify(
    State(state): State<AppState>,
    audit: Audit,
    uri: Uri,
    ApiJson(request): ApiJson<SignUpVerifyRequest>,
) -> Result<Json<SignUpResponse>, ApiFailure> {
    // The route is `/v1/signup/{id}/verify`: the id is the third segment. An id
    // that cannot be one is answered as an expired sign-up.
    let id = uri.path().split('/').nth(3).unwrap_or_default();
    Ok(Json(
        sign_up::verify(&state, &audit, id, &request.code).await?,
    ))
}
