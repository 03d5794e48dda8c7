//! The pipeline's last stage: every request becomes exactly one audit record
//! (AU-1), and every refused one also a blocked-request entry (GW-6).
//!
//! The outermost stage puts an [`AuditSlot`] and the request's [`RequestFacts`] in
//! the request; the guard notes who called and what they asked for; a handler may
//! add the resource and its before/after values. When the response is ready the
//! stage writes the record, unless the handler already committed it together with
//! its change ([`Audit::record`]).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use gatehouse_audit::redact::{redact_json, redact_text};
use gatehouse_audit::{Outcome, Record};
use gatehouse_store::BlockedRow;
use gatehouse_types::ErrorCode;
use http::request::Parts;
use serde_json::{json, Map, Value};

use super::Principal;
use crate::error::ApiFailure;

const MAX_FIELD: usize = 256;
/// The one route key of every request no route matched.
pub const UNKNOWN_ROUTE: &str = "(unknown)";
const MAX_QUERY_PAIRS: usize = 32;

/// Facts about the request, fixed when it arrives.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    pub request_id: String,
    pub source_ip: String,
    /// Credentials in it redacted, then cut to a bounded length.
    pub user_agent: String,
    pub method: String,
    /// The path only, credentials in it redacted, then cut to a bounded length.
    pub path: String,
    /// Query parameters, secrets redacted.
    pub query: Option<Value>,
}

impl RequestFacts {
    pub fn new(
        request_id: String,
        source_ip: String,
        headers: &http::HeaderMap,
        method: &http::Method,
        uri: &http::Uri,
    ) -> Self {
        let user_agent = headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        Self {
            request_id,
            source_ip,
            user_agent: cut(&redact_text(&user_agent)),
            method: method.as_str().to_owned(),
            path: cut(&redact_text(uri.path())),
            query: uri.query().map(redacted_query),
        }
    }
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_FIELD) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// The query string as a JSON object of its parameters, secrets redacted
/// (`?access_token=…` never reaches the trail). Credentials are redacted before
/// anything is cut, so no cut leaves a prefix that no longer looks like one.
fn redacted_query(query: &str) -> Value {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut map = Map::new();
    for (k, v) in pairs.into_iter().take(MAX_QUERY_PAIRS) {
        map.insert(cut(&redact_text(&k)), Value::String(cut(&redact_text(&v))));
    }
    let mut value = Value::Object(map);
    redact_json(&mut value);
    value
}

/// What the pipeline and the handler learnt about the request.
#[derive(Debug, Default)]
pub struct AuditNote {
    pub principal: Option<Principal>,
    /// The route's action; `None` when no route matched.
    pub action: Option<&'static str>,
    /// The matched route's template (`/v1/api-tokens/{id}`); `None` when no
    /// route matched. Blocked requests are counted by it, so random paths cannot
    /// make the blocked log's counts grow a key each.
    pub route: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Merged into the record's details.
    pub details: Option<Map<String, Value>>,
    /// The authorization decision: its outcome, the determining policies and
    /// the policy version (in the record's details as `access_decision`).
    pub authorization: Option<Value>,
    /// The handler committed the record with its change.
    pub is_recorded: bool,
}

#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<AuditNote>>);

impl AuditSlot {
    pub fn note(&self) -> MutexGuard<'_, AuditNote> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// A handler's access to the request's audit record.
pub struct Audit {
    pub slot: AuditSlot,
    pub facts: Arc<RequestFacts>,
}

impl<S: Send + Sync> FromRequestParts<S> for Audit {
    type Rejection = ApiFailure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let slot = parts.extensions.get::<AuditSlot>().cloned();
        let facts = parts.extensions.get::<Arc<RequestFacts>>().cloned();
        match (slot, facts) {
            (Some(slot), Some(facts)) => Ok(Audit { slot, facts }),
            // Only if a route were wired without the pipeline: fail closed.
            _ => Err(ApiFailure::internal()),
        }
    }
}

impl Audit {
    /// Sets what the request acted on.
    pub fn resource(&self, kind: &str, id: impl Into<String>) {
        let mut note = self.slot.note();
        note.resource_type = Some(kind.to_owned());
        note.resource_id = Some(id.into());
    }

    /// Adds a detail to the record (redacted like everything else).
    pub fn detail(&self, key: &str, value: Value) {
        let mut note = self.slot.note();
        note.details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value);
    }

    /// The record of this request, as it stands, for a change committed in the
    /// same transaction (only through [`Audit::commit_change`]).
    pub(super) fn record(
        &self,
        time_us: i64,
        status: u16,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Record {
        let mut note = self.slot.note();
        note.before = before;
        note.after = after;
        let record = build_record(&self.facts, &note, time_us, status, None);
        // The values belong to that transaction only: if it fails, the stage's
        // record of the failure must not claim a change that never happened.
        note.before = None;
        note.after = None;
        record
    }

    /// Marks the record committed with its change (only [`Audit::commit_change`]).
    pub(super) fn mark_recorded(&self) {
        self.slot.note().is_recorded = true;
    }
}

