//! A streamed record against a checked audit query, by the search's rules.

use super::{CheckedAuditQuery, BLOCKED_ANY};
use crate::{AuditRecord, ErrorCode};

fn contains(haystack: &str, needle_lower: &str) -> bool {
    haystack.to_lowercase().contains(needle_lower)
}

impl CheckedAuditQuery {
    /// Whether a record matches the filters the way the server's search matches
    /// them (free text over the same fields), for records that arrive another
    /// way (the live stream). `blocked` follows the error the record ended with.
    pub fn matches(&self, r: &AuditRecord) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        self.from.is_none_or(|t| r.time >= t)
            && self.to.is_none_or(|t| r.time < t)
            && eq(&self.actor, &r.actor.id)
            && eq(&self.action, &r.action)
            && eq(&self.resource_type, &r.resource.kind)
            && eq(&self.resource_id, &r.resource.id)
            && eq(&self.outcome, &r.outcome)
            && eq(&self.source, &r.source_ip)
            && eq(&self.request_id, &r.request_id)
            && self.blocked.as_deref().is_none_or(|b| refused_for(b, r))
            && self.q.as_deref().is_none_or(|q| {
                let q = q.to_lowercase();
                [
                    r.actor.id.as_str(),
                    r.actor.name.as_str(),
                    r.actor.on_behalf_of.as_deref().unwrap_or(""),
                    r.action.as_str(),
                    r.resource.kind.as_str(),
                    r.resource.id.as_str(),
                    r.source_ip.as_str(),
                    r.user_agent.as_str(),
                    r.request_id.as_str(),
                ]
                .iter()
                .any(|field| contains(field, &q))
                    || [&r.details, &r.before, &r.after]
                        .iter()
                        .any(|v| v.as_ref().is_some_and(|v| contains(&v.to_string(), &q)))
            })
    }
}

/// Whether a record is of a request blocked for this reason. A streamed record
/// does not carry the blocked log, but it names the error it ended with
/// (`details.error`), which the pipeline classifies the same way.
fn refused_for(reason: &str, r: &AuditRecord) -> bool {
    let code = r
        .details
        .as_ref()
        .and_then(|d| d.get("error"))
        .and_then(|e| serde_json::from_value::<ErrorCode>(e.clone()).ok());
    let Some(kind) = code.and_then(|c| c.block_reason(r.action != "route.unknown")) else {
        return false;
    };
    reason == BLOCKED_ANY || reason == kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuditActor, AuditQuery, AuditResource};
    use chrono::DateTime;

    /// A plain successful record.
    fn record() -> AuditRecord {
        AuditRecord {
            seq: 1,
            hash: String::new(),
            time: DateTime::UNIX_EPOCH,
            event_id: None,
            actor: AuditActor {
                kind: "api_token".into(),
                id: "t".into(),
                name: "n".into(),
                on_behalf_of: None,
            },
            action: "a".into(),
            resource: AuditResource {
                kind: "r".into(),
                id: "1".into(),
            },
            outcome: "success".into(),
            status: Some(200),
            source_ip: "127.0.0.1".into(),
            user_agent: String::new(),
            request_id: "req".into(),
            before: None,
            after: None,
            details: None,
        }
    }

    fn checked(query: AuditQuery) -> CheckedAuditQuery {
        query.validate().unwrap()
    }

    #[test]
    fn records_are_matched_like_the_search_matches_them() {
        let by_text = checked(AuditQuery {
            q: Some("REQ".into()),
            outcome: Some("success".into()),
            ..AuditQuery::default()
        });
        assert!(by_text.matches(&record()));
        let other = checked(AuditQuery {
            actor: Some("u".into()),
            ..AuditQuery::default()
        });
        assert!(!other.matches(&record()));
        let later = checked(AuditQuery {
            from: Some("1970-01-01T00:00:01Z".into()),
            ..AuditQuery::default()
        });
        assert!(!later.matches(&record()));
    }

    #[test]
    fn the_blocked_filter_follows_the_error_each_record_ended_with() {
        let failed = |action: &str, status: u16, error: &str| AuditRecord {
            action: action.into(),
            status: Some(status),
            outcome: "denied".into(),
            details: Some(serde_json::json!({ "error": error })),
            ..record()
        };
        let blocked = |b: &str| {
            checked(AuditQuery {
                blocked: Some(b.into()),
                ..AuditQuery::default()
            })
        };
        let token = failed("audit.search", 401, "invalid_token");
        let forbidden = failed("policies.create", 403, "forbidden");
        let unknown = failed("route.unknown", 404, "not_found");
        let missing = failed("api_tokens.revoke", 404, "not_found");
        let invalid = failed("policies.create", 422, "invalid_body");
        let rule = failed("policies.create", 422, "validation_failed");
        assert!(blocked("authentication").matches(&token));
        assert!(!blocked("authorization").matches(&token));
        assert!(blocked("authorization").matches(&forbidden));
        assert!(blocked("unknown_route").matches(&unknown));
        assert!(blocked("bad_input").matches(&invalid));
        for r in [&token, &forbidden, &unknown, &invalid] {
            assert!(blocked("any").matches(r), "{r:?}");
        }
        // A handler's own refusals, and successes, were not blocked.
        for r in [&missing, &rule, &record()] {
            assert!(!blocked("any").matches(r), "{r:?}");
        }
    }
}
