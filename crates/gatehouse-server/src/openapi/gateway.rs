//! The gateway (GW-7, GW-9): its inventory and WAF, the WAF's settings, the
//! flagged sources, and the "why" of a request. Stubs: only the attributes are read.
#![allow(dead_code)]

use gatehouse_types::{
    BlockedWhyResponse, FlaggedSourcesResponse, GatewayResponse, UpdateWafRequest, WafStatus,
};

/// The gateway's inventory and WAF
///
/// Every route (path prefix, upstreams, exposure, classification, limits)
/// with its requests and refusals over the last minute, the WAF's settings in
/// force and the honeypots' decoys. `is_running` is false on a server with no
/// `[gateway]`.
#[utoipa::path(get, path = "/v1/gateway/routes", tag = "gateway", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("gateway.read"))),
    responses((status = 200, description = "The inventory and the WAF", body = GatewayResponse)))]
pub fn read_gateway() {}

/// Change the WAF's settings
///
/// Mode, paranoia level, anomaly thresholds and per-route rule exclusions, as
/// the next configuration generation. A configuration that does not load
/// changes nothing (`validation_failed` says why); a change made since
/// `base_generation` is a `conflict`. Audited with before and after.
#[utoipa::path(put, path = "/v1/gateway/waf", tag = "gateway", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("gateway.waf.update"))),
    request_body = UpdateWafRequest,
    responses((status = 200, description = "The settings now in force", body = WafStatus)))]
pub fn update_waf() {}

/// The sources the honeypots flagged
#[utoipa::path(get, path = "/v1/gateway/sources", tag = "gateway", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("gateway.sources.list"))),
    responses((status = 200, description = "Flagged sources, newest first", body = FlaggedSourcesResponse)))]
pub fn list_flagged_sources() {}

/// Lift a source's flag
#[utoipa::path(delete, path = "/v1/gateway/sources", tag = "gateway", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("gateway.sources.unflag"))),
    params(("source" = String, Query, description = "The flagged address (IPv4, or IPv6: its /64 is lifted)")),
    responses((status = 200, description = "The sources still flagged", body = FlaggedSourcesResponse)))]
pub fn unflag_source() {}

/// Why a request was blocked
///
/// From the request's audit record, stage by stage: the token check, the
/// access decision with the policies that decided it, the WAF rules that
/// matched (never what they matched), the bot verdict and the rate limits'
/// counts. For the gateway's requests and the API's own.
#[utoipa::path(get, path = "/v1/blocked/{request_id}/why", tag = "blocked", security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("blocked.why"))),
    params(("request_id" = String, Path, description = "The request's id (its `x-request-id`)")),
    responses((status = 200, description = "Why", body = BlockedWhyResponse)))]
pub fn explain_blocked() {}
