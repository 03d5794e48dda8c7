//! Heavy routes serve a bounded number of requests at once (OP-4). Searches,
//! exports, verification, the blocked log and the permissions matrix each have a
//! semaphore sized by `[capacity.concurrency]`; a request that finds its route
//! full waits up to `capacity.queue_wait_ms` for a turn, then is answered 503
//! `unavailable` with `Retry-After`. 503, not 429: the server is short of
//! capacity, the caller did nothing wrong. The turn is held until the response
//! body is finished, so an export that streams for minutes counts for minutes.
//! Together the limits keep reads from taking every connection of the read
//! pool, and the writer has a pool of its own.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_types::ErrorCode;
use http::Method;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::app::AppState;
use crate::authz::Action;
use crate::config::CapacityConfig;
use crate::error::ApiFailure;
use crate::routes::{Access, Lookup};

/// Seconds a refused client is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

/// One semaphore per heavy route, by the action the route performs.
#[derive(Debug)]
pub struct RouteLimits {
    turns: HashMap<Action, Arc<Semaphore>>,
    /// Free-text searches take turns of their own, fewer.
    text_search: Arc<Semaphore>,
    wait: Duration,
}

impl RouteLimits {
    pub fn new(config: &CapacityConfig) -> Self {
        let c = &config.concurrency;
        let turns = [
            (Action::SearchAudit, c.audit_search),
            (Action::ExportAudit, c.audit_export),
            // A users export streams as long as an audit export does.
            (Action::ExportUsers, c.audit_export),
            (Action::VerifyAudit, c.audit_verify),
            (Action::ListBlocked, c.blocked_list),
            (Action::SummarizeBlocked, c.blocked_summary),
            (Action::ReadPolicyMatrix, c.policy_matrix),
        ]
        .into_iter()
        .map(|(action, n)| (action, Arc::new(Semaphore::new(n.max(1)))))
        .collect();
        Self {
            turns,
            text_search: Arc::new(Semaphore::new(c.audit_text_search.max(1))),
            wait: Duration::from_millis(config.queue_wait_ms),
        }
    }

    /// A turn on `action`'s route, waiting at most the configured time; `None`
    /// means the route is not limited, `Some(Err)` that it stayed full.
    async fn take(
        &self,
        action: Action,
        is_text_search: bool,
    ) -> Option<Result<OwnedSemaphorePermit, ApiFailure>> {
        let turns = if is_text_search && action == Action::SearchAudit {
            self.text_search.clone()
        } else {
            self.turns.get(&action)?.clone()
        };
        let busy = || {
            ApiFailure::new(
                ErrorCode::Unavailable,
                "too many of these requests are running, retry shortly",
            )
            .retry_after(RETRY_AFTER_SECONDS)
        };
        Some(
            match tokio::time::timeout(self.wait, turns.acquire_owned()).await {
                Ok(Ok(permit)) => Ok(permit),
                _ => Err(busy()),
            },
        )
    }
}

/// Runs inside the guard, so only authorized requests wait for a turn and a
/// refusal is recorded with its caller.
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = match request.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    let action = request.extensions().get::<MatchedPath>().and_then(|p| {
        match state.routes.lookup(&method, p.as_str()) {
            Lookup::Found(Access::Private(action)) => Some(action),
            _ => None,
        }
    });
    let Some(action) = action else {
        return next.run(request).await;
    };
    // A free-text search: `q` with a value, however its name is spelt
    // (`%71=` is `q=`), as the handler's parser reads it.
    let is_text_search = request.uri().query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "q" && !v.is_empty())
    });
    let permit = match state.limits.take(action, is_text_search).await {
        None => return next.run(request).await,
        Some(Err(busy)) => return busy.into_response(),
        Some(Ok(permit)) => permit,
    };
    let (parts, body) = next.run(request).await.into_parts();
    Response::from_parts(
        parts,
        Body::new(Holding {
            body,
            _permit: permit,
        }),
    )
}

/// A response body that keeps its route's turn until it is finished or dropped.
struct Holding {
    body: Body,
    _permit: OwnedSemaphorePermit,
}

impl HttpBody for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
