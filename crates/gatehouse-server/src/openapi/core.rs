//! Health, the server, this document and API tokens. Stubs: only the attributes
//! are read. `x-gatehouse-action` names the action the route table gives the route.
#![allow(dead_code)]

use gatehouse_types::{
    ApiError, ApiTokenListResponse, ApiTokenResponse, CreateApiTokenRequest,
    CreatedApiTokenResponse, ServerInfoResponse,
};

/// Liveness
///
/// Says `ok` and nothing more (no version, no dependencies). Public: no token.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "server",
    extensions(("x-gatehouse-action" = json!("health.read"))),
    responses((status = 200, description = "The server is up", body = String, content_type = "text/plain", example = "ok"))
)]
pub fn healthz() {}

/// The server and the caller
///
/// Version, database backend, uptime, and who is asking.
#[utoipa::path(
    get,
    path = "/v1/server",
    tag = "server",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("server.read"))),
    responses((status = 200, description = "The server and the caller", body = ServerInfoResponse))
)]
pub fn server_info() {}

/// This document
///
/// The API's OpenAPI 3.1 document, as committed in `docs/openapi.json`.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "server",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("api.describe"))),
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json"))
)]
pub fn openapi_document() {}

/// List API tokens
///
/// Every token, oldest first, without secrets.
#[utoipa::path(
    get,
    path = "/v1/api-tokens",
    tag = "api-tokens",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("api_tokens.list"))),
    responses((status = 200, description = "Every token", body = ApiTokenListResponse))
)]
pub fn list_api_tokens() {}

/// Mint an API token
///
/// The secret is in this response and nowhere else, ever. Only administrators
/// mint tokens of a role other than their own (`requested_role` in the context).
#[utoipa::path(
    post,
    path = "/v1/api-tokens",
    tag = "api-tokens",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("api_tokens.create"))),
    request_body = CreateApiTokenRequest,
    responses((status = 201, description = "The token and its secret", body = CreatedApiTokenResponse))
)]
pub fn create_api_token() {}

/// Revoke an API token
///
/// Revoking twice keeps the first time; the last active administrator token
/// cannot be revoked.
#[utoipa::path(
    delete,
    path = "/v1/api-tokens/{id}",
    tag = "api-tokens",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("api_tokens.revoke"))),
    params(("id" = uuid::Uuid, Path, description = "The token's id")),
    responses(
        (status = 200, description = "The token, revoked", body = ApiTokenResponse),
        (status = 404, description = "`not_found`: there is no such token", body = ApiError),
        (status = 409, description = "`conflict`: it is the last active administrator token", body = ApiError),
    )
)]
pub fn revoke_api_token() {}
