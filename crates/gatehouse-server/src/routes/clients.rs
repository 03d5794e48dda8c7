//! `/v1/clients`: OAuth clients (ID-10), thin over [`crate::clients`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use gatehouse_types::{
    ClientListResponse, ClientResponse, ClientSecretResponse, CreateClientRequest,
    UpdateClientRequest,
};

use crate::app::AppState;
use crate::clients;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, Audit, Caller, PathClient};

/// `POST /v1/clients`: a confidential client's secret is in this answer only.
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<CreateClientRequest>,
) -> Result<(StatusCode, Json<ClientSecretResponse>), ApiFailure> {
    let created = audit
        .commit_change(&state.audit, StatusCode::CREATED, |change| {
            let state = &state;
            async move { clients::create(state, &caller, request, &change).await }
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /v1/clients`: every client, oldest first, without secrets.
pub async fn list(State(state): State<AppState>) -> Result<Json<ClientListResponse>, ApiFailure> {
    Ok(Json(ClientListResponse {
        items: clients::list(state.store.as_ref()).await?,
    }))
}

/// `GET /v1/clients/{id}`.
pub async fn read(
    State(state): State<AppState>,
    PathClient(id): PathClient,
) -> Result<Json<ClientResponse>, ApiFailure> {
    Ok(Json(clients::read(state.store.as_ref(), &id).await?))
}

/// `PATCH /v1/clients/{id}`.
pub async fn update(
    State(state): State<AppState>,
    audit: Audit,
    PathClient(id): PathClient,
    ApiJson(request): ApiJson<UpdateClientRequest>,
) -> Result<Json<ClientResponse>, ApiFailure> {
    audit.resource("client", id.clone());
    let updated = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { clients::update(state, &id, request, &change).await }
        })
        .await?;
    Ok(Json(updated))
}

/// `POST /v1/clients/{id}/secret`: a new secret, shown once; the old one
/// keeps working for `tokens.secret_grace_seconds`.
pub async fn rotate_secret(
    State(state): State<AppState>,
    audit: Audit,
    PathClient(id): PathClient,
) -> Result<Json<ClientSecretResponse>, ApiFailure> {
    audit.resource("client", id.clone());
    let rotated = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { clients::rotate_secret(state, &id, &change).await }
        })
        .await?;
    Ok(Json(rotated))
}

/// `DELETE /v1/clients/{id}`: disables the client (kept for the record) and
/// revokes every token it holds.
pub async fn disable(
    State(state): State<AppState>,
    audit: Audit,
    PathClient(id): PathClient,
) -> Result<Json<ClientResponse>, ApiFailure> {
    audit.resource("client", id.clone());
    let disabled = audit
        .commit_change(&state.audit, StatusCode::OK, |change| {
            let state = &state;
            async move { clients::disable(state, &id, &change).await }
        })
        .await?;
    Ok(Json(disabled))
}
