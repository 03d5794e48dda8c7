#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};

use gatehouse_types::{DecisionRequest, EntityData, EntityRef};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::*;

pub(crate) fn catalog() -> Catalog {
    Catalog::load().unwrap()
}

pub(crate) fn engine(catalog: &Catalog, text: &str) -> Engine {
    Engine::new(catalog, parse_policies(catalog, text).unwrap()).unwrap()
}

pub(crate) fn caller(role: &str) -> TokenCaller {
    TokenCaller {
        id: "0190a5f4-0000-7000-8000-000000000001".into(),
        name: "t".into(),
        role: role.into(),
        client: None,
        user: None,
    }
}

pub(crate) fn ctx() -> CallContext {
    CallContext::new(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), 1_790_000_000)
}

#[test]
fn the_schema_declares_exactly_the_actions_of_the_code() {
    let c = catalog();
    let mut from_code: Vec<String> = Action::ALL.iter().map(|a| a.as_str().to_owned()).collect();
    for extra in ["read", "write", "call", "route.read", "route.write"] {
        from_code.push(extra.into());
    }
    from_code.sort();
    assert_eq!(c.action_names(), from_code.as_slice());
    for a in Action::ALL {
        assert_eq!(Action::from_name(a.as_str()), Some(*a));
    }
    let s = schema_response(&c);
    let search = s.actions.iter().find(|a| a.name == "audit.search").unwrap();
    assert!(search.is_read_only);
    assert!(search.principal_types.contains(&"ApiToken".to_owned()));
    assert!(s.entity_types.contains(&"PolicyVersion".to_owned()));
}

#[test]
fn every_action_needs_the_scope_of_its_area_and_kind() {
    // proves: ID-10
    for a in Action::ALL {
        let (area, kind) = a.scope().split_once(':').unwrap();
        assert_eq!(kind == "read", a.is_read_only(), "{a}");
        // The area is the action's own prefix, but the API description
        // (`api.describe`) reads like the server's other facts.
        let prefix = if *a == Action::DescribeApi {
            "server"
        } else {
            a.as_str().split('.').next().unwrap()
        };
        assert_eq!(prefix, area, "{a}: {}", a.scope());
    }
}

#[test]
fn a_clients_token_is_the_client_in_its_role_with_its_scopes() {
    // proves: ID-10, AZ-4
    let c = catalog();
    let text = format!(
        "{BUILTIN_POLICIES}\n@id(\"only_audit_scopes\")\nforbid (principal is Client, action, resource) unless {{ principal.scopes.contains(\"audit:read\") }};"
    );
    let e = engine(&c, &text);
    let client = |scopes: &[&str]| TokenCaller {
        id: "reporting".into(),
        name: "Reporting".into(),
        role: "auditor".into(),
        client: Some(crate::ClientFacts {
            is_confidential: true,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }),
        user: None,
    };
    let allowed = e.decide_call(
        &c,
        &client(&["audit:read"]),
        Action::SearchAudit,
        None,
        &ctx(),
    );
    assert!(allowed.is_allowed, "{allowed:?}");
    let denied = e.decide_call(
        &c,
        &client(&["keys:read"]),
        Action::SearchAudit,
        None,
        &ctx(),
    );
    assert!(!denied.is_allowed && denied.errors.is_empty(), "{denied:?}");
    // The role's built-in policy still applies: an auditor client writes nothing.
    let write = e.decide_call(
        &c,
        &client(&["audit:read"]),
        Action::IngestAuditEvents,
        None,
        &ctx(),
    );
    assert!(!write.is_allowed);
}

#[test]
fn builtin_roles_are_policies_with_ids() {
    let c = catalog();
    let parsed = parse_policies(&c, BUILTIN_POLICIES).unwrap();
    let ids: Vec<_> = parsed.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "builtin.administrator",
            "builtin.auditor",
            "builtin.user",
            "builtin.self_service",
            "builtin.service",
            "builtin.mint_within_role",
            "builtin.gateway_open_routes"
        ]
    );
    assert!(parsed.policies.iter().all(|p| p.description.is_some()));
    assert_eq!(parsed.policies[0].line, 4);
}

