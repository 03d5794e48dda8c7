//! `/v1/gateway` (GW-7): the inventory and the WAF, the WAF's settings, the
//! flagged sources; `/v1/blocked/{request_id}/why` (GW-9).

use axum::extract::State;
use axum::Json;
use gatehouse_types::{
    BlockedWhyResponse, FlaggedSourcesResponse, GatewayResponse, UpdateWafRequest, WafStatus,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::ApiFailure;
use crate::gateway::api;
use crate::pipeline::{ApiJson, ApiQuery, Audit, Caller, PathRequest};

/// `GET /v1/gateway/routes`.
pub async fn read(State(state): State<AppState>) -> Json<GatewayResponse> {
    Json(api::inventory(&state))
}

/// `PUT /v1/gateway/waf`: in force, then kept as the next version with its
/// record (before and after).
pub async fn update_waf(
    State(state): State<AppState>,
    audit: Audit,
    caller: Caller,
    ApiJson(request): ApiJson<UpdateWafRequest>,
) -> Result<Json<WafStatus>, ApiFailure> {
    audit.resource("gateway", "waf");
    let change = api::update_waf(&state, request).await?;
    let author = format!("{} ({})", caller.0.name, caller.0.id());
    let after = audit
        .commit_change(&state.audit, http::StatusCode::OK, |recorder| {
            api::keep_waf(&state, change, recorder, author)
        })
        .await?;
    Ok(Json(after))
}

/// `GET /v1/gateway/sources`.
pub async fn sources(
    State(state): State<AppState>,
) -> Result<Json<FlaggedSourcesResponse>, ApiFailure> {
    Ok(Json(api::flagged(&state)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceQuery {
    source: String,
}

/// `DELETE /v1/gateway/sources?source=…`: the flag lifted (404 if none).
pub async fn unflag(
    State(state): State<AppState>,
    audit: Audit,
    ApiQuery(q): ApiQuery<SourceQuery>,
) -> Result<Json<FlaggedSourcesResponse>, ApiFailure> {
    audit.resource("source", q.source.clone());
    if !api::unflag(&state, &q.source)? {
        return Err(ApiFailure::not_found("flagged source"));
    }
    Ok(Json(api::flagged(&state)?))
}

/// `GET /v1/blocked/{request_id}/why`.
pub async fn why(
    State(state): State<AppState>,
    PathRequest(request_id): PathRequest,
) -> Result<Json<BlockedWhyResponse>, ApiFailure> {
    Ok(Json(api::why(&state, &request_id).await?))
}
