use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_types::ErrorCode;
use http::{header, HeaderValue, Method};

use serde_json::json;

use super::{AuditSlot, RequestFacts};
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
    let item = path_item(&path, request.uri().path());
    let source_ip = request
        .extensions()
        .get::<std::sync::Arc<RequestFacts>>()
        .map(|f| f.source_ip.clone())
        .unwrap_or_default();
    let now_s = state.clock.now().timestamp();
    let (decision, version) =
        state
            .policies
            .decide(&principal, action, item.as_deref(), &source_ip, now_s);
    if let Some(slot) = &slot {
        slot.note().authorization = Some(json!({
            "decision": if decision.is_allowed { "allow" } else { "deny" },
            "policies": decision.policies,
            "errors": decision.errors,
            "policy_version": version,
        }));
    }
    if !decision.is_allowed {
        tracing::info!(
            token_id = %principal.token_id,
            role = %principal.role,
            action = action.as_str(),
            policies = ?decision.policies,
            "denied"
        );
        return ApiFailure::forbidden().into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The item a route names (`{id}` in `/v1/api-tokens/{id}`), from the matched
/// pattern and the request's path.
fn path_item(pattern: &str, path: &str) -> Option<String> {
    pattern
        .split('/')
        .zip(path.split('/'))
        .find(|(p, _)| p.starts_with('{') && p.ends_with('}'))
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::path_item;

    #[test]
    fn the_item_comes_from_the_placeholder() {
        assert_eq!(
            path_item("/v1/api-tokens/{id}", "/v1/api-tokens/abc").as_deref(),
            Some("abc")
        );
        assert_eq!(path_item("/v1/audit/events", "/v1/audit/events"), None);
    }
}