fn redacted(value: &Option<Value>) -> Option<String> {
    value.as_ref().map(|v| {
        let mut v = v.clone();
        redact_json(&mut v);
        v.to_string()
    })
}

/// The record of a request that ended with `status` (and `error`, if it failed).
pub fn build_record(
    facts: &RequestFacts,
    note: &AuditNote,
    time_us: i64,
    status: u16,
    error: Option<ErrorCode>,
) -> Record {
    let (actor_kind, actor_id, actor_name) = match &note.principal {
        Some(p) => (p.actor_kind(), p.id(), redact_text(&p.name).into_owned()),
        None => ("anonymous", String::new(), String::new()),
    };
    let action = note.action.unwrap_or("route.unknown");
    let mut details = Map::new();
    details.insert("method".into(), json!(facts.method));
    details.insert("path".into(), json!(facts.path));
    if let Some(q) = &facts.query {
        details.insert("query".into(), q.clone());
    }
    if let Some(code) = error {
        details.insert("error".into(), json!(code.as_str()));
    }
    if let Some(authz) = &note.authorization {
        details.insert("access_decision".into(), authz.clone());
    }
    if let Some(extra) = &note.details {
        for (k, v) in extra {
            details.insert(k.clone(), v.clone());
        }
    }
    Record {
        time_us,
        event_id: None,
        actor_kind: actor_kind.into(),
        actor_id,
        actor_name,
        on_behalf_of: None,
        action: action.into(),
        resource_type: note
            .resource_type
            .clone()
            .unwrap_or_else(|| action.split('.').next().unwrap_or(action).to_owned()),
        resource_id: note.resource_id.clone().unwrap_or_default(),
        outcome: Outcome::of_status(status).as_str().into(),
        status: i32::from(status),
        source_ip: facts.source_ip.clone(),
        user_agent: facts.user_agent.clone(),
        request_id: facts.request_id.clone(),
        before: redacted(&note.before),
        after: redacted(&note.after),
        details: redacted(&Some(Value::Object(details))),
    }
}

pub fn blocked_row(
    facts: &RequestFacts,
    note: &AuditNote,
    time_us: i64,
    status: u16,
    reason: &str,
) -> BlockedRow {
    BlockedRow {
        id: 0,
        time_us,
        reason: reason.to_owned(),
        source_ip: facts.source_ip.clone(),
        identity: note
            .principal
            .as_ref()
            .map(|p| format!("{} ({})", redact_text(&p.name), p.id())),
        method: facts.method.clone(),
        route: note
            .route
            .clone()
            .unwrap_or_else(|| UNKNOWN_ROUTE.to_owned()),
        status: i32::from(status),
        request_id: facts.request_id.clone(),
        bot: None,
        matched: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_secrets_are_redacted_and_bounded() {
        let q = redacted_query("access_token=abc&actor=alice&password=p&x=%3D1");
        assert_eq!(q["actor"], "alice");
        assert_eq!(q["x"], "=1");
        let text = q.to_string();
        assert!(!text.contains("abc") && !text.contains("\"p\""), "{text}");
        let many: String = (0..100).map(|i| format!("k{i}=v&")).collect();
        assert_eq!(
            redacted_query(&many).as_object().map(Map::len),
            Some(MAX_QUERY_PAIRS)
        );
        assert!(cut(&"é".repeat(1000)).chars().count() <= MAX_FIELD + 1);
    }

    // proves: AU-4
    #[test]
    fn credentials_in_the_request_are_redacted_before_cutting() {
        let token = format!("gh_{}", "k".repeat(43));
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ";
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----",
            "Q".repeat(400)
        );
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_str(&format!("agent/1 ({jwt})")).unwrap(),
        );
        let uri: http::Uri = format!(
            "/v1/things/{token}?note=Bearer%20{token}&k={}&{jwt}=x",
            pem.replace(' ', "%20").replace('\n', "%0A")
        )
        .parse()
        .unwrap();
        let facts = RequestFacts::new(
            "r".into(),
            "127.0.0.1".into(),
            &headers,
            &http::Method::GET,
            &uri,
        );
        assert_eq!(facts.user_agent, "agent/1 ([redacted])");
        assert_eq!(facts.path, "/v1/things/[redacted]");
        let query = facts.query.unwrap();
        assert_eq!(query["note"], "Bearer [redacted]");
        // Longer than a field may be: redacted whole, not cut into an unknown prefix.
        assert_eq!(query["k"], "[redacted]");
        assert_eq!(query["[redacted]"], "x");
    }
}
