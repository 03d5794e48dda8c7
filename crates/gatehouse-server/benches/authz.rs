//! `make bench`: access control's speed (issue 5's targets, figures in
//! BENCHMARKS.md), side by side in one run:
//!
//! 1. one decision through the Authorizer (`Engine`), p50 and p99, with the
//!    built-in roles plus 1,000 generated ABAC policies: for a prepared request
//!    (the decision API's path) and for a call to one of Gatehouse's own routes
//!    (entities built from the caller each time, the pipeline's path);
//! 2. cedar-policy called directly on the same request, over the whole set and
//!    over the slice the engine picks for the action;
//! 3. casbin-rs with an equivalent ABAC model (the same 1,000 rules, as `eval`
//!    rules over the same attributes);
//! 4. `POST /v1/authorize` over HTTPS on loopback: decisions per second.
//!
//! Environment: `BENCH_DECISIONS` (default 200,000 per measured case),
//! `BENCH_HTTP_SECONDS` (default 5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use casbin::{CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use gatehouse_authz::{
    call_context_json, check_request, parse_policies, Action, CallContext, Catalog, Engine,
    TokenCaller, BUILTIN_POLICIES,
};
use gatehouse_testkit::{Db, TestServer};
use gatehouse_types::{CreatePolicyVersionRequest, DecisionRequest, EntityData, EntityRef, Role};
use serde_json::{json, Map};

const GENERATED: usize = 1000;
const ENTITLEMENTS: usize = 10;

/// Actions that take the generated policies (those whose resource is not a User).
fn actions() -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| a.resource().0 != "User" && a.resource().0 != "ApiToken")
        .collect()
}

/// Teams users belong to (each user is in three).
const TEAMS: usize = 100;

/// Policy i permits the members of one team holding entitlement `ent-i`, with
/// MFA and not locked, one action on its collection. With `scoped` false the
/// same conditions apply to every user (`principal is User`): the worst case,
/// where every policy of the action must be evaluated.
fn generated_policies(scoped: bool) -> String {
    let actions = actions();
    let mut text = BUILTIN_POLICIES.to_owned();
    for i in 0..GENERATED {
        let a = actions[i % actions.len()];
        let principal = if scoped {
            format!("principal in Group::\"team-{}\"", i % TEAMS)
        } else {
            "principal is User".to_owned()
        };
        text.push_str(&format!(
            "\n@id(\"abac-{i}\")\npermit ({principal}, action == Action::\"{}\", resource is {})\nwhen {{ principal.entitlements.contains(\"ent-{i}\") && principal.has_mfa && !principal.is_locked }};\n",
            a.as_str(),
            a.resource().0
        ));
    }
    text
}

fn teams_of(i: usize) -> Vec<usize> {
    vec![i % TEAMS, (i * 7 + 3) % TEAMS, (i * 13 + 5) % TEAMS]
}

fn user(i: usize) -> DecisionRequest {
    let actions = actions();
    let action = actions[i % actions.len()];
    // Ten entitlements; whether one of them matches a policy of this action
    // decides the answer (about half the requests are allowed).
    // Entitlements that policies of this user's teams and this action name, for
    // about half of the users; the rest hold unrelated ones.
    let mut entitlements: Vec<String> = (0..ENTITLEMENTS)
        .map(|k| format!("ent-{}", GENERATED + (i * 7 + k * 97) % GENERATED))
        .collect();
    if i.is_multiple_of(2) {
        let a = i % actions.len();
        for t in teams_of(i) {
            // Policy p has action p % actions and team p % TEAMS.
            if let Some(p) = (0..GENERATED).find(|p| p % actions.len() == a && p % TEAMS == t) {
                entitlements[0] = format!("ent-{p}");
            }
        }
    }
    let mut attributes = Map::new();
    attributes.insert("name".into(), json!(format!("user {i}")));
    attributes.insert("email".into(), json!(format!("u{i}@example.com")));
    attributes.insert("user_type".into(), json!("employee"));
    attributes.insert("status".into(), json!("active"));
    attributes.insert("entitlements".into(), json!(entitlements));
    attributes.insert("is_locked".into(), json!(false));
    attributes.insert("has_mfa".into(), json!(true));
    let (kind, id) = action.resource();
    DecisionRequest {
        principal: EntityData {
            kind: "User".into(),
            id: format!("u{i}"),
            attributes,
            parents: std::iter::once(EntityRef {
                kind: "Role".into(),
                id: "user".into(),
            })
            .chain(teams_of(i).into_iter().map(|t| EntityRef {
                kind: "Group".into(),
                id: format!("team-{t}"),
            }))
            .collect(),
        },
        action: action.as_str().into(),
        resource: EntityData {
            kind: kind.into(),
            id: id.into(),
            attributes: Map::new(),
            parents: vec![],
        },
        context: call_context_json(action, "10.1.2.3", 1_790_000_000, "user"),
        entities: vec![],
    }
}

