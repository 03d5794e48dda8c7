//! The server as the gateway's host: the same token verification as its own
//! routes (API tokens and access tokens, revocations within a second), the
//! same Cedar policies (actions `route.read` / `route.write` on the `Route`,
//! the caller's posture in the context), the same audit trail and blocked
//! log, and the same signing keys for the identity handed to upstreams.

use std::sync::Arc;

use gatehouse_audit::redact::{redact_json, redact_text};
use gatehouse_audit::{Outcome as RecordOutcome, Record};
use gatehouse_authz::{PostureFacts, RouteCall, RouteFacts};
use gatehouse_gateway::host::{is_write, RateState};
use gatehouse_gateway::{Caller, Decision, Host, Outcome, Question};
use gatehouse_store::BlockedRow;
use gatehouse_tokens::forwarded::{ForwardedIdentity, FORWARDED_IDENTITY_TTL};
use http::{header, HeaderMap, HeaderValue};
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::pipeline::{Principal, UNKNOWN_ROUTE};

pub struct GatewayHost {
    pub state: AppState,
}

fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl GatewayHost {
    /// A person's sign-in facts: the factors their session proved and when it began.
    async fn session_facts(&self, principal: &Principal) -> (Vec<String>, Option<i64>) {
        let Some(grant) = principal.user_grant() else {
            return (Vec::new(), None);
        };
        match self
            .state
            .store
            .sessions()
            .find_session(&grant.session_id)
            .await
        {
            Ok(Some(session)) => (
                serde_json::from_str(&session.amr).unwrap_or_default(),
                Some(session.created_at_us),
            ),
            _ => (Vec::new(), None),
        }
    }
}

fn rate_json(rate: &RateState) -> Value {
    json!({
        "source_count": rate.source_count.round(),
        "source_quota": rate.source_quota,
        "identity_count": rate.identity_count.map(f64::round),
        "identity_quota": rate.identity_quota,
    })
}

/// The details an audit record of a gateway request keeps: what each stage
/// found, never a credential or what a WAF rule matched.
fn details(outcome: &Outcome) -> Value {
    let mut d = Map::new();
    d.insert("gateway".into(), json!(true));
    d.insert("method".into(), json!(outcome.method));
    d.insert("path".into(), json!(redact_text(&outcome.path)));
    if let Some(reason) = outcome.blocked {
        d.insert("blocked".into(), json!(reason.as_str()));
    }
    if !outcome.detail.is_empty() {
        d.insert("detail".into(), json!(cut(&outcome.detail, 256)));
    }
    d.insert(
        "bot".into(),
        // The verdict only when the bot stage ran (a decoy is refused before).
        if outcome.is_bot_checked {
            json!({
                "verdict": outcome.bot,
                "score": outcome.bot_score,
                "tls_fingerprint": outcome.tls_fingerprint,
                "matched": outcome.matched,
            })
        } else {
            json!({"tls_fingerprint": outcome.tls_fingerprint, "matched": outcome.matched})
        },
    );
    if let Some(check) = &outcome.token_check {
        d.insert("token_check".into(), json!(check));
    }
    if let Some(decision) = &outcome.decision {
        d.insert(
            "access_decision".into(),
            json!({
                "decision": if decision.is_allowed { "allow" } else { "deny" },
                "policies": decision.determining,
                "reason": decision.reason,
                "errors": decision.errors,
            }),
        );
    }
    if let Some(waf) = &outcome.waf {
        d.insert(
            "waf".into(),
            json!({
                "blocked": waf.is_blocked,
                "would_block": waf.would_block,
                "anomaly_score": waf.anomaly_score,
                "generation": waf.generation,
                "rules": waf.matches,
            }),
        );
    }
    if let Some(rate) = &outcome.rate {
        d.insert("rate".into(), rate_json(rate));
    }
    d.insert("duration_us".into(), json!(outcome.duration_us));
    let mut value = Value::Object(d);
    redact_json(&mut value);
    value
}

pub(crate) fn record_of(outcome: &Outcome) -> Record {
    let (actor_kind, actor_id, actor_name) = match &outcome.caller {
        Some(c) => (
            c.kind.clone(),
            c.id.clone(),
            redact_text(&c.name).into_owned(),
        ),
        None => ("anonymous".to_owned(), String::new(), String::new()),
    };
    Record {
        time_us: outcome.time_us,
        event_id: None,
        actor_kind,
        actor_id,
        actor_name,
        on_behalf_of: None,
        action: if is_write(&outcome.method) {
            "route.write"
        } else {
            "route.read"
        }
        .into(),
        resource_type: "route".into(),
        resource_id: outcome
            .route
            .clone()
            .unwrap_or_else(|| UNKNOWN_ROUTE.to_owned()),
        outcome: RecordOutcome::of_status(outcome.status).as_str().into(),
        status: i32::from(outcome.status),
        source_ip: outcome.source.to_string(),
        user_agent: cut(
            &redact_text(outcome.user_agent.as_deref().unwrap_or("")),
            256,
        ),
        request_id: outcome.request_id.clone(),
        before: None,
        after: None,
        details: Some(details(outcome).to_string()),
    }
}

