//! The audit trail's one query (AU-5, AU-6): the filters and page of
//! `GET /v1/audit/events` and `GET /v1/audit/export`, the flags of
//! `gatehouse audit export`, the console's commands and the window's address.
//!
//! [`AuditQuery`] is the text as given, on every path alike; [`AuditQuery::validate`]
//! is the one check, naming the field it refuses ([`QueryError`]); its query-string
//! form ([`AuditQuery::to_pairs`], [`AuditQuery::from_pairs`]) is the one encoding.
//! What the lists of outcomes and blocked reasons hold is [`OUTCOMES`] and
//! [`crate::BLOCK_REASONS`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

mod matches;

use crate::{BLOCK_REASONS, MAX_AUDIT_PAGE};

/// What a record's outcome can be, in the order the console lists them.
pub const OUTCOMES: [&str; 4] = ["success", "denied", "rejected", "failed"];
/// The longest value a text filter may have, in characters.
pub const MAX_FILTER_LEN: usize = 256;
/// The `blocked` filter's value for a request refused for any reason.
pub const BLOCKED_ANY: &str = "any";

/// The audit trail's filters and page, as text: every field unset is no filter.
/// Times are RFC 3339; `limit` is 1 to [`MAX_AUDIT_PAGE`]; `cursor` is a page's
/// `next_cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    /// From (inclusive), RFC 3339.
    pub from: Option<String>,
    /// To (exclusive), RFC 3339.
    pub to: Option<String>,
    /// The actor's id, exactly (free text finds names).
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// One of `OUTCOMES`.
    pub outcome: Option<String>,
    /// The source address.
    pub source: Option<String>,
    pub request_id: Option<String>,
    /// Free text: a case-insensitive substring of any text field.
    pub q: Option<String>,
    /// Only refused requests: `any`, or one of `BLOCK_REASONS`.
    pub blocked: Option<String>,
    /// How many records a page holds (a search only).
    pub limit: Option<u32>,
    /// Where the page starts: the previous page's `next_cursor` (a search only).
    pub cursor: Option<String>,
}

/// A query parameter that is refused, and why. `message` starts with the
/// parameter's name (`from must be …`), so every caller can show it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub field: String,
    pub message: String,
}

impl QueryError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

/// An [`AuditQuery`] that passed [`AuditQuery::validate`]: times parsed, the
/// cursor a sequence number, every other filter as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckedAuditQuery {
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub q: Option<String>,
    pub blocked: Option<String>,
    pub limit: Option<u32>,
    /// Older than this sequence number.
    pub cursor: Option<u64>,
}

/// The filter parameters, in query-string order (`limit` and `cursor` follow).
pub const AUDIT_FILTER_KEYS: [&str; 11] = [
    "from",
    "to",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "outcome",
    "source",
    "request_id",
    "q",
    "blocked",
];

/// An RFC 3339 time parameter.
pub fn parse_query_time(name: &str, value: &str) -> Result<DateTime<Utc>, QueryError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            QueryError::new(
                name,
                format!(
                    "{name} must be a date and time in RFC 3339 form, such as 2026-01-31T12:00:00Z"
                ),
            )
        })
}

/// A `cursor` parameter: a sequence number (or id) the server issued.
pub fn parse_query_cursor(value: &str) -> Result<u64, QueryError> {
    value
        .parse::<u64>()
        .map_err(|_| QueryError::new("cursor", "cursor is not one this server issued"))
}

fn limit_error() -> QueryError {
    QueryError::new(
        "limit",
        format!("limit must be between 1 and {MAX_AUDIT_PAGE}"),
    )
}

fn text_filter(name: &str, value: &Option<String>) -> Result<Option<String>, QueryError> {
    match value {
        Some(v)
            if v.is_empty()
                || v.chars().count() > MAX_FILTER_LEN
                || v.chars().any(char::is_control) =>
        {
            Err(QueryError::new(
                name,
                format!(
                    "{name} must be 1 to {MAX_FILTER_LEN} characters, without control characters"
                ),
            ))
        }
        other => Ok(other.clone()),
    }
}

