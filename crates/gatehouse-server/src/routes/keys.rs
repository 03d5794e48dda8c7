//! `/v1/keys`: the token signing keys' public halves and lives (TK-2).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_types::KeyListResponse;

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::pipeline::Audit;
use crate::signing;

/// `GET /v1/keys`: every key, retired ones too, oldest first; never a private half.
pub async fn list(State(state): State<AppState>) -> Json<KeyListResponse> {
    Json(KeyListResponse {
        items: state.auth.keys.current().keys.clone(),
    })
}

/// `POST /v1/keys/rotate`: the next key signs from now on; the current one
/// verifies until its last token expires.
pub async fn rotate(
    State(state): State<AppState>,
    audit: Audit,
) -> Result<Json<KeyListResponse>, ApiFailure> {
    let now_s = state.clock.now().timestamp();
    let auth = state.auth.clone();
    let items = audit
        .commit_change(&state.audit, StatusCode::OK, |change| async move {
            signing::rotate_now(&auth.keys, now_s, &change).await
        })
        .await?;
    Ok(Json(KeyListResponse { items }))
}
