use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_types::ErrorCode;
use http::{header, HeaderValue, Method};

use serde_json::json;

use super::{target, AuditSlot, RequestFacts};
use crate::app::AppState;
use crate::error::ApiFailure;
use crate::routes::{Access, Lookup};

/// Route lookup → authenticate → authorize, for every matched route.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
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
            let mut note = slot.note();
            note.action = Some(name);
            note.route = Some(path.clone());
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

    let principal = match state.auth.authenticate(request.headers()).await {
        Ok(principal) => principal,
        Err(refused) => {
            // The caller hears `invalid_token`; the record says which check
            // failed, for the security team.
            if let (Some(slot), Some(reason)) = (&slot, refused.reason) {
                let mut details = serde_json::Map::new();
                details.insert("rejected_because".into(), json!(reason));
                slot.note().details = Some(details);
            }
            return refused.failure.into_response();
        }
    };
    if let Some(slot) = &slot {
        slot.note().principal = Some(principal.clone());
    }
    // What the handler will act on, parsed once, described from the store, and
    // decided on as such (AZ-12).
    let item = match target::raw_item(&path, request.uri().path()) {
        Some(raw) => match target::parse(action.item_type().unwrap_or_default(), raw) {
            Ok(item) => Some(item),
            Err(failure) => return failure.into_response(),
        },
        None => None,
    };
    let described = match item {
        Some(item) => match target::describe(&state, item).await {
            Ok(t) => Some(t),
            Err(failure) => return failure.into_response(),
        },
        None => None,
    };
    let (mut request, requested_role) =
        match target::requested_role(action, request, state.max_body_bytes).await {
            Ok(read) => read,
            Err(failure) => return failure.into_response(),
        };
    let source_ip = request
        .extensions()
        .get::<std::sync::Arc<RequestFacts>>()
        .map(|f| f.source_ip.clone())
        .unwrap_or_default();
    let now_s = state.clock.now().timestamp();
    let (mut decision, version) = state.policies.decide(
        &principal,
        action,
        described.as_ref(),
        &source_ip,
        now_s,
        requested_role,
    );
    // An access token does no more than its scopes cover, whatever the
    // policies allow (ID-10).
    let has_scope = principal.has_scope_for(action);
    if !has_scope {
        decision.is_allowed = false;
    }
    if let Some(slot) = &slot {
        let mut record = json!({
            "decision": if decision.is_allowed { "allow" } else { "deny" },
            "policies": decision.policies,
            "errors": decision.errors,
            "policy_version": version,
        });
        if decision.is_denied_by_error {
            record["denied_by"] = json!("evaluation_error");
        }
        if principal.client_grant().is_some() {
            record["scope"] = json!({"required": action.scope(), "granted": has_scope});
            if !has_scope {
                record["denied_by"] = json!("scope");
            }
        }
        slot.note().authorization = Some(record);
    }
    if !decision.is_allowed {
        tracing::info!(
            caller = %principal.id(),
            role = %principal.role,
            action = action.as_str(),
            policies = ?decision.policies,
            is_denied_by_error = decision.is_denied_by_error,
            "denied"
        );
        return ApiFailure::forbidden().into_response();
    }
    if let Some(item) = item {
        request.extensions_mut().insert(item);
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}