#[test]
fn builtin_role_table() {
    let c = catalog();
    let e = engine(&c, BUILTIN_POLICIES);
    for action in Action::ALL {
        for role in BUILTIN_ROLES {
            let d = e.decide_call(&c, &caller(role), *action, None, &ctx());
            let expected = match role {
                "administrator" => true,
                "auditor" => action.is_read_only(),
                "service" => matches!(action, Action::IngestAuditEvents | Action::Authorize),
                _ => false,
            };
            assert_eq!(d.is_allowed, expected, "{role} {action}: {d:?}");
            if d.is_allowed {
                assert_eq!(d.policies, [format!("builtin.{role}")]);
            } else if action.asks_for_role() {
                // Asked without a role, a mint asks for another than the caller's.
                assert_eq!(d.policies, ["builtin.mint_within_role"]);
            } else {
                assert!(d.policies.is_empty(), "default deny names no policy");
            }
        }
    }
    // An unknown role is nobody.
    for action in Action::ALL {
        assert!(
            !e.decide_call(&c, &caller("root"), *action, None, &ctx())
                .is_allowed
        );
    }
}

#[test]
fn auditors_cannot_mint_tokens_or_change_policies() {
    let c = catalog();
    let e = engine(&c, BUILTIN_POLICIES);
    for a in [
        Action::CreateApiToken,
        Action::RevokeApiToken,
        Action::CreatePolicyVersion,
        Action::RollbackPolicies,
        Action::IngestAuditEvents,
        Action::Authorize,
    ] {
        assert!(
            !e.decide_call(&c, &caller("auditor"), a, None, &ctx())
                .is_allowed,
            "{a}"
        );
    }
}

#[test]
fn a_forbid_names_itself_and_wins() {
    let c = catalog();
    let text = format!(
        "{BUILTIN_POLICIES}\n@id(\"no-exports-from-outside\")\nforbid (principal, action == Action::\"audit.export\", resource)\nunless {{ context.source_ip.isInRange(ip(\"10.0.0.0/8\")) }};\n"
    );
    let e = engine(&c, &text);
    let inside = e.decide_call(&c, &caller("auditor"), Action::ExportAudit, None, &ctx());
    assert!(inside.is_allowed);
    let outside = &CallContext::new("192.0.2.7".parse().unwrap(), 0);
    let d = e.decide_call(
        &c,
        &caller("administrator"),
        Action::ExportAudit,
        None,
        outside,
    );
    assert!(!d.is_allowed);
    assert_eq!(d.policies, ["no-exports-from-outside"]);
    // Other actions are untouched.
    assert!(
        e.decide_call(
            &c,
            &caller("administrator"),
            Action::SearchAudit,
            None,
            outside
        )
        .is_allowed
    );
}

#[test]
fn attribute_conditions_on_the_token() {
    let c = catalog();
    let text = "@id(\"ci\")\npermit (principal is ApiToken, action == Action::\"server.read\", resource)\nwhen { principal.name like \"ci-*\" };";
    let e = engine(&c, text);
    let mut ci = caller("user");
    ci.name = "ci-runner".into();
    assert!(
        e.decide_call(&c, &ci, Action::ReadServer, None, &ctx())
            .is_allowed
    );
    assert!(
        !e.decide_call(&c, &caller("user"), Action::ReadServer, None, &ctx())
            .is_allowed
    );
}

fn problems(text: &str) -> Vec<gatehouse_types::PolicyProblem> {
    parse_policies(&catalog(), text).unwrap_err()
}

#[test]
fn a_syntax_error_has_its_line_and_column() {
    let p = problems("@id(\"a\")\npermit (principal, action, resource);\n@id(\"b\")\npermit (principal, action, resource) when { principal.name == };\n");
    assert_eq!(p[0].line, 4, "{p:?}");
    assert!(p[0].column > 40, "{p:?}");
}

