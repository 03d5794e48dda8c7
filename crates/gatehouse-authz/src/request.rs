//! Decision requests from outside (simulation, the decision API): entities and
//! context in JSON, checked against the schema so that a missing or mistyped
//! attribute is a precise error, never a silent deny.

use cedar_policy::{Context, Entities, Entity, Request};
use gatehouse_types::{DecisionRequest, DecisionResponse, EntityData};
use serde_json::{json, Map, Value};

use crate::{Action, AuthzError, Catalog, Decision, Engine};

/// The most entities one request may bring.
pub const MAX_ENTITIES: usize = 100;

/// A request ready to run.
pub struct CheckedRequest {
    action: String,
    request: Request,
    entities: Entities,
}

fn entity_json(e: &EntityData) -> Value {
    let mut attrs = Map::new();
    for (k, v) in &e.attributes {
        attrs.insert(k.clone(), v.clone());
    }
    json!({
        "uid": { "type": e.kind, "id": e.id },
        "attrs": attrs,
        "parents": e.parents.iter().map(|p| json!({"type": p.kind, "id": p.id})).collect::<Vec<_>>(),
    })
}

/// Cedar's JSON wants extension values spelled out; an IP address written as a
/// plain string is the natural way to send one, so `source_ip` may be either.
fn context_json(context: &Map<String, Value>) -> Value {
    let mut out = context.clone();
    if let Some(Value::String(ip)) = context.get("source_ip") {
        out.insert(
            "source_ip".into(),
            json!({"__extn": {"fn": "ip", "arg": ip}}),
        );
    }
    Value::Object(out)
}

/// An error with its causes: Cedar's top-level messages are general ("entity does
/// not conform to the schema"); the cause names the attribute.
fn describe(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !message.contains(&more) {
            message.push_str(": ");
            message.push_str(&more);
        }
        source = s.source();
    }
    message
}

/// Checks the request against the schema: the action exists and applies to the
/// principal's and resource's types, every entity has exactly the attributes
/// its type declares with the right types, and the context is the action's.
pub fn check_request(catalog: &Catalog, r: &DecisionRequest) -> Result<CheckedRequest, AuthzError> {
    let bad = |what: &str, e: &dyn std::error::Error| {
        AuthzError::Request(format!("{what}: {}", describe(e)))
    };
    if r.entities.len() > MAX_ENTITIES {
        return Err(AuthzError::Request(format!(
            "entities: at most {MAX_ENTITIES} entities per request"
        )));
    }
    if catalog.action_entities(&r.action).is_none()
        || crate::ACTION_GROUPS.contains(&r.action.as_str())
    {
        return Err(AuthzError::Request(format!(
            "action: \"{}\" is not an action of the schema",
            r.action
        )));
    }
    let action = catalog.uid("Action", &r.action)?;
    let principal = catalog.uid(&r.principal.kind, &r.principal.id)?;
    let resource = catalog.uid(&r.resource.kind, &r.resource.id)?;
    let mut all = vec![entity_json(&r.principal)];
    if r.resource != r.principal {
        all.push(entity_json(&r.resource));
    }
    all.extend(r.entities.iter().map(entity_json));
    // Each entity is checked against the schema on its own; the store is then
    // built with only this action's entities (Cedar's whole-store parser would
    // add, and close over, every action of the schema: 20 times the cost).
    let mut parsed = Vec::with_capacity(all.len() + 2);
    for value in all {
        parsed.push(
            Entity::from_json_value(value, Some(catalog.schema()))
                .map_err(|e| bad("entities", &e))?,
        );
    }
    parsed.extend(
        catalog
            .action_entities(&r.action)
            .unwrap_or_default()
            .iter()
            .cloned(),
    );
    let entities = Entities::from_entities(parsed, None).map_err(|e| bad("entities", &e))?;
    let context =
        Context::from_json_value(context_json(&r.context), Some((catalog.schema(), &action)))
            .map_err(|e| bad("context", &e))?;
    let request = Request::new(principal, action, resource, context, Some(catalog.schema()))
        .map_err(|e| bad("request", &e))?;
    Ok(CheckedRequest {
        action: r.action.clone(),
        request,
        entities,
    })
}

impl CheckedRequest {
    /// The Cedar request and entities, for comparing with Cedar called directly.
    pub fn cedar(&self) -> (&Request, &Entities) {
        (&self.request, &self.entities)
    }
}

impl Engine {
    /// Answers a prepared request.
    pub fn decide(&self, prepared: &CheckedRequest) -> Decision {
        self.run(&prepared.action, &prepared.request, &prepared.entities)
    }
}

impl From<Decision> for DecisionResponse {
    fn from(d: Decision) -> Self {
        Self {
            decision: if d.is_allowed { "allow" } else { "deny" }.into(),
            is_allowed: d.is_allowed,
            policies: d.policies,
            errors: d.errors,
        }
    }
}

/// A context for one of Gatehouse's actions, as the decision API takes it; a mint
/// asks for `requested_role`.
pub fn call_context_json(
    action: Action,
    source_ip: &str,
    time: i64,
    requested_role: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("source_ip".into(), Value::String(source_ip.into()));
    m.insert("time".into(), Value::from(time));
    if action.asks_for_role() {
        m.insert(
            "requested_role".into(),
            Value::String(requested_role.into()),
        );
    }
    m
}

#[cfg(test)]
impl CheckedRequest {
    /// Cedar over a whole set, for comparing with the engine's slices.
    pub(crate) fn run_whole(&self, set: &cedar_policy::PolicySet) -> (bool, Vec<String>) {
        let r = cedar_policy::Authorizer::new().is_authorized(&self.request, set, &self.entities);
        let mut ids: Vec<String> = r.diagnostics().reason().map(ToString::to_string).collect();
        ids.sort();
        (r.decision() == cedar_policy::Decision::Allow, ids)
    }
}
