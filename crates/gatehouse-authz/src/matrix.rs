//! The permissions matrix (AZ-9): every role against every action, answered by
//! the live policies for a token of that role from the loopback address (a
//! mint asks for a token of the caller's own role).

use std::net::{IpAddr, Ipv4Addr};

use cedar_policy::PrincipalConstraint;
use gatehouse_types::{DecisionRequest, EntityData, EntityRef, MatrixCell};
use serde_json::{Map, Value};

use crate::request::{call_context_json, check_request};
use crate::{Action, Catalog, Engine, BUILTIN_ROLES};

/// The built-in roles, then any other role a policy names (`principal in
/// Role::"…"`), in name order.
pub fn roles(engine: &Engine) -> Vec<String> {
    let mut extra: Vec<String> = engine
        .policy_set()
        .policies()
        .filter_map(|p| match p.principal_constraint() {
            PrincipalConstraint::In(e) | PrincipalConstraint::Eq(e)
                if e.type_name().to_string() == "Role" =>
            {
                Some(e.id().unescaped().to_owned())
            }
            _ => None,
        })
        .filter(|r| !BUILTIN_ROLES.contains(&r.as_str()))
        .collect();
    extra.sort();
    extra.dedup();
    BUILTIN_ROLES
        .iter()
        .map(|r| (*r).to_owned())
        .chain(extra)
        .collect()
}

fn principal_for(role: &str, action: Action) -> EntityData {
    let parents = vec![EntityRef {
        kind: "Role".into(),
        id: role.into(),
    }];
    let mut attributes = Map::new();
    // Profile actions apply to people; the rest to the tokens that call the API.
    if action.resource().0 == "User" {
        attributes.insert("name".into(), Value::from(format!("a {role}")));
        attributes.insert(
            "email".into(),
            Value::from(format!("{role}@example.invalid")),
        );
        attributes.insert("user_type".into(), Value::from("employee"));
        attributes.insert("type".into(), Value::from("employee"));
        attributes.insert("attributes".into(), Value::Object(Map::new()));
        attributes.insert("status".into(), Value::from("active"));
        attributes.insert("entitlements".into(), Value::Array(Vec::new()));
        attributes.insert("is_locked".into(), Value::Bool(false));
        attributes.insert("has_mfa".into(), Value::Bool(true));
        EntityData {
            kind: "User".into(),
            id: format!("matrix-{role}"),
            attributes,
            parents,
        }
    } else {
        attributes.insert("name".into(), Value::from(format!("a {role} token")));
        attributes.insert("role".into(), Value::from(role));
        EntityData {
            kind: "ApiToken".into(),
            id: format!("matrix-{role}"),
            attributes,
            parents,
        }
    }
}

/// One cell: may a caller in `role` do `action`? Profile actions are asked for
/// the caller's own profile.
pub fn cell(catalog: &Catalog, engine: &Engine, role: &str, action: Action) -> MatrixCell {
    let principal = principal_for(role, action);
    let (kind, id) = action.resource();
    let resource = match kind {
        "User" => principal.clone(),
        "ApiToken" => {
            let mut attributes = Map::new();
            attributes.insert("name".into(), Value::from("another token"));
            attributes.insert("role".into(), Value::from("user"));
            EntityData {
                kind: kind.into(),
                id: "matrix".into(),
                attributes,
                parents: Vec::new(),
            }
        }
        "Session" => {
            let mut attributes = Map::new();
            attributes.insert("user_id".into(), Value::from("another user"));
            attributes.insert("is_open".into(), Value::from(true));
            EntityData {
                kind: kind.into(),
                id: "matrix".into(),
                attributes,
                parents: Vec::new(),
            }
        }
        "Client" => {
            let mut attributes = Map::new();
            attributes.insert("name".into(), Value::from("another client"));
            attributes.insert("is_confidential".into(), Value::from(true));
            attributes.insert("role".into(), Value::from("user"));
            attributes.insert("scopes".into(), Value::Array(Vec::new()));
            EntityData {
                kind: kind.into(),
                id: "matrix".into(),
                attributes,
                parents: Vec::new(),
            }
        }
        _ => EntityData {
            kind: kind.into(),
            id: id.into(),
            attributes: Map::new(),
            parents: Vec::new(),
        },
    };
    let request = DecisionRequest {
        principal,
        action: action.as_str().into(),
        resource,
        context: call_context_json(
            action,
            &IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
            0,
            role,
        ),
        entities: Vec::new(),
    };
    match check_request(catalog, &request) {
        Ok(p) => {
            let d = engine.decide(&p);
            MatrixCell {
                is_allowed: d.is_allowed,
                policies: d.policies,
            }
        }
        Err(_) => MatrixCell {
            is_allowed: false,
            policies: Vec::new(),
        },
    }
}
