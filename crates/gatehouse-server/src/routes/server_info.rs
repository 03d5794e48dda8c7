use axum::extract::State;
use axum::Json;
use gatehouse_types::{CallerKind, DatabaseBackend, IdentityResponse, ServerInfoResponse};

use crate::app::AppState;
use crate::pipeline::Caller;

/// `GET /v1/server`: version, database backend, uptime, and who is asking.
pub async fn show(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Json<ServerInfoResponse> {
    let now = state.clock.now();
    Json(ServerInfoResponse {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: match state.store.backend() {
            gatehouse_store::Backend::Sqlite => DatabaseBackend::Sqlite,
            gatehouse_store::Backend::Postgres => DatabaseBackend::Postgres,
        },
        started_at: state.started_at,
        uptime_seconds: u64::try_from((now - state.started_at).num_seconds()).unwrap_or(0),
        identity: IdentityResponse {
            kind: match (caller.client_grant(), caller.user_grant()) {
                (Some(_), _) => CallerKind::Client,
                (None, Some(_)) => CallerKind::User,
                (None, None) => CallerKind::ApiToken,
            },
            token_id: caller.api_token_id(),
            client_id: caller.client_grant().map(|g| g.client_id.clone()),
            user_id: caller.user_grant().map(|g| g.user_id.clone()),
            user_type: caller.user_grant().map(|g| g.user_type.clone()),
            name: caller.name,
            role: caller.role,
        },
    })
}
