//! Calls through the gateway (GW-2, GW-8): a caller (or an anonymous one on
//! an open route) reading or writing a `Route`, with the caller's posture in
//! the context. As for Gatehouse's own routes, a policy that errors denies:
//! a skipped `forbid` would be an allow. A deny names the forbids that
//! decided it, and the `@reason` of the first that has one (the posture check
//! that failed, in the policy author's words).

use std::collections::HashSet;
use std::net::IpAddr;

use cedar_policy::{Context, Entities, Entity, Request, RestrictedExpression};

use crate::engine::{principal_entities, restricted};
use crate::{AttrValue, AuthzError, Catalog, Decision, Engine, TokenCaller};

/// A route as the policies see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFacts {
    pub name: String,
    pub path_prefix: String,
    pub exposure: String,
    pub classification: String,
    pub is_open: bool,
}

/// The caller's security posture.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostureFacts {
    pub amr: Vec<String>,
    pub is_mfa: bool,
    pub seconds_since_auth: Option<i64>,
    pub bot: String,
    pub bot_score: i64,
    pub is_source_flagged: bool,
    pub was_rate_limited: bool,
}

/// One call through the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteCall {
    /// `None`: no token (only open routes let such a call through).
    pub caller: Option<TokenCaller>,
    /// POST, PUT, PATCH, DELETE (`route.write`); else `route.read`.
    pub is_write: bool,
    pub method: String,
    pub path: String,
    pub route: RouteFacts,
    pub source_ip: IpAddr,
    /// Unix seconds.
    pub time: i64,
    pub posture: PostureFacts,
}

/// A decision on a call, with the reason a forbid gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    pub decision: Decision,
    pub reason: Option<String>,
}

impl RouteCall {
    pub fn action(&self) -> &'static str {
        if self.is_write {
            "route.write"
        } else {
            "route.read"
        }
    }
}

fn context(call: &RouteCall) -> Result<Context, AuthzError> {
    let p = &call.posture;
    let mut posture = vec![
        ("amr".to_owned(), restricted(&AttrValue::Set(p.amr.clone()))),
        (
            "is_mfa".to_owned(),
            RestrictedExpression::new_bool(p.is_mfa),
        ),
        (
            "bot".to_owned(),
            RestrictedExpression::new_string(p.bot.clone()),
        ),
        (
            "bot_score".to_owned(),
            RestrictedExpression::new_long(p.bot_score),
        ),
        (
            "is_source_flagged".to_owned(),
            RestrictedExpression::new_bool(p.is_source_flagged),
        ),
        (
            "was_rate_limited".to_owned(),
            RestrictedExpression::new_bool(p.was_rate_limited),
        ),
    ];
    if let Some(seconds) = p.seconds_since_auth {
        posture.push((
            "seconds_since_auth".to_owned(),
            RestrictedExpression::new_long(seconds),
        ));
    }
    let posture = RestrictedExpression::new_record(posture)
        .map_err(|e| AuthzError::Request(e.to_string()))?;
    Context::from_pairs([
        (
            "source_ip".to_owned(),
            crate::ip::ip_expression(call.source_ip),
        ),
        ("time".to_owned(), RestrictedExpression::new_long(call.time)),
        (
            "method".to_owned(),
            RestrictedExpression::new_string(call.method.clone()),
        ),
        (
            "path".to_owned(),
            RestrictedExpression::new_string(call.path.clone()),
        ),
        ("posture".to_owned(), posture),
    ])
    .map_err(|e| AuthzError::Request(e.to_string()))
}

impl Engine {
    /// Decides a call through the gateway. Anything that cannot be asked, or
    /// a policy that errors, denies.
    pub fn decide_route(&self, catalog: &Catalog, call: &RouteCall) -> RouteDecision {
        match self.try_decide_route(catalog, call) {
            Ok(mut decision) => {
                if !decision.errors.is_empty() && decision.is_allowed {
                    decision.is_allowed = false;
                    decision.is_denied_by_error = true;
                }
                let reason = if decision.is_allowed {
                    None
                } else if decision.is_denied_by_error {
                    Some("a policy could not be evaluated".to_owned())
                } else {
                    decision.policies.iter().find_map(|id| {
                        self.policy_set()
                            .policy(&cedar_policy::PolicyId::new(id))
                            .and_then(|p| p.annotation("reason"))
                            .map(str::to_owned)
                    })
                };
                RouteDecision { decision, reason }
            }
            Err(e) => RouteDecision {
                decision: Decision {
                    is_allowed: false,
                    policies: Vec::new(),
                    errors: vec![e.to_string()],
                    is_denied_by_error: true,
                },
                reason: Some("the call could not be put to the policies".to_owned()),
            },
        }
    }

    fn try_decide_route(
        &self,
        catalog: &Catalog,
        call: &RouteCall,
    ) -> Result<Decision, AuthzError> {
        let (principal, mut entities) = match &call.caller {
            Some(caller) => principal_entities(catalog, caller)?,
            None => {
                let uid = catalog.uid("Anonymous", &call.source_ip.to_string())?;
                (uid.clone(), vec![Entity::new_no_attrs(uid, HashSet::new())])
            }
        };
        let route = &call.route;
        let resource = catalog.uid("Route", &route.name)?;
        let attrs = [
            ("name", AttrValue::String(route.name.clone())),
            ("path_prefix", AttrValue::String(route.path_prefix.clone())),
            ("exposure", AttrValue::String(route.exposure.clone())),
            (
                "classification",
                AttrValue::String(route.classification.clone()),
            ),
            ("is_open", AttrValue::Bool(route.is_open)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), restricted(&v)))
        .collect();
        entities.push(
            Entity::new(resource.clone(), attrs, HashSet::new())
                .map_err(|e| AuthzError::Request(e.to_string()))?,
        );
        entities.extend(
            catalog
                .action_entities(call.action())
                .unwrap_or_default()
                .iter()
                .cloned(),
        );
        let entities = Entities::from_entities(entities, None)
            .map_err(|e| AuthzError::Request(e.to_string()))?;
        let request = Request::new(
            principal,
            catalog.uid("Action", call.action())?,
            resource,
            context(call)?,
            Some(catalog.schema()),
        )
        .map_err(|e| AuthzError::Request(e.to_string()))?;
        Ok(self.run(call.action(), &request, &entities))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tests::{caller, catalog, engine};
    use crate::BUILTIN_POLICIES;