struct Latency {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn measure(n: usize, mut f: impl FnMut(usize) -> bool) -> (Latency, usize) {
    let mut samples = Vec::with_capacity(n);
    let mut allowed = 0;
    for i in 0..n {
        let t = Instant::now();
        allowed += usize::from(std::hint::black_box(f(i)));
        samples.push(t.elapsed());
    }
    let total: Duration = samples.iter().sum();
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            mean: total / n as u32,
        },
        allowed,
    )
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn print(name: &str, l: &Latency, allowed: usize, n: usize) {
    println!(
        "{name:<48} p50 {:>8.2} µs  p99 {:>8.2} µs  mean {:>8.2} µs  ({allowed}/{n} allowed)",
        us(l.p50),
        us(l.p99),
        us(l.mean)
    );
}

#[derive(serde::Serialize, Hash)]
struct Subject {
    id: String,
    role: String,
    /// `,team-1,team-2,` likewise.
    groups: String,
    /// `,ent-1,ent-2,` so that a rule can test membership with `contains`.
    entitlements: String,
    has_mfa: bool,
    is_locked: bool,
}

async fn casbin_enforcer() -> Enforcer {
    let model = DefaultModel::from_str(
        "[request_definition]\nr = sub, obj, act\n\n[policy_definition]\np = group, sub_rule, obj, act\n\n\
         [policy_effect]\ne = some(where (p.eft == allow))\n\n[matchers]\n\
         m = r.act == p.act && r.obj == p.obj && regexMatch(r.sub.groups, p.group) \
         && eval(p.sub_rule)\n",
    )
    .await
    .unwrap();
    let mut e = Enforcer::new(model, MemoryAdapter::default())
        .await
        .unwrap();
    let actions = actions();
    let rules: Vec<Vec<String>> = (0..GENERATED)
        .map(|i| {
            let a = actions[i % actions.len()];
            vec![
                format!(",team-{},", i % TEAMS),
                format!("regexMatch(r.sub.entitlements, \",ent-{i},\") && r.sub.has_mfa && !r.sub.is_locked"),
                a.resource().0.to_owned(),
                a.as_str().to_owned(),
            ]
        })
        .collect();
    e.add_policies(rules).await.unwrap();
    e
}

