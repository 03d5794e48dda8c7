//! Events services report (AU-3): each checked on its own, the good ones
//! committed in one transaction before the answer, the bad ones named; an event
//! id seen before from the same caller is acknowledged as a duplicate.

use gatehouse_audit::redact::{redact_json, redact_text};
use gatehouse_audit::{Outcome, Record};
use gatehouse_types::{
    ErrorCode, IngestError, IngestEvent, IngestRequest, IngestResponse, IngestResult, IngestStatus,
    Role, MAX_INGEST_BATCH, OUTCOMES,
};
use serde_json::{json, Value};

use super::AuditLog;
use crate::error::ApiFailure;
use crate::pipeline::{Principal, RequestFacts};

/// The most characters of an event id, action or resource type.
const MAX_ID: usize = 128;
/// The most bytes of each of before, after and details, as redacted JSON.
const MAX_JSON_BYTES: usize = 16 * 1024;

/// Checks and commits a batch reported by `caller` in the request `facts`.
pub async fn ingest(
    log: &AuditLog,
    caller: &Principal,
    facts: &RequestFacts,
    now: i64,
    request: IngestRequest,
) -> Result<IngestResponse, ApiFailure> {
    let n = request.events.len();
    if n == 0 || n > MAX_INGEST_BATCH {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!("events must hold 1 to {MAX_INGEST_BATCH} events"),
        ));
    }
    let mut results: Vec<IngestResult> = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    let mut positions = Vec::with_capacity(n);
    for (index, value) in request.events.into_iter().enumerate() {
        let event_id = value
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match to_record(value, caller, facts, now) {
            Ok(record) => {
                positions.push(index);
                records.push(record);
                results.push(IngestResult {
                    index: index as u64,
                    event_id,
                    status: IngestStatus::Accepted,
                    seq: None,
                    error: None,
                });
            }
            Err(error) => results.push(IngestResult {
                index: index as u64,
                event_id,
                status: IngestStatus::Rejected,
                seq: None,
                error: Some(error),
            }),
        }
    }
    if !records.is_empty() {
        let appended = log.append(records, Vec::new()).await.map_err(|_| {
            ApiFailure::new(
                ErrorCode::Unavailable,
                "the audit trail cannot be written, retry later",
            )
        })?;
        for (index, a) in positions.into_iter().zip(appended) {
            if let Some(r) = results.get_mut(index) {
                r.seq = Some(a.seq);
                if a.is_duplicate {
                    r.status = IngestStatus::Duplicate;
                }
            }
        }
    }
    let count = |s: IngestStatus| results.iter().filter(|r| r.status == s).count() as u64;
    Ok(IngestResponse {
        accepted: count(IngestStatus::Accepted),
        duplicates: count(IngestStatus::Duplicate),
        rejected: count(IngestStatus::Rejected),
        results,
    })
}

fn reject(code: ErrorCode, message: String) -> IngestError {
    IngestError { code, message }
}

fn check_len(name: &str, value: &str, min: usize, max: usize) -> Result<(), IngestError> {
    let n = value.chars().count();
    if n < min || n > max || value.chars().any(char::is_control) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            format!("`{name}` must be {min} to {max} characters with no control characters"),
        ));
    }
    Ok(())
}

fn json_text(name: &str, value: Option<Value>) -> Result<Option<String>, IngestError> {
    let Some(mut value) = value else {
        return Ok(None);
    };
    redact_json(&mut value);
    let text = value.to_string();
    if text.len() > MAX_JSON_BYTES {
        return Err(reject(
            ErrorCode::ValidationFailed,
            format!("`{name}` must be at most {MAX_JSON_BYTES} bytes of JSON"),
        ));
    }
    Ok(Some(text))
}

/// One reported event as a record, or why it cannot be one.
fn to_record(
    value: Value,
    caller: &Principal,
    facts: &RequestFacts,
    now: i64,
) -> Result<Record, IngestError> {
    let event: IngestEvent = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." {
            format!("event: {inner}")
        } else {
            format!("field `{path}`: {inner}")
        };
        reject(ErrorCode::InvalidBody, message)
    })?;
    check_len("event_id", &event.event_id, 1, MAX_ID)?;
    // Redacting an id would make different events duplicates of each other.
    if matches!(redact_text(&event.event_id), std::borrow::Cow::Owned(_)) {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "`event_id` must not hold a credential".into(),
        ));
    }
    check_len("action", &event.action, 1, MAX_ID)?;
    if !event
        .action
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
    {
        return Err(reject(
            ErrorCode::ValidationFailed,
            "`action` may hold only letters, digits, `.`, `_`, `-` and `:`".into(),
        ));
    }
    let outcome = Outcome::parse(&event.outcome).ok_or_else(|| {
        reject(
            ErrorCode::ValidationFailed,
            format!("`outcome` must be one of {}", OUTCOMES.join(", ")),
        )
    })?;
    check_len("resource.type", &event.resource.kind, 1, MAX_ID)?;
    check_len("resource.id", &event.resource.id, 0, 256)?;
    if let Some(who) = &event.on_behalf_of {
        check_len("on_behalf_of", who, 1, 256)?;
    }
    let source_ip = match &event.source_ip {
        Some(ip) => ip
            .parse::<std::net::IpAddr>()
            .map_err(|_| {
                reject(
                    ErrorCode::ValidationFailed,
                    "`source_ip` must be an IP address".into(),
                )
            })?
            .to_string(),
        None => facts.source_ip.clone(),
    };
    let mut details = serde_json::Map::new();
    if let Some(t) = event.occurred_at {
        details.insert("occurred_at".into(), json!(t));
    }
    if let Some(d) = event.details {
        details.insert("reported".into(), d);
    }
    Ok(Record {
        time_us: now,
        event_id: Some(event.event_id),
        actor_kind: if caller.role == Role::Service {
            "service"
        } else {
            "api_token"
        }
        .into(),
        actor_id: caller.id(),
        actor_name: caller.name.clone(),
        on_behalf_of: event.on_behalf_of.map(|w| redact_text(&w).into_owned()),
        action: redact_text(&event.action).into_owned(),
        resource_type: redact_text(&event.resource.kind).into_owned(),
        resource_id: redact_text(&event.resource.id).into_owned(),
        outcome: outcome.as_str().into(),
        status: 0,
        source_ip,
        user_agent: facts.user_agent.clone(),
        request_id: facts.request_id.clone(),
        before: json_text("before", event.before)?,
        after: json_text("after", event.after)?,
        details: json_text(
            "details",
            (!details.is_empty()).then_some(Value::Object(details)),
        )?,
    })
}
