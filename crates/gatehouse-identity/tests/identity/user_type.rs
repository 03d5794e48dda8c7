//! User types, their attribute declarations, attribute values and
//! entitlements (ID-3).

use gatehouse_identity::user_type::{
    check_entitlements, AttributeDecl, AttributeKind, AttributeValue, SecondFactor, SignInMethod,
    UserType, UserTypeName,
};
use gatehouse_identity::IdentityError;
use serde_json::{json, Map, Value};

fn decl(name: &str, kind: AttributeKind, is_required: bool) -> AttributeDecl {
    AttributeDecl {
        name: name.into(),
        kind,
        is_required,
        max_length: None,
    }
}

pub fn staff() -> UserType {
    UserType {
        name: UserTypeName::parse("staff").unwrap(),
        description: "people employed by the organisation".into(),
        attributes: vec![
            decl("department", AttributeKind::String, true),
            AttributeDecl {
                max_length: Some(8),
                ..decl("badge", AttributeKind::String, false)
            },
            decl("clearance", AttributeKind::Long, false),
            decl("is_contractor", AttributeKind::Boolean, false),
            decl("projects", AttributeKind::StringSet, false),
        ],
        sign_in: vec![SignInMethod::Password, SignInMethod::EmailCode],
        second_factor: SecondFactor::Required,
        role: Some("auditor".into()),
    }
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("test input is an object"),
    }
}

fn field_of(err: IdentityError) -> String {
    match err {
        IdentityError::Invalid { field, .. } => field,
        other => panic!("expected an invalid-input error, got {other}"),
    }
}

#[test]
fn a_user_type_round_trips_through_json_in_cedar_facing_shape() {
    // proves: ID-3 (the stored and wire shape is stable and checked)
    let user_type = staff();
    user_type.validate().unwrap();
    let json = serde_json::to_value(&user_type).unwrap();
    assert_eq!(json["name"], "staff");
    assert_eq!(json["attributes"][4]["kind"], "string_set");
    assert_eq!(json["attributes"][1]["max_length"], 8);
    assert_eq!(json["sign_in"], json!(["password", "email_code"]));
    assert_eq!(json["second_factor"], "required");
    assert_eq!(json["role"], "auditor");
    let back: UserType = serde_json::from_value(json).unwrap();
    assert_eq!(back, user_type);
}

#[test]
fn deserialising_refuses_unknown_fields_and_bad_names() {
    // proves: ID-3 (an admin's typo is an error, not silently ignored)
    let mut json = serde_json::to_value(staff()).unwrap();
    json["is_admin"] = json!(true);
    assert!(serde_json::from_value::<UserType>(json).is_err());
    let mut json = serde_json::to_value(staff()).unwrap();
    json["attributes"][0]["required"] = json!(true);
    assert!(serde_json::from_value::<UserType>(json).is_err());
    for bad in [
        "Staff",
        "1staff",
        "",
        "st-aff",
        "staff member",
        &"a".repeat(33),
        "stäff",
    ] {
        let mut json = serde_json::to_value(staff()).unwrap();
        json["name"] = json!(bad);
        assert!(serde_json::from_value::<UserType>(json).is_err(), "{bad:?}");
        assert_eq!(field_of(UserTypeName::parse(bad).unwrap_err()), "user_type");
    }
    assert!(UserTypeName::parse(&"a".repeat(32)).is_ok());
}