    fn call(
        caller: Option<TokenCaller>,
        classification: &str,
        is_open: bool,
        amr: &[&str],
    ) -> RouteCall {
        RouteCall {
            caller,
            is_write: false,
            method: "GET".into(),
            path: "/api/records/1".into(),
            route: RouteFacts {
                name: "records".into(),
                path_prefix: "/api/records".into(),
                exposure: "partner".into(),
                classification: classification.into(),
                is_open,
            },
            source_ip: "10.1.2.3".parse().unwrap(),
            time: 1_790_000_000,
            posture: PostureFacts {
                amr: amr.iter().map(|s| (*s).to_owned()).collect(),
                is_mfa: amr.contains(&"mfa"),
                seconds_since_auth: Some(120),
                bot: "human".into(),
                bot_score: 0,
                is_source_flagged: false,
                was_rate_limited: false,
            },
        }
    }

    const ROUTE_POLICIES: &str = r#"
@id("users_call_records")
permit (principal in Role::"user", action in Action::"call", resource is Route)
when { resource.exposure == "partner" };

@id("restricted_needs_two_factors")
@reason("two factors are needed for restricted routes")
forbid (principal, action in Action::"call", resource is Route)
when { resource.classification == "restricted" && !context.posture.is_mfa };

@id("no_bots_on_writes")
forbid (principal, action == Action::"route.write", resource)
when { context.posture.bot != "human" };
"#;

    // proves: GW-2 (deny by default: Gatehouse's administrators do not get the services behind the gateway)
    #[test]
    fn the_builtin_roles_open_no_service_route() {
        let c = catalog();
        let e = engine(&c, BUILTIN_POLICIES);
        for role in ["administrator", "auditor", "user", "service"] {
            let d = e.decide_route(&c, &call(Some(caller(role)), "internal", false, &["pwd"]));
            assert!(!d.decision.is_allowed, "{role}: {d:?}");
        }
        // An open route (anonymous, or the sign-up) is open to anyone.
        let d = e.decide_route(&c, &call(None, "public", true, &[]));
        assert!(d.decision.is_allowed, "{d:?}");
        assert_eq!(
            d.decision.policies,
            vec!["builtin.gateway_open_routes".to_owned()]
        );
        let d = e.decide_route(&c, &call(None, "public", false, &[]));
        assert!(!d.decision.is_allowed);
    }

    // proves: GW-8 (a policy demands two factors; the denial names the check)
    #[test]
    fn a_posture_check_denies_and_says_why() {
        let c = catalog();
        let e = engine(&c, ROUTE_POLICIES);
        let user = Some(caller("user"));
        let allowed = e.decide_route(&c, &call(user.clone(), "confidential", false, &["pwd"]));
        assert!(allowed.decision.is_allowed, "{allowed:?}");
        let denied = e.decide_route(&c, &call(user.clone(), "restricted", false, &["pwd"]));
        assert!(!denied.decision.is_allowed);
        assert_eq!(
            denied.decision.policies,
            vec!["restricted_needs_two_factors".to_owned()]
        );
        assert_eq!(
            denied.reason.as_deref(),
            Some("two factors are needed for restricted routes")
        );
        let with_mfa = e.decide_route(
            &c,
            &call(user.clone(), "restricted", false, &["pwd", "otp", "mfa"]),
        );
        assert!(with_mfa.decision.is_allowed, "{with_mfa:?}");
        // A bot may read but not write.
        let mut bot = call(user, "confidential", false, &["pwd"]);
        bot.posture.bot = "bot".into();
        assert!(e.decide_route(&c, &bot).decision.is_allowed);
        bot.is_write = true;
        bot.method = "POST".into();
        let d = e.decide_route(&c, &bot);
        assert!(!d.decision.is_allowed);
        assert_eq!(d.reason, None);
    }

    // proves: GW-8 (a fresh sign-in demanded; a caller with no sign-in time is refused, never let through)
    #[test]
    fn a_fresh_sign_in_can_be_demanded() {
        let c = catalog();
        let e = engine(
            &c,
            r#"
@id("open") permit (principal, action in Action::"call", resource);
@id("fresh")
@reason("sign in again: this route needs a sign-in from the last 5 minutes")
forbid (principal, action in Action::"call", resource)
unless { context.posture has seconds_since_auth && context.posture.seconds_since_auth <= 300 };
"#,
        );
        let mut person = call(Some(caller("user")), "internal", false, &["pwd"]);
        assert!(e.decide_route(&c, &person).decision.is_allowed);
        person.posture.seconds_since_auth = Some(3600);
        let d = e.decide_route(&c, &person);
        assert!(!d.decision.is_allowed);
        assert!(d.reason.unwrap().starts_with("sign in again"));
        let mut machine = call(Some(caller("service")), "internal", false, &[]);
        machine.posture.seconds_since_auth = None;
        assert!(!e.decide_route(&c, &machine).decision.is_allowed);
    }
}
