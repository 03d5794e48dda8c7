//! Calls to Gatehouse's own routes with the item they act on and what they ask
//! for (AZ-12): an erroring policy denies, attributes are the item's, and a mint
//! asks for its role.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::tests::{caller, catalog, ctx, engine};
use super::*;

fn token_target(id: &str, role: &str) -> Target {
    Target {
        id: id.into(),
        attributes: Some(vec![
            ("name", AttrValue::String("ops".into())),
            ("role", AttrValue::String(role.into())),
        ]),
        parents: vec![("Role", role.into())],
    }
}

const SERVICE_REVOKES: &str = r#"
@id("service-revokes")
permit (principal in Role::"service", action == Action::"api_tokens.revoke", resource);
@id("spare-admins")
forbid (principal, action == Action::"api_tokens.revoke", resource)
when { resource.role == "administrator" };
"#;

// proves: AZ-12
#[test]
fn a_forbid_on_the_resource_attributes_holds() {
    let c = catalog();
    let e = engine(&c, &format!("{BUILTIN_POLICIES}\n{SERVICE_REVOKES}"));
    let admin = token_target("0190a5f4-0000-7000-8000-0000000000aa", "administrator");
    let d = e.decide_call(
        &c,
        &caller("service"),
        Action::RevokeApiToken,
        Some(&admin),
        &ctx(),
    );
    assert!(!d.is_allowed);
    assert_eq!(d.policies, ["spare-admins"]);
    let other = token_target("0190a5f4-0000-7000-8000-0000000000bb", "service");
    let d = e.decide_call(
        &c,
        &caller("service"),
        Action::RevokeApiToken,
        Some(&other),
        &ctx(),
    );
    assert!(d.is_allowed, "{d:?}");
    // `resource in Role::"…"` sees the item's role.
    let text = format!(
        "{BUILTIN_POLICIES}\n@id(\"r\")\npermit (principal in Role::\"service\", action == Action::\"api_tokens.revoke\", resource in Role::\"service\");"
    );
    let e = engine(&c, &text);
    assert!(
        e.decide_call(
            &c,
            &caller("service"),
            Action::RevokeApiToken,
            Some(&other),
            &ctx()
        )
        .is_allowed
    );
    assert!(
        !e.decide_call(
            &c,
            &caller("service"),
            Action::RevokeApiToken,
            Some(&admin),
            &ctx()
        )
        .is_allowed
    );
}

// proves: AZ-12
#[test]
fn an_erroring_policy_denies_a_call_cedar_would_allow() {
    let c = catalog();
    let e = engine(&c, &format!("{BUILTIN_POLICIES}\n{SERVICE_REVOKES}"));
    // Without its attributes (an item that does not exist, or one the server
    // failed to describe) the forbid errors; Cedar skips it and the permit allows.
    let bare = Target {
        id: "0190a5f4-0000-7000-8000-0000000000aa".into(),
        attributes: None,
        parents: Vec::new(),
    };
    let d = e.decide_call(
        &c,
        &caller("service"),
        Action::RevokeApiToken,
        Some(&bare),
        &ctx(),
    );
    assert!(!d.is_allowed);
    assert!(d.is_denied_by_error);
    assert!(!d.errors.is_empty());
    // Without a target at all the same holds: the old way of calling.
    let d = e.decide_call(&c, &caller("service"), Action::RevokeApiToken, None, &ctx());
    assert!(!d.is_allowed);
    // An administrator is still allowed where nothing errors.
    let admin = token_target("0190a5f4-0000-7000-8000-0000000000aa", "administrator");
    let d = e.decide_call(
        &c,
        &caller("administrator"),
        Action::RevokeApiToken,
        Some(&admin),
        &ctx(),
    );
    assert!(!d.is_allowed, "the forbid holds for administrators too");
    assert_eq!(d.policies, ["spare-admins"]);
}

// proves: AZ-12
#[test]
fn minting_cannot_escalate() {
    let c = catalog();
    let text = format!(
        "{BUILTIN_POLICIES}\n@id(\"service-mints\")\npermit (principal in Role::\"service\", action == Action::\"api_tokens.create\", resource);"
    );
    let e = engine(&c, &text);
    let mint = |role: &str, requested: Option<&str>| {
        let mut ctx = ctx();
        ctx.requested_role = requested.map(str::to_owned);
        e.decide_call(&c, &caller(role), Action::CreateApiToken, None, &ctx)
    };
    let d = mint("service", Some("administrator"));
    assert!(!d.is_allowed);
    assert_eq!(d.policies, ["builtin.mint_within_role"]);
    assert!(!mint("service", Some("auditor")).is_allowed);
    assert!(!mint("service", Some("")).is_allowed);
    assert!(!mint("service", None).is_allowed);
    assert!(mint("service", Some("service")).is_allowed);
    for role in BUILTIN_ROLES {
        assert!(mint("administrator", Some(role)).is_allowed, "{role}");
    }
    // The built-in auditor cannot mint at all, not even its own role.
    assert!(!mint("auditor", Some("auditor")).is_allowed);
}