#[test]
fn bad_declarations_are_refused() {
    // proves: ID-3 (a type that cannot be mapped onto Cedar is never saved)
    type Change = Box<dyn Fn(&mut UserType)>;
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|t| t.description = "d".repeat(257)), "description"),
        (Box::new(|t| t.description = "a\nb".into()), "description"),
        (
            Box::new(|t| {
                t.attributes
                    .push(decl("department", AttributeKind::Long, false))
            }),
            "attributes.department",
        ),
        (
            Box::new(|t| t.attributes.push(decl("Bad", AttributeKind::Long, false))),
            "attributes",
        ),
        (
            Box::new(|t| {
                t.attributes
                    .push(decl(&"a".repeat(65), AttributeKind::Long, false))
            }),
            "attributes",
        ),
        (
            Box::new(|t| {
                t.attributes = (0..33)
                    .map(|i| decl(&format!("a{i}"), AttributeKind::Long, false))
                    .collect()
            }),
            "attributes",
        ),
        (
            Box::new(|t| t.attributes[1].max_length = Some(1025)),
            "attributes.badge",
        ),
        (
            Box::new(|t| t.attributes[1].max_length = Some(0)),
            "attributes.badge",
        ),
        (
            Box::new(|t| t.attributes[2].max_length = Some(10)),
            "attributes.clearance",
        ),
        (Box::new(|t| t.sign_in.clear()), "sign_in"),
        (
            Box::new(|t| t.sign_in.push(SignInMethod::Password)),
            "sign_in",
        ),
        (
            Box::new(|t| {
                t.attributes
                    .push(decl("has_mfa", AttributeKind::Boolean, false))
            }),
            "attributes.has_mfa",
        ),
        (
            Box::new(|t| {
                t.attributes
                    .push(decl("email", AttributeKind::String, false))
            }),
            "attributes.email",
        ),
        (Box::new(|t| t.role = Some("Admin".into())), "role"),
        (Box::new(|t| t.role = Some(String::new())), "role"),
        (Box::new(|t| t.role = Some("r\"; permit(".into())), "role"),
    ];
    for (change, field) in cases {
        let mut user_type = staff();
        change(&mut user_type);
        assert_eq!(field_of(user_type.validate().unwrap_err()), field);
    }
    let mut at_limits = staff();
    at_limits.description = "d".repeat(256);
    at_limits.attributes[1].max_length = Some(1024);
    at_limits.role = None;
    at_limits.validate().unwrap();
}

#[test]
fn good_attributes_are_typed_and_sets_normalised() {
    // proves: ID-3 (Cedar sees one type per attribute, sets in one order)
    let checked = staff()
        .check_attributes(&map(json!({
            "department": "finance",
            "badge": "ABCDEFGH",
            "clearance": -3,
            "is_contractor": false,
            "projects": ["zeta", "alpha", "zeta", ""],
        })))
        .unwrap();
    assert_eq!(
        checked["department"],
        AttributeValue::String("finance".into())
    );
    assert_eq!(checked["clearance"], AttributeValue::Long(-3));
    assert_eq!(checked["is_contractor"], AttributeValue::Boolean(false));
    assert_eq!(
        checked["projects"],
        AttributeValue::StringSet(vec!["".into(), "alpha".into(), "zeta".into()])
    );
    // Untagged: written back as plain JSON values.
    let json = serde_json::to_value(&checked).unwrap();
    assert_eq!(json["projects"], json!(["", "alpha", "zeta"]));
    assert_eq!(json["clearance"], json!(-3));
}