#[test]
fn type_errors_against_the_schema_are_located() {
    let p = problems("@id(\"ok\")\npermit (principal, action, resource);\n\n@id(\"typo\")\npermit (principal is ApiToken, action == Action::\"server.read\", resource)\nwhen { principal.nmae == \"x\" };\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].policy_id.as_deref(), Some("typo"));
    assert_eq!(p[0].line, 6, "{p:?}");
    assert!(p[0].message.contains("nmae"), "{p:?}");

    let p = problems("@id(\"t\")\npermit (principal is ApiToken, action == Action::\"server.read\", resource)\nwhen { principal.name > 3 };");
    assert_eq!(p[0].line, 3, "{p:?}");
}

#[test]
fn unknown_types_and_actions_are_refused() {
    let p = problems("@id(\"x\")\npermit (principal == Wizard::\"merlin\", action, resource);");
    assert!(p[0].message.contains("Wizard"), "{p:?}");
    let p =
        problems("@id(\"x\")\npermit (principal, action == Action::\"audit.delete\", resource);");
    assert!(p[0].message.contains("audit.delete"), "{p:?}");
    assert_eq!(p[0].line, 2);
}

#[test]
fn ids_are_required_unique_and_plain() {
    let p = problems("permit (principal, action, resource);");
    assert!(p[0].message.contains("@id"));
    let p = problems("@id(\"a\") permit (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);");
    assert_eq!(p[0].line, 2);
    assert!(p[0].message.contains("unique"));
    let p = problems("@id(\"has space\") permit (principal, action, resource);");
    assert!(p[0].message.contains("@id"));
    let p = problems("@id(\"t\") permit (principal == ?principal, action, resource);");
    assert!(p[0].message.contains("template"), "{p:?}");
}

#[test]
fn huge_texts_are_refused_before_parsing() {
    let text = format!(
        "@id(\"a\") permit (principal, action, resource) when {{ \"{}\" == \"\" }};",
        "x".repeat(MAX_POLICY_TEXT)
    );
    let p = problems(&text);
    assert!(p[0].message.contains("larger"));
}

#[test]
fn an_empty_set_is_valid_and_denies_everything() {
    let c = catalog();
    let e = engine(&c, "");
    assert!(
        !e.decide_call(
            &c,
            &caller("administrator"),
            Action::ReadServer,
            None,
            &ctx()
        )
        .is_allowed
    );
}

fn token(role: &str) -> EntityData {
    let mut attributes = Map::new();
    attributes.insert("name".into(), json!("svc"));
    attributes.insert("role".into(), json!(role));
    EntityData {
        kind: "ApiToken".into(),
        id: "t1".into(),
        attributes,
        parents: vec![EntityRef {
            kind: "Role".into(),
            id: role.into(),
        }],
    }
}

fn collection(kind: &str, id: &str) -> EntityData {
    EntityData {
        kind: kind.into(),
        id: id.into(),
        attributes: Map::new(),
        parents: vec![],
    }
}

fn request(principal: EntityData, action: &str, resource: EntityData) -> DecisionRequest {
    DecisionRequest {
        principal,
        action: action.into(),
        resource,
        context: call_context_json(
            Action::from_name(action).unwrap_or(Action::ReadServer),
            "10.0.0.1",
            1_790_000_000,
            "service",
        ),
        entities: vec![],
    }
}

#[test]
fn decision_requests_are_checked_against_the_schema() {
    let c = catalog();
    let e = engine(&c, BUILTIN_POLICIES);
    let ok = request(
        token("auditor"),
        "audit.search",
        collection("AuditTrail", "audit"),
    );
    assert!(e.decide(&check_request(&c, &ok).unwrap()).is_allowed);

    let err = |r: DecisionRequest| match check_request(&c, &r) {
        Ok(_) => panic!("accepted {r:?}"),
        Err(e) => e.to_string(),
    };
    let mut r = ok.clone();
    r.action = "audit.delete".into();
    assert!(err(r).contains("audit.delete"));
    let mut r = ok.clone();
    r.action = "read".into();
    assert!(err(r).contains("not an action"));
    let mut r = ok.clone();
    r.principal.attributes.remove("role");
    assert!(err(r).contains("role"));
    let mut r = ok.clone();
    r.principal.attributes.insert("role".into(), json!(7));
    assert!(err(r).contains("role"));
    let mut r = ok.clone();
    r.principal.attributes.insert("colour".into(), json!("red"));
    assert!(err(r).contains("colour"));
    let mut r = ok.clone();
    r.principal.kind = "Wizard".into();
    assert!(err(r).contains("Wizard"));
    let mut r = ok.clone();
    r.resource = collection("Server", "gatehouse");
    assert!(err(r).starts_with("request"));
    let mut r = ok.clone();
    r.context.remove("time");
    assert!(err(r).contains("time"));
    let mut r = ok.clone();
    r.context
        .insert("source_ip".into(), json!("not an address"));
    assert!(err(r).starts_with("context"));
    let mut r = ok;
    r.principal.kind = "Action".into();
    assert!(!err(r).is_empty());
}

#[test]
fn users_read_only_their_own_profile() {
    let c = catalog();
    let e = engine(&c, BUILTIN_POLICIES);
    let user = |id: &str| {
        let mut attributes = Map::new();
        for (k, v) in [
            ("name", json!("Ann")),
            ("email", json!("ann@example.com")),
            ("user_type", json!("employee")),
            ("type", json!("employee")),
            ("attributes", json!({})),
            ("status", json!("active")),
            ("entitlements", json!([])),
            ("is_locked", json!(false)),
            ("has_mfa", json!(true)),
        ] {
            attributes.insert(k.into(), v);
        }
        EntityData {
            kind: "User".into(),
            id: id.into(),
            attributes,
            parents: vec![EntityRef {
                kind: "Role".into(),
                id: "user".into(),
            }],
        }
    };
    let own = request(user("ann"), "users.read", user("ann"));
    let d = e.decide(&check_request(&c, &own).unwrap());
    assert!(d.is_allowed, "{d:?}");
    let mut other = request(user("ann"), "users.read", user("bob"));
    other.resource.parents.clear();
    assert!(!e.decide(&check_request(&c, &other).unwrap()).is_allowed);
    let update_other = request(user("ann"), "users.update", user("bob"));
    assert!(
        !e.decide(&check_request(&c, &update_other).unwrap())
            .is_allowed
    );
    // Nor their own: `users.update` sets type, entitlements and status, and a
    // person who could would make themselves anything (ID-3).
    let update_own = request(user("ann"), "users.update", user("ann"));
    assert!(
        !e.decide(&check_request(&c, &update_own).unwrap())
            .is_allowed
    );
}

#[test]
fn the_matrix_follows_the_policies() {
    let c = catalog();
    let e = engine(&c, BUILTIN_POLICIES);
    assert_eq!(matrix::roles(&e), BUILTIN_ROLES);
    assert!(matrix::cell(&c, &e, "auditor", Action::SearchAudit).is_allowed);
    assert!(!matrix::cell(&c, &e, "auditor", Action::CreateApiToken).is_allowed);
    assert!(matrix::cell(&c, &e, "user", Action::ReadUser).is_allowed);
    assert!(!matrix::cell(&c, &e, "user", Action::ReadServer).is_allowed);
    let text = format!("{BUILTIN_POLICIES}\n@id(\"ops\") permit (principal in Role::\"operator\", action == Action::\"server.read\", resource);");
    let e = engine(&c, &text);
    assert_eq!(
        matrix::roles(&e).last().map(String::as_str),
        Some("operator")
    );
    let cell = matrix::cell(&c, &e, "operator", Action::ReadServer);
    assert!(cell.is_allowed);
    assert_eq!(cell.policies, ["ops"]);
}

#[test]
fn diffs_by_policy_and_by_line() {
    let c = catalog();
    let a = parse_policies(&c, BUILTIN_POLICIES).unwrap().policies;
    let changed = BUILTIN_POLICIES
        .replace(
            "action in Action::\"read\"",
            "action == Action::\"audit.search\"",
        )
        .replace("@id(\"builtin.service\")", "@id(\"svc\")");
    let b = parse_policies(&c, &changed).unwrap().policies;
    let (added, removed, changed_ids) = diff::policy_changes(&a, &b);
    assert_eq!(added, ["svc"]);
    assert_eq!(removed, ["builtin.service"]);
    assert_eq!(changed_ids, ["builtin.auditor"]);
    let lines = diff::line_diff(BUILTIN_POLICIES, &changed);
    let deleted: Vec<_> = lines.iter().filter(|l| l.op == "delete").collect();
    let inserted: Vec<_> = lines.iter().filter(|l| l.op == "insert").collect();
    assert_eq!(deleted.len(), 2);
    assert_eq!(inserted.len(), 2);
    assert!(deleted[0].old_line.is_some() && deleted[0].new_line.is_none());
}

#[test]
fn line_column_counts_from_one() {
    assert_eq!(line_column("ab\ncd", 0), (1, 1));
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("ab", 99), (1, 3));
    // Columns count characters, not bytes: "é" is two bytes, one column.
    assert_eq!(line_column("x\n// é=y", 9), (2, 7));
}

