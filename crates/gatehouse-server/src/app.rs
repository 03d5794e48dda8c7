//! The application: shared state and the router with the pipeline around it.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::Router;
use chrono::{DateTime, Utc};
use gatehouse_store::Store;
use tower_http::catch_panic::CatchPanicLayer;

use crate::audit::stream::Streams;
use crate::audit::AuditLog;
use crate::auth::Authenticator;
use crate::authz::Policies;
use crate::clock::Clock;
use crate::config::{CapacityConfig, StreamConfig};
use crate::error::ApiFailure;
use crate::pipeline::{finalize, guard, limit, RouteLimits, SourceLimiter};
use crate::routes::{self, RouteTable};

/// Every handler's and stage's shared state: one `Arc`, so that the clones
/// axum makes per request and per stage cost one reference count.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub policies: Arc<Policies>,
    pub audit: AuditLog,
    pub routes: Arc<RouteTable>,
    pub started_at: DateTime<Utc>,
    pub max_body_bytes: usize,
    pub default_token_ttl_seconds: u64,
    /// Requests without a valid credential, per source.
    pub throttle: Arc<SourceLimiter>,
    /// The heavy routes' turns (OP-4).
    pub limits: Arc<RouteLimits>,
    /// The live tails open, under their caps.
    pub streams: Arc<Streams>,
    /// Authenticates every private request (API tokens and access tokens).
    pub auth: Arc<Authenticator>,
    /// Access tokens' settings: issuer, audience, lifetime.
    pub tokens: Arc<TokenSettings>,
    /// Signing people in: the password hasher, sessions, lockout.
    pub identity: Arc<crate::sign_in::Identity>,
    /// Sessions opened and refresh tokens rotated, committed together.
    pub session_writes: crate::session_writes::SessionWriter,
    /// The gateway this server runs (`[gateway]`), once started.
    pub gateway: std::sync::OnceLock<Arc<gatehouse_gateway::Gateway>>,
}

/// What issuing access tokens and answering for them needs.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl_seconds: i64,
    pub secret_grace_seconds: i64,
}

/// What the application is built from.
pub struct AppParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub policies: Arc<Policies>,
    pub audit: AuditLog,
    pub max_body_bytes: usize,
    pub default_token_ttl_seconds: u64,
    pub throttle: SourceLimiter,
    pub capacity: CapacityConfig,
    pub stream: StreamConfig,
    pub auth: Arc<Authenticator>,
    pub tokens: TokenSettings,
    pub identity: Arc<crate::sign_in::Identity>,
    pub session_writes: crate::session_writes::SessionWriter,
}

/// The router with every stage of the pipeline, the route table it enforces,
/// and the state it serves with.
pub fn build(parts: AppParts) -> (Router, Arc<RouteTable>, AppState) {
    let (router, table) = routes::build();
    let table = Arc::new(table);
    let state = AppState(Arc::new(AppStateInner {
        started_at: parts.clock.now(),
        store: parts.store,
        clock: parts.clock,
        policies: parts.policies,
        audit: parts.audit,
        routes: table.clone(),
        max_body_bytes: parts.max_body_bytes,
        default_token_ttl_seconds: parts.default_token_ttl_seconds,
        throttle: Arc::new(parts.throttle),
        limits: Arc::new(RouteLimits::new(&parts.capacity)),
        streams: Streams::new(parts.stream),
        auth: parts.auth,
        tokens: Arc::new(parts.tokens),
        identity: parts.identity,
        session_writes: parts.session_writes,
        gateway: std::sync::OnceLock::new(),
    }));
    // The later route layer runs first: the guard, then the heavy routes' limit.
    let router = router
        .route_layer(from_fn_with_state(state.clone(), limit))
        .route_layer(from_fn_with_state(state.clone(), guard))
        .fallback(|| async {
            ApiFailure::new(gatehouse_types::ErrorCode::NotFound, "no such route")
        })
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            axum::response::IntoResponse::into_response(ApiFailure::internal())
        }))
        .layer(from_fn_with_state(state.clone(), finalize))
        .with_state(state.clone());
    (router, table, state)
}