#[test]
fn bad_attribute_values_are_refused_naming_the_field() {
    // proves: ID-3 (wrong type, oversized, unknown, missing)
    let long_set: Vec<String> = (0..33).map(|i| format!("p{i}")).collect();
    let cases = [
        (
            json!({"badge": "x"}),
            "attributes.department",
            "required one missing",
        ),
        (json!({"department": null}), "attributes.department", "null"),
        (
            json!({"department": 5}),
            "attributes.department",
            "number for a string",
        ),
        (
            json!({"department": {"a": 1}}),
            "attributes.department",
            "nested object",
        ),
        (
            json!({"department": ["a"]}),
            "attributes.department",
            "array for a string",
        ),
        (
            json!({"department": "a\u{0}b"}),
            "attributes.department",
            "control character",
        ),
        (
            json!({"department": "d".repeat(257)}),
            "attributes.department",
            "over default 256",
        ),
        (
            json!({"department": "x", "badge": "123456789"}),
            "attributes.badge",
            "over max_length",
        ),
        (
            json!({"department": "x", "clearance": 1.5}),
            "attributes.clearance",
            "fraction for a long",
        ),
        (
            json!({"department": "x", "clearance": 1.0}),
            "attributes.clearance",
            "float for a long",
        ),
        (
            json!({"department": "x", "clearance": "1"}),
            "attributes.clearance",
            "string for a long",
        ),
        (
            json!({"department": "x", "clearance": u64::MAX}),
            "attributes.clearance",
            "past i64",
        ),
        (
            json!({"department": "x", "is_contractor": "true"}),
            "attributes.is_contractor",
            "string for a bool",
        ),
        (
            json!({"department": "x", "is_contractor": 1}),
            "attributes.is_contractor",
            "number for a bool",
        ),
        (
            json!({"department": "x", "projects": "a"}),
            "attributes.projects",
            "string for a set",
        ),
        (
            json!({"department": "x", "projects": [1]}),
            "attributes.projects",
            "number in a set",
        ),
        (
            json!({"department": "x", "projects": [["a"]]}),
            "attributes.projects",
            "nested set",
        ),
        (
            json!({"department": "x", "projects": long_set}),
            "attributes.projects",
            "33 items",
        ),
        (
            json!({"department": "x", "projects": ["p".repeat(257)]}),
            "attributes.projects",
            "item over 256",
        ),
        (
            json!({"department": "x", "role": "admin"}),
            "attributes.role",
            "unknown attribute",
        ),
        (
            json!({"department": "x", "Bad Name\n": 1}),
            "attributes",
            "unknown, unsafe name not echoed",
        ),
    ];
    for (input, field, why) in cases {
        let err = staff().check_attributes(&map(input)).expect_err(why);
        assert_eq!(field_of(err), field, "{why}");
    }
}

#[test]
fn lengths_are_counted_in_characters() {
    // proves: ID-3 (max_length is characters, so non-Latin names fit)
    let ok = json!({"department": "x", "badge": "ééééééé€"});
    assert!(staff().check_attributes(&map(ok)).is_ok());
    let too_long = json!({"department": "x", "badge": "ééééééé€a"});
    assert!(staff().check_attributes(&map(too_long)).is_err());
    let at_limit = json!({"department": "x", "projects": ["€".repeat(256)]});
    assert!(staff().check_attributes(&map(at_limit)).is_ok());
}

#[test]
fn partial_updates_skip_absent_required_attributes_only() {
    // proves: ID-3 (an update need not resend required attributes)
    let checked = staff()
        .check_partial(&map(json!({"clearance": 2})))
        .unwrap();
    assert_eq!(checked.len(), 1);
    let cases = [
        json!({"department": null}),
        json!({"unknown": 1}),
        json!({"clearance": 2.5}),
    ];
    for input in cases {
        assert!(staff().check_partial(&map(input)).is_err());
    }
    assert!(staff().check_partial(&Map::new()).unwrap().is_empty());
}

#[test]
fn entitlements_are_checked_deduplicated_and_sorted() {
    // proves: ID-3 (entitlements are a clean set)
    let input: Vec<String> = [
        "reports:read",
        "billing.view",
        "reports:read",
        "0day_team-x",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(
        check_entitlements(&input).unwrap(),
        ["0day_team-x", "billing.view", "reports:read"]
    );
    assert!(check_entitlements(&[]).unwrap().is_empty());
    let bad = ["", "Reports", ":read", "-x", "a b", "a/b", "a\nb", "é"];
    for entitlement in bad {
        let err = check_entitlements(&[entitlement.to_owned()]).expect_err(entitlement);
        assert_eq!(field_of(err), "entitlements");
    }
    assert!(check_entitlements(&["e".repeat(64)]).is_ok());
    assert!(check_entitlements(&["e".repeat(65)]).is_err());
    let many: Vec<String> = (0..64).map(|i| format!("e{i}")).collect();
    assert_eq!(check_entitlements(&many).unwrap().len(), 64);
    let too_many: Vec<String> = (0..65).map(|i| format!("e{i}")).collect();
    assert!(check_entitlements(&too_many).is_err());
    // Counted before deduplication: 65 copies of one are still too many.
    assert!(check_entitlements(&vec!["e".to_owned(); 65]).is_err());
}