/// The engine evaluates only the policies whose action scope can match; it
/// must answer exactly as Cedar does over the whole set.
#[test]
fn slicing_answers_as_the_whole_set_does() {
    let c = catalog();
    let text = format!(
        "{BUILTIN_POLICIES}\n@id(\"f1\") forbid (principal in Role::\"auditor\", action in [Action::\"audit.export\", Action::\"write\"], resource);\n@id(\"p1\") permit (principal in Role::\"user\", action in Action::\"read\", resource) when {{ context.time > 5 }};\n@id(\"p2\") permit (principal, action == Action::\"blocked.list\", resource);\n@id(\"f2\") forbid (principal == ApiToken::\"t1\", action == Action::\"server.read\", resource) when {{ principal.role != \"administrator\" }};\n@id(\"p3\") permit (principal is ApiToken, action == Action::\"blocked.summary\", resource) when {{ principal.name == \"svc\" }};\n@id(\"p4\") permit (principal is ApiToken in Role::\"service\", action in Action::\"read\", resource);"
    );
    let e = engine(&c, &text);
    let whole = e.policy_set().clone();
    for role in ["administrator", "auditor", "user", "service", "other"] {
        for action in Action::ALL {
            // Items with required attributes this comparison does not build.
            if matches!(action.resource().0, "User" | "Client" | "Session") {
                continue;
            }
            let (kind, id) = action.resource();
            let r = request(
                token(role),
                action.as_str(),
                collection(kind, if id.is_empty() { "x" } else { id }),
            );
            let r = if kind == "ApiToken" {
                let mut other = token("user");
                other.id = "t2".into();
                DecisionRequest {
                    resource: other,
                    ..r
                }
            } else {
                r
            };
            let prepared = check_request(&c, &r).unwrap();
            let ours = e.decide(&prepared);
            let raw = prepared.run_whole(&whole);
            assert_eq!(ours.is_allowed, raw.0, "{role} {action}");
            assert_eq!(ours.policies, raw.1, "{role} {action}");
        }
    }
}

