//! Gatehouse's access control (PRODUCT.md AZ-1 to AZ-5, AZ-8, AZ-9): the Cedar
//! schema of its entities and actions, the built-in role policies, the mapping
//! from callers and routes to Cedar entities, and the [`Engine`] that answers
//! allow or deny with the policies that decided.
//!
//! No I/O: policies come in as text and decisions go out as values. It must never
//! answer allow for anything it could not evaluate: a request it cannot build is
//! a deny, and on Gatehouse's own routes a policy that errors denies the call
//! (AZ-12; a decision asked through the API keeps Cedar's rule, skipping it).

mod action;
pub mod diff;
mod engine;
mod ip;
pub mod matrix;
mod policies;
mod request;
mod route;

pub use action::Action;
pub use engine::{
    AttrKind, AttrValue, CallContext, Catalog, ClientFacts, Decision, Engine, Target, TokenCaller,
    UserFacts, BUILTIN_POLICIES, BUILTIN_ROLES,
};
pub use policies::{
    first_problem, line_column, parse_policies, ParsedPolicies, MAX_POLICIES, MAX_POLICY_TEXT,
};
pub use request::{call_context_json, check_request, CheckedRequest, MAX_ENTITIES};
pub use route::{PostureFacts, RouteCall, RouteDecision, RouteFacts};

/// The action groups: Gatehouse's own reads and writes, and calls through the gateway.
pub const ACTION_GROUPS: [&str; 3] = ["read", "write", "call"];

use gatehouse_types::{PolicySchemaResponse, SchemaAction};

#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The built-in schema does not load: a bug, caught by the tests.
    #[error("the Cedar schema is not valid: {0}")]
    Schema(String),
    /// A decision request that cannot be asked (unknown action, a missing or
    /// mistyped attribute, an entity type the schema does not know).
    #[error("{0}")]
    Request(String),
}

/// The schema for `GET /v1/policies/schema`.
pub fn schema_response(catalog: &Catalog) -> PolicySchemaResponse {
    let schema = catalog.schema();
    let mut entity_types: Vec<String> = schema.entity_types().map(ToString::to_string).collect();
    entity_types.sort();
    let actions = catalog
        .action_names()
        .iter()
        .filter(|name| !ACTION_GROUPS.contains(&name.as_str()))
        .map(|name| {
            let uid = catalog.uid("Action", name).ok();
            let sorted = |mut v: Vec<String>| {
                v.sort();
                v.dedup();
                v
            };
            let principal_types = sorted(
                uid.as_ref()
                    .and_then(|u| schema.principals_for_action(u))
                    .map(|i| i.map(ToString::to_string).collect())
                    .unwrap_or_default(),
            );
            let resource_types = sorted(
                uid.as_ref()
                    .and_then(|u| schema.resources_for_action(u))
                    .map(|i| i.map(ToString::to_string).collect())
                    .unwrap_or_default(),
            );
            SchemaAction {
                name: name.clone(),
                is_read_only: Action::from_name(name).is_some_and(Action::is_read_only),
                principal_types,
                resource_types,
            }
        })
        .collect();
    PolicySchemaResponse {
        schema: catalog.schema_text().to_owned(),
        entity_types,
        actions,
    }
}

#[cfg(test)]
mod target_tests;
#[cfg(test)]
mod tests;