impl AuditQuery {
    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "from" => &mut self.from,
            "to" => &mut self.to,
            "actor" => &mut self.actor,
            "action" => &mut self.action,
            "resource_type" => &mut self.resource_type,
            "resource_id" => &mut self.resource_id,
            "outcome" => &mut self.outcome,
            "source" => &mut self.source,
            "request_id" => &mut self.request_id,
            "q" => &mut self.q,
            "blocked" => &mut self.blocked,
            "cursor" => &mut self.cursor,
            _ => return None,
        })
    }

    /// The filters, in [`AUDIT_FILTER_KEYS`] order.
    fn filters(&self) -> [(&'static str, &Option<String>); 11] {
        [
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("action", &self.action),
            ("resource_type", &self.resource_type),
            ("resource_id", &self.resource_id),
            ("outcome", &self.outcome),
            ("source", &self.source),
            ("request_id", &self.request_id),
            ("q", &self.q),
            ("blocked", &self.blocked),
        ]
    }

    /// The query string's parameters: the set fields, in a fixed order.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<_> = self
            .filters()
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
            .collect();
        pairs.extend(self.limit.map(|l| ("limit", l.to_string())));
        pairs.extend(self.cursor.clone().map(|c| ("cursor", c)));
        pairs
    }

    /// The query string (`actor=a+b&limit=5`), percent-encoded.
    pub fn to_query_string(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.to_pairs())
            .finish()
    }

    /// The query from decoded parameters. An unknown or repeated parameter, or a
    /// `limit` that is not a number, is refused; values are kept as given (an
    /// empty one too: [`AuditQuery::validate`] judges them).
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self, QueryError>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut query = Self::default();
        for (key, value) in pairs {
            let key = key.as_ref();
            let twice = || QueryError::new(key, format!("{key} is given twice"));
            if key == "limit" {
                if query.limit.is_some() {
                    return Err(twice());
                }
                let value: String = value.into();
                query.limit = Some(value.parse().map_err(|_| limit_error())?);
                continue;
            }
            let Some(slot) = query.slot(key) else {
                return Err(QueryError::new(
                    key,
                    format!(
                        "{key} is not a parameter of the audit trail: use {}, limit or cursor",
                        AUDIT_FILTER_KEYS.join(", ")
                    ),
                ));
            };
            if slot.is_some() {
                return Err(twice());
            }
            *slot = Some(value.into());
        }
        Ok(query)
    }

    /// The query from a percent-encoded query string (without the `?`).
    pub fn from_query_string(query: &str) -> Result<Self, QueryError> {
        Self::from_pairs(form_urlencoded::parse(query.as_bytes()))
    }

    /// What a person typed, tidied: white space around each value trimmed, and
    /// empty values unset.
    pub fn tidy(mut self) -> Self {
        for key in AUDIT_FILTER_KEYS.into_iter().chain(["cursor"]) {
            if let Some(slot) = self.slot(key) {
                *slot = slot
                    .take()
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
            }
        }
        self
    }

    /// The one check of an audit query: the first field that is wrong, named.
    pub fn validate(&self) -> Result<CheckedAuditQuery, QueryError> {
        let time = |name: &str, v: &Option<String>| {
            v.as_deref().map(|v| parse_query_time(name, v)).transpose()
        };
        let (from, to) = (time("from", &self.from)?, time("to", &self.to)?);
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Err(QueryError::new("from", "from must be earlier than to"));
            }
        }
        if self
            .outcome
            .as_deref()
            .is_some_and(|o| !OUTCOMES.contains(&o))
        {
            return Err(QueryError::new(
                "outcome",
                format!("outcome must be one of {}", OUTCOMES.join(", ")),
            ));
        }
        if let Some(b) = &self.blocked {
            if b != BLOCKED_ANY && !BLOCK_REASONS.contains(&b.as_str()) {
                return Err(QueryError::new(
                    "blocked",
                    format!(
                        "blocked must be {BLOCKED_ANY} or one of {}",
                        BLOCK_REASONS.join(", ")
                    ),
                ));
            }
        }
        if self
            .limit
            .is_some_and(|l| !(1..=MAX_AUDIT_PAGE).contains(&l))
        {
            return Err(limit_error());
        }
        Ok(CheckedAuditQuery {
            from,
            to,
            actor: text_filter("actor", &self.actor)?,
            action: text_filter("action", &self.action)?,
            resource_type: text_filter("resource_type", &self.resource_type)?,
            resource_id: text_filter("resource_id", &self.resource_id)?,
            outcome: self.outcome.clone(),
            source: text_filter("source", &self.source)?,
            request_id: text_filter("request_id", &self.request_id)?,
            q: text_filter("q", &self.q)?,
            blocked: self.blocked.clone(),
            limit: self.limit,
            cursor: self.cursor.as_deref().map(parse_query_cursor).transpose()?,
        })
    }

    /// [`AuditQuery::validate`] for an export, which is the whole filtered view:
    /// no `limit`, no `cursor`.
    pub fn validate_export(&self) -> Result<CheckedAuditQuery, QueryError> {
        let paged = [
            ("limit", self.limit.is_some()),
            ("cursor", self.cursor.is_some()),
        ];
        if let Some((field, _)) = paged.into_iter().find(|(_, set)| *set) {
            return Err(QueryError::new(
                field,
                "an export has no limit or cursor: it is the whole filtered view",
            ));
        }
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query with every field set to a valid value.
    fn full() -> AuditQuery {
        AuditQuery {
            from: Some("2026-01-02T03:04:05Z".into()),
            to: Some("2026-02-01T00:00:00+01:00".into()),
            actor: Some("a b&c=d".into()),
            action: Some("order.create".into()),
            resource_type: Some("api_token".into()),
            resource_id: Some("7/8?9#".into()),
            outcome: Some("denied".into()),
            source: Some("::1".into()),
            request_id: Some("req-1".into()),
            q: Some("Zoë %20 +".into()),
            blocked: Some("authorization".into()),
            limit: Some(5),
            cursor: Some("42".into()),
        }
    }

    #[test]
    fn every_field_round_trips_through_the_query_string() {
        let query = full();
        let text = query.to_query_string();
        assert_eq!(AuditQuery::from_query_string(&text), Ok(query.clone()));
        // Every field is in it, under its own key, in the fixed order.
        let keys: Vec<_> = query.to_pairs().into_iter().map(|(k, _)| k).collect();
        let mut want = AUDIT_FILTER_KEYS.to_vec();
        want.extend(["limit", "cursor"]);
        assert_eq!(keys, want);
        assert!(text.starts_with("from=2026-01-02T03%3A04%3A05Z&"), "{text}");
        assert!(text.contains("&actor=a+b%26c%3Dd&"), "{text}");
        // Unset fields are left out.
        assert_eq!(AuditQuery::default().to_query_string(), "");
        assert_eq!(AuditQuery::from_query_string(""), Ok(AuditQuery::default()));
        let one = AuditQuery {
            q: Some("x".into()),
            ..AuditQuery::default()
        };
        assert_eq!(one.to_query_string(), "q=x");
        // The same through serde (the console's IPC).
        let json = serde_json::to_value(&query).unwrap();
        assert_eq!(serde_json::from_value::<AuditQuery>(json).unwrap(), query);
    }

    #[test]
    fn a_valid_query_is_checked_into_its_typed_form() {
        let checked = full().validate().unwrap();
        assert_eq!(
            checked.from.unwrap().to_rfc3339(),
            "2026-01-02T03:04:05+00:00"
        );
        assert_eq!(
            checked.to.unwrap().to_rfc3339(),
            "2026-01-31T23:00:00+00:00"
        );
        assert_eq!(checked.actor.as_deref(), Some("a b&c=d"));
        assert_eq!(checked.limit, Some(5));
        assert_eq!(checked.cursor, Some(42));
        assert_eq!(
            AuditQuery::default().validate(),
            Ok(CheckedAuditQuery::default())
        );
        for outcome in OUTCOMES {
            let q = AuditQuery {
                outcome: Some(outcome.into()),
                ..AuditQuery::default()
            };
            assert!(q.validate().is_ok(), "{outcome}");
        }
        for blocked in BLOCK_REASONS.into_iter().chain([BLOCKED_ANY]) {
            let q = AuditQuery {
                blocked: Some(blocked.into()),
                ..AuditQuery::default()
            };
            assert!(q.validate().is_ok(), "{blocked}");
        }
    }

    #[test]
    fn each_bad_value_is_refused_naming_its_field() {
        let long = "x".repeat(MAX_FILTER_LEN + 1);
        let cases: Vec<(&str, &str)> = vec![
            ("from", "from=yesterday"),
            ("to", "to=2026-13-01T00:00:00Z"),
            ("from", "from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z"),
            ("from", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"),
            ("actor", "actor="),
            ("action", "action=a%00b"),
            ("resource_type", "resource_type=%0A"),
            ("resource_id", "resource_id="),
            ("outcome", "outcome=maybe"),
            ("outcome", "outcome="),
            ("source", "source=%09"),
            ("request_id", "request_id="),
            ("blocked", "blocked=boredom"),
            ("blocked", "blocked="),
            ("limit", "limit=0"),
            ("limit", "limit=1001"),
            ("limit", "limit=-1"),
            ("limit", "limit=abc"),
            ("cursor", "cursor=abc"),
            ("cursor", "cursor=-1"),
            ("nope", "nope=1"),
            ("actor", "actor=a&actor=b"),
            ("limit", "limit=1&limit=2"),
        ];
        let long_q = format!("q={long}");
        for (field, text) in cases.into_iter().chain([("q", long_q.as_str())]) {
            let error = AuditQuery::from_query_string(text)
                .and_then(|q| q.validate().map(|_| ()))
                .expect_err(text);
            assert_eq!(error.field, field, "{text}: {}", error.message);
            assert!(
                error.message.starts_with(field),
                "{text}: {}",
                error.message
            );
        }
        // 256 characters (not bytes) is the most.
        let most = AuditQuery {
            q: Some("é".repeat(MAX_FILTER_LEN)),
            ..AuditQuery::default()
        };
        assert!(most.validate().is_ok());
        // Lists name what is accepted.
        let blocked = AuditQuery::from_query_string("blocked=x")
            .unwrap()
            .validate();
        assert_eq!(
            blocked.unwrap_err().message,
            "blocked must be any or one of authentication, authorization, rate_limit, bad_input, unknown_route, waf, bot, honeypot, timeout"
        );
    }

    #[test]
    fn an_export_has_no_page() {
        for (field, query) in [
            (
                "limit",
                AuditQuery {
                    limit: Some(1),
                    ..AuditQuery::default()
                },
            ),
            (
                "cursor",
                AuditQuery {
                    cursor: Some("1".into()),
                    ..AuditQuery::default()
                },
            ),
        ] {
            let error = query.validate_export().unwrap_err();
            assert_eq!(error.field, field);
            assert!(error.message.contains(field), "{}", error.message);
        }
        let filters = AuditQuery {
            limit: None,
            cursor: None,
            ..full()
        };
        assert!(filters.validate_export().is_ok());
    }

    #[test]
    fn tidy_trims_and_unsets_empty_values() {
        let typed = AuditQuery {
            actor: Some("  alice ".into()),
            action: Some(String::new()),
            q: Some("   ".into()),
            cursor: Some(" 5 ".into()),
            limit: Some(3),
            ..AuditQuery::default()
        };
        assert_eq!(
            typed.tidy(),
            AuditQuery {
                actor: Some("alice".into()),
                cursor: Some("5".into()),
                limit: Some(3),
                ..AuditQuery::default()
            }
        );
    }
}