proptest! {
    // 256 cases each in `make test`; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Arbitrary text never panics the parser or the validator.
    #[test]
    fn validate_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = parse_policies(&catalog(), &text);
    }

    /// Nor does any mutation of a valid set: a slice of it, or a character
    /// inserted anywhere.
    #[test]
    fn validate_never_panics_on_mutated_policies(cut in 0usize..BUILTIN_POLICIES.len(), at in 0usize..BUILTIN_POLICIES.len(), c in any::<char>()) {
        let c_ = catalog();
        let cut = (0..=cut).rev().find(|i| BUILTIN_POLICIES.is_char_boundary(*i)).unwrap_or(0);
        let _ = parse_policies(&c_, &BUILTIN_POLICIES[..cut]);
        let at = (0..=at).rev().find(|i| BUILTIN_POLICIES.is_char_boundary(*i)).unwrap_or(0);
        let mut s = BUILTIN_POLICIES.to_owned();
        s.insert(at, c);
        if let Ok(parsed) = parse_policies(&c_, &s) {
            // Whatever parsed must also build an engine that answers.
            let e = Engine::new(&c_, parsed).unwrap();
            let _ = e.decide_call(&c_, &caller("auditor"), Action::SearchAudit, None, &ctx());
        }
    }

    /// Decision requests with arbitrary attribute values never panic.
    #[test]
    fn decision_requests_never_panic(name in any::<String>(), role in prop_oneof![Just(json!("auditor")), Just(json!(1)), Just(json!(null)), Just(json!([1,2])), Just(json!({"a": 1}))], ip in any::<String>()) {
        let c_ = catalog();
        let e = engine(&c_, BUILTIN_POLICIES);
        let mut p = token("auditor");
        p.attributes.insert("name".into(), Value::String(name));
        p.attributes.insert("role".into(), role);
        let mut r = request(p, "audit.search", collection("AuditTrail", "audit"));
        r.context.insert("source_ip".into(), Value::String(ip));
        if let Ok(prepared) = check_request(&c_, &r) {
            let _ = e.decide(&prepared);
        }
    }
}

