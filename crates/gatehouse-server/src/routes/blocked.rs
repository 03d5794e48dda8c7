//! `/v1/blocked`: the requests the pipeline refused (GW-6), for administrators and
//! auditors.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_types::BlockedPage;

use crate::app::AppState;
use crate::blocked::{self, BlockedQuery, SummaryQuery};
use crate::clock::to_micros;
use crate::error::ApiFailure;
use crate::pipeline::ApiQuery;

/// `GET /v1/blocked`: newest first, keyset pages.
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BlockedQuery>,
) -> Result<Json<BlockedPage>, ApiFailure> {
    Ok(Json(blocked::list(state.store.as_ref(), q).await?))
}

/// `GET /v1/blocked/summary[?format=csv]`: the last 24 hours unless `from`/`to`
/// say otherwise.
pub async fn summary(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SummaryQuery>,
) -> Result<Response, ApiFailure> {
    let is_csv = q.is_csv()?;
    let now = to_micros(state.clock.now());
    let response = blocked::summarize(state.store.as_ref(), now, q).await?;
    if !is_csv {
        return Ok(Json(response).into_response());
    }
    let csv = blocked::summary_csv(&response).map_err(|_| ApiFailure::internal())?;
    let file_name = format!(
        "attachment; filename=\"blocked-{}.csv\"",
        response.from.format("%Y%m%dT%H%M%SZ")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file_name),
        ],
        csv,
    )
        .into_response())
}
