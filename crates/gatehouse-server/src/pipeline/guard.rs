use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_types::ErrorCode;
use http::{header, HeaderValue, Method};

use super::AuditSlot;
use crate::app::AppState;
use crate::error::ApiFailure;
use crate::routes::{Access, Lookup};
use crate::tokens;

/// Route lookup → authenticate → authorize, for every matched route.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(path) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
    else {
        return ApiFailure::forbidden().into_response();
    };
    // HEAD is answered by GET routes and needs the same permission.
    let method = match request.method() {
        &Method::HEAD => Method::GET,
        m => m.clone(),
    };
    let slot = request.extensions().get::<AuditSlot>().cloned();
    let note_action = |name: &'static str| {
        if let Some(slot) = &slot {
            slot.note().action = Some(name);
        }
    };
    let action = match state.routes.lookup(&method, &path) {
        Lookup::Found(Access::Public(name)) => {
            note_action(name);
            return next.run(request).await;
        }
        Lookup::Found(Access::Private(action)) => {
            note_action(action.as_str());
            action
        }
        Lookup::OtherMethods(allowed) => {
            note_action("route.method_not_allowed");
            let mut response = ApiFailure::new(
                ErrorCode::MethodNotAllowed,
                format!("method {method} is not allowed on this route"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(header::ALLOW, v);
            }
            return response;
        }
        // A route that is served but not in the table: deny by default.
        Lookup::Unknown => return ApiFailure::forbidden().into_response(),
    };

    let principal = match tokens::authenticate(&state, request.headers()).await {
        Ok(principal) => principal,
        Err(failure) => return failure.into_response(),
    };
    if let Some(slot) = &slot {
        slot.note().principal = Some(principal.clone());
    }
    let decision = state.authorizer.authorize(&principal, action);
    if !decision.is_allowed {
        tracing::info!(
            token_id = %principal.token_id,
            role = %principal.role,
            action = action.as_str(),
            rule = decision.reason,
            "denied"
        );
        return ApiFailure::forbidden().into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}