fn subject(r: &DecisionRequest) -> Subject {
    let ents: Vec<String> = r.principal.attributes["entitlements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let groups: Vec<&str> = r
        .principal
        .parents
        .iter()
        .filter(|p| p.kind == "Group")
        .map(|p| p.id.as_str())
        .collect();
    Subject {
        id: r.principal.id.clone(),
        role: "user".into(),
        groups: format!(",{},", groups.join(",")),
        entitlements: format!(",{},", ents.join(",")),
        has_mfa: true,
        is_locked: false,
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let http_seconds: u64 = std::env::var("BENCH_HTTP_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let catalog = Catalog::load().unwrap();
    let text = generated_policies(true);
    let t = Instant::now();
    let parsed = parse_policies(&catalog, &text).unwrap();
    let parse_time = t.elapsed();
    let policies = parsed.policies.len();
    let engine = Engine::new(&catalog, parsed).unwrap();
    println!(
        "access-control benchmark: {policies} policies (4 built-in + {GENERATED} generated ABAC), \
         parsed and validated in {:.0} ms",
        parse_time.as_secs_f64() * 1e3
    );

    // A pool of distinct requests, prepared once (as the decision API does per call).
    let pool: Vec<_> = (0..1024).map(user).collect();
    let prepared: Vec<_> = pool
        .iter()
        .map(|r| check_request(&catalog, r).unwrap())
        .collect();
    let (l, allowed) = measure(n, |i| {
        engine.decide(&prepared[i % prepared.len()]).is_allowed
    });
    print("Authorizer, prepared request", &l, allowed, n);
    let ours = l;

    let (l, allowed) = measure(n / 4, |i| {
        let p = check_request(&catalog, &pool[i % pool.len()]).unwrap();
        engine.decide(&p).is_allowed
    });
    print(
        "Authorizer, JSON → schema check → decision",
        &l,
        allowed,
        n / 4,
    );

    let caller = TokenCaller {
        id: "0190a5f4-0000-7000-8000-000000000001".into(),
        name: "ci".into(),
        role: "auditor".into(),
        client: None,
        user: None,
    };
    let ctx = CallContext::new("10.1.2.3".parse().unwrap(), 1_790_000_000);
    let route_actions = actions();
    let (l, allowed) = measure(n, |i| {
        engine
            .decide_call(
                &catalog,
                &caller,
                route_actions[i % route_actions.len()],
                None,
                &ctx,
            )
            .is_allowed
    });
    print("Authorizer, a route call (entities built)", &l, allowed, n);

    let whole = engine.policy_set().clone();
    let cedar = cedar_policy::Authorizer::new();
    let (l, allowed_raw) = measure(n / 20, |i| {
        let (request, entities) = prepared[i % prepared.len()].cedar();
        cedar.is_authorized(request, &whole, entities).decision() == cedar_policy::Decision::Allow
    });
    print("cedar-policy directly, whole set", &l, allowed_raw, n / 20);
    let raw = l;
    // Same answers.
    for p in prepared.iter().take(256) {
        let (request, entities) = p.cedar();
        let direct = cedar.is_authorized(request, &whole, entities).decision()
            == cedar_policy::Decision::Allow;
        assert_eq!(engine.decide(p).is_allowed, direct);
    }
    println!(
        "        Authorizer / cedar-policy (p50): {:.2}x   (the engine evaluates only the policies whose action scope can match)",
        us(ours.p50) / us(raw.p50)
    );

    // The worst case: every generated policy applies to every user.
    let unscoped = Engine::new(
        &catalog,
        parse_policies(&catalog, &generated_policies(false)).unwrap(),
    )
    .unwrap();
    let (l, allowed) = measure(n / 10, |i| {
        unscoped.decide(&prepared[i % prepared.len()]).is_allowed
    });
    print(
        "Authorizer, unscoped policies (worst case)",
        &l,
        allowed,
        n / 10,
    );
    let whole_unscoped = unscoped.policy_set().clone();
    let (l, allowed) = measure(n / 20, |i| {
        let (request, entities) = prepared[i % prepared.len()].cedar();
        cedar
            .is_authorized(request, &whole_unscoped, entities)
            .decision()
            == cedar_policy::Decision::Allow
    });
    print(
        "cedar-policy directly, unscoped, whole set",
        &l,
        allowed,
        n / 20,
    );

    let enforcer = casbin_enforcer().await;
    let subjects: Vec<_> = pool.iter().map(subject).collect();
    let casbin_n = (n / 100).max(500);
    let (l, allowed_casbin) = measure(casbin_n, |i| {
        let r = &pool[i % pool.len()];
        enforcer
            .enforce((
                &subjects[i % subjects.len()],
                r.resource.kind.as_str(),
                r.action.as_str(),
            ))
            .unwrap()
    });
    print(
        "casbin-rs, equivalent ABAC model (eval rules)",
        &l,
        allowed_casbin,
        casbin_n,
    );
    for (i, r) in pool.iter().enumerate().take(64) {
        let c = enforcer
            .enforce((&subjects[i], r.resource.kind.as_str(), r.action.as_str()))
            .unwrap();
        assert_eq!(
            c,
            engine.decide(&prepared[i]).is_allowed,
            "casbin and Cedar agree on request {i}"
        );
    }

    // Over HTTPS on loopback, through the whole pipeline.
    let server = TestServer::start(Db::Sqlite).await;
    let admin = server.client();
    admin
        .create_policy_version(&CreatePolicyVersionRequest {
            text: text.clone(),
            reason: "benchmark".into(),
            base_version: 1,
        })
        .await
        .unwrap();
    let service = server.mint(Role::Service).await;
    for batch in [1usize, 100] {
        let clients = 16;
        let deadline = Instant::now() + Duration::from_secs(http_seconds);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..clients {
            let client = server.client().with_token(&service);
            let requests: Vec<DecisionRequest> = (0..batch)
                .map(|k| pool[(c * 31 + k) % pool.len()].clone())
                .collect();
            tasks.push(tokio::spawn(async move {
                let mut decisions = 0usize;
                while Instant::now() < deadline {
                    let answer = client.authorize(&requests).await.unwrap();
                    decisions += answer.results.len();
                }
                decisions
            }));
        }
        let mut decisions = 0;
        for t in tasks {
            decisions += t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "POST /v1/authorize over HTTPS, batches of {batch:>3}, {clients} clients  {:>10.0} decisions/s  ({:.0} requests/s)",
            decisions as f64 / secs,
            decisions as f64 / secs / batch as f64
        );
    }
}