fn blocked_of(outcome: &Outcome) -> Option<BlockedRow> {
    let reason = outcome.blocked?;
    Some(BlockedRow {
        id: 0,
        time_us: outcome.time_us,
        reason: reason.as_str().to_owned(),
        source_ip: outcome.source.to_string(),
        identity: outcome
            .caller
            .as_ref()
            .map(|c| format!("{} ({})", redact_text(&c.name), c.id)),
        method: outcome.method.clone(),
        route: outcome
            .route
            .as_ref()
            .map_or_else(|| UNKNOWN_ROUTE.to_owned(), |r| format!("gateway:{r}")),
        status: i32::from(outcome.status),
        request_id: outcome.request_id.clone(),
        bot: outcome
            .is_bot_checked
            .then(|| outcome.bot.as_str().to_owned()),
        matched: outcome.matched.clone(),
    })
}

#[async_trait::async_trait]
impl Host for GatewayHost {
    async fn verify(&self, token: &str) -> Result<Caller, String> {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "authorization_header_malformed".to_owned())?;
        headers.insert(header::AUTHORIZATION, value);
        let principal = self
            .state
            .auth
            .authenticate(&headers)
            .await
            .map_err(|refused| refused.reason.unwrap_or("invalid_token").to_owned())?;
        let (amr, auth_time_us) = self.session_facts(&principal).await;
        let scopes = match (&principal.client_grant(), &principal.user_grant()) {
            (Some(client), _) => client.scopes.clone(),
            (_, Some(user)) => user.scopes.clone().unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(Caller {
            kind: principal.actor_kind().to_owned(),
            id: principal.id(),
            name: principal.name.clone(),
            role: Some(principal.role.as_str().to_owned()),
            amr,
            auth_time_us,
            scopes,
            host_data: Some(Arc::new(principal)),
        })
    }

    async fn decide(&self, question: &Question) -> Decision {
        let caller = question
            .caller
            .as_ref()
            .and_then(|c| c.host_data.as_ref())
            .and_then(|d| d.downcast_ref::<Principal>())
            .map(crate::authz::caller_of);
        if question.caller.is_some() && caller.is_none() {
            // A caller the host did not verify: never asked, never allowed.
            return Decision {
                is_allowed: false,
                determining: Vec::new(),
                reason: Some("the caller was not verified".into()),
                errors: Vec::new(),
            };
        }
        let posture = &question.posture;
        let call = RouteCall {
            caller,
            is_write: is_write(&question.method),
            method: question.method.clone(),
            path: question.path.clone(),
            route: RouteFacts {
                name: question.route.clone(),
                path_prefix: question.path_prefix.clone(),
                exposure: question.exposure.as_str().to_owned(),
                classification: question.classification.as_str().to_owned(),
                is_open: question.is_open,
            },
            source_ip: question.source,
            time: question.time_us / 1_000_000,
            posture: PostureFacts {
                amr: posture.amr.clone(),
                is_mfa: posture.is_mfa,
                seconds_since_auth: posture.seconds_since_auth,
                bot: posture.bot.as_str().to_owned(),
                bot_score: i64::from(posture.bot_score),
                is_source_flagged: posture.is_source_flagged,
                was_rate_limited: posture.was_rate_limited,
            },
        };
        // As for the server's own routes: decided inline (tens of microseconds).
        let active = self.state.policies.current();
        let decided = active
            .engine
            .decide_route(&self.state.policies.catalog(), &call);
        Decision {
            is_allowed: decided.decision.is_allowed,
            determining: decided.decision.policies,
            reason: decided.reason,
            errors: decided.decision.errors,
        }
    }

    async fn record(&self, outcome: &Outcome) -> Result<(), String> {
        self.state
            .audit
            .append(
                vec![record_of(outcome)],
                blocked_of(outcome).into_iter().collect(),
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn sign_identity(&self, caller: &Caller, route: &str, request_id: &str) -> Option<String> {
        let keys = self.state.auth.keys.current();
        let signer = keys.signer.as_ref()?;
        let now_s = self.state.clock.now().timestamp();
        let claims = ForwardedIdentity {
            iss: self.state.auth.keys.issuer().to_owned(),
            sub: caller.id.clone(),
            sub_kind: caller.kind.clone(),
            aud: format!("gatehouse-route:{route}"),
            iat: now_s,
            exp: now_s + FORWARDED_IDENTITY_TTL,
            jti: request_id.to_owned(),
            name: caller.name.clone(),
            role: caller.role.clone(),
            amr: caller.amr.clone(),
            auth_time: caller.auth_time_us.map(|t| t / 1_000_000),
            scope: caller.scopes.clone(),
        };
        signer.issue_forwarded_identity(&claims).ok()
    }

    fn now_us(&self) -> i64 {
        crate::clock::to_micros(self.state.clock.now())
    }
}