#[test]
fn policies_read_the_attributes_user_types_declare() {
    // proves: ID-3, AZ-2 (a policy can say principal.type == "clinician" &&
    // principal.attributes.department == resource.department, checked against
    // the attributes the types really declare)
    let declared = [
        ("department".to_owned(), AttrKind::String),
        ("grade".to_owned(), AttrKind::Long),
        ("wards".to_owned(), AttrKind::StringSet),
    ];
    let c = Catalog::load_with(&declared).unwrap();
    assert!(c.schema_text().contains("\"department\"?: String"));
    let text = r#"@id("same_department")
permit (principal is User, action == Action::"users.read", resource is User)
when {
  principal.type == "clinician" &&
  principal.attributes has department && resource.attributes has department &&
  principal.attributes.department == resource.attributes.department
};"#;
    let declared = parse_policies(&c, text).unwrap();
    assert!(declared.warnings.is_empty(), "{:?}", declared.warnings);
    // Against the bare schema (no type declares `department`) the same text
    // can never match, and says so when it is saved: a typo in an attribute
    // name is caught.
    let bare = catalog();
    let impossible = parse_policies(&bare, text).unwrap();
    assert!(!impossible.warnings.is_empty());
    // Read without `has`, an attribute no type declares is an error.
    let unguarded = r#"@id("u") permit (principal is User, action, resource) when { principal.attributes.department == "x" };"#;
    assert!(parse_policies(&bare, unguarded).is_err());
    let e = engine(&c, text);
    let person = |id: &str, kind: &str, department: &str| {
        let mut attributes = Map::new();
        for (k, v) in [
            ("name", json!(id)),
            ("user_type", json!(kind)),
            ("type", json!(kind)),
            ("attributes", json!({"department": department, "grade": 3})),
            ("status", json!("active")),
            ("entitlements", json!([])),
            ("is_locked", json!(false)),
            ("has_mfa", json!(false)),
        ] {
            attributes.insert(k.into(), v);
        }
        EntityData {
            kind: "User".into(),
            id: id.into(),
            attributes,
            parents: Vec::new(),
        }
    };
    let ask = |p: EntityData, r: EntityData| {
        let req = request(p, "users.read", r);
        e.decide(&check_request(&c, &req).unwrap()).is_allowed
    };
    assert!(ask(
        person("ann", "clinician", "cardio"),
        person("bob", "patient", "cardio")
    ));
    assert!(!ask(
        person("ann", "clinician", "cardio"),
        person("bob", "patient", "neuro")
    ));
    assert!(!ask(
        person("ann", "patient", "cardio"),
        person("bob", "patient", "cardio")
    ));
    // An attribute of the wrong kind is refused at the door.
    let mut wrong = person("bob", "patient", "cardio");
    wrong
        .attributes
        .insert("attributes".into(), json!({"grade": "three"}));
    assert!(check_request(
        &c,
        &request(person("ann", "clinician", "c"), "users.read", wrong)
    )
    .is_err());
}
