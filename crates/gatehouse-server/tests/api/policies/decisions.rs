//! Simulation (`POST /v1/policies/simulate`) and the decision API for services
//! (`POST /v1/authorize`, AZ-4): requests checked against the schema, answered
//! with the determining policies, one error per bad request.

use gatehouse_authz::{Action, BUILTIN_POLICIES};
use gatehouse_testkit::{on_both_databases, Db, TestServer};
use gatehouse_types::{DecisionRequest, EntityData, EntityRef, ErrorCode, SimulateRequest};
use serde_json::{json, Map, Value};

use crate::assert_error;
use crate::audit::mint;

fn token(role: &str, id: &str) -> EntityData {
    let mut attributes = Map::new();
    attributes.insert("name".into(), json!("billing"));
    attributes.insert("role".into(), json!(role));
    EntityData {
        kind: "ApiToken".into(),
        id: id.into(),
        attributes,
        parents: vec![EntityRef {
            kind: "Role".into(),
            id: role.into(),
        }],
    }
}

fn trail() -> EntityData {
    EntityData {
        kind: "AuditTrail".into(),
        id: "audit".into(),
        attributes: Map::new(),
        parents: vec![],
    }
}

/// A token in `role` asking for `action` on the action's own collection.
fn ask(role: &str, action: &str) -> DecisionRequest {
    let resource = match Action::from_name(action).map(Action::resource) {
        Some((kind, id)) if !id.is_empty() => EntityData {
            kind: kind.into(),
            id: id.into(),
            attributes: Map::new(),
            parents: vec![],
        },
        _ => trail(),
    };
    DecisionRequest {
        principal: token(role, "t1"),
        action: action.into(),
        resource,
        context: gatehouse_authz::call_context_json(
            gatehouse_authz::Action::from_name(action)
                .unwrap_or(gatehouse_authz::Action::ReadServer),
            "10.0.0.1",
            1_790_000_000,
            role,
        ),
        entities: vec![],
    }
}

async fn simulation_against_the_active_set_and_a_draft(db: Db) {
    let server = TestServer::start(db).await;
    let admin = server.client();
    let active = admin
        .simulate_policies(&SimulateRequest {
            request: ask("auditor", "audit.search"),
            draft: None,
        })
        .await
        .unwrap();
    assert_eq!(active.version, Some(1));
    assert!(active.result.is_allowed);
    assert_eq!(active.result.policies, ["builtin.auditor"]);
    let draft = format!("{BUILTIN_POLICIES}\n@id(\"office-only\") forbid (principal, action, resource) unless {{ context.source_ip.isInRange(ip(\"192.168.0.0/16\")) }};");
    let simulated = admin
        .simulate_policies(&SimulateRequest {
            request: ask("auditor", "audit.search"),
            draft: Some(draft),
        })
        .await
        .unwrap();
    assert_eq!(simulated.version, None);
    assert_eq!(simulated.result.decision, "deny");
    assert_eq!(simulated.result.policies, ["office-only"]);
    // The draft changed nothing.
    assert_eq!(admin.active_policies().await.unwrap().version, 1);

    let mut missing = ask("auditor", "audit.search");
    missing.principal.attributes.remove("role");
    let e = admin
        .simulate_policies(&SimulateRequest {
            request: missing,
            draft: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::ValidationFailed));
    assert!(e.to_string().contains("role"), "{e}");
    let e = admin
        .simulate_policies(&SimulateRequest {
            request: ask("auditor", "audit.search"),
            draft: Some("permit (principal, action, resource);".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidPolicy));
}

async fn services_ask_for_decisions_in_batches(db: Db) {
    let server = TestServer::start(db).await;
    let (service, _) = mint(&server, gatehouse_types::Role::Service, "billing").await;
    let svc = server.client().with_token(&service);
    let answers = svc
        .authorize(&[
            ask("auditor", "audit.search"),
            ask("auditor", "api_tokens.create"),
            ask("service", "audit.ingest"),
        ])
        .await
        .unwrap();
    assert_eq!(answers.version, 1);
    let decisions: Vec<_> = answers
        .results
        .iter()
        .map(|r| r.result.as_ref().unwrap().is_allowed)
        .collect();
    assert_eq!(decisions, [true, false, true]);
    assert_eq!(
        answers.results[0].result.as_ref().unwrap().policies,
        ["builtin.auditor"]
    );

    // Bad requests get their own errors; the good ones are still answered.
    let raw = server
        .raw()
        .post(server.url("/v1/authorize"))
        .bearer_auth(&service)
        .json(&json!({"requests": [
            serde_json::to_value(ask("auditor", "audit.search")).unwrap(),
            {"principal": 5},
            serde_json::to_value(DecisionRequest { action: "audit.delete".into(), ..ask("auditor", "audit.search") }).unwrap(),
            serde_json::to_value({ let mut r = ask("auditor", "audit.search"); r.context.insert("time".into(), json!("noon")); r }).unwrap(),
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let body: Value = raw.json().await.unwrap();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["result"]["decision"], "allow");
    assert_eq!(results[1]["error"]["code"], "invalid_body");
    assert!(results[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("principal"));
    assert_eq!(results[2]["error"]["code"], "validation_failed");
    assert!(results[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("audit.delete"));
    assert_eq!(results[3]["error"]["code"], "validation_failed");
    assert!(results[3]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("time"));

    for requests in [json!([]), json!(vec![json!({}); 101])] {
        let response = server
            .raw()
            .post(server.url("/v1/authorize"))
            .bearer_auth(&service)
            .json(&json!({ "requests": requests }))
            .send()
            .await
            .unwrap();
        assert_error(response, 422, ErrorCode::ValidationFailed).await;
    }
    // Auditors read policies; they do not get to ask on others' behalf.
    let (auditor, _) = mint(&server, gatehouse_types::Role::Auditor, "auditor").await;
    let e = server
        .client()
        .with_token(&auditor)
        .authorize(&[ask("auditor", "audit.search")])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
}

on_both_databases!(
    simulation_against_the_active_set_and_a_draft,
    services_ask_for_decisions_in_batches
);
