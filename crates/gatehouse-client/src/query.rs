//! The query parameters of the blocked-request reads, typed, and the audit
//! export's formats. Unset fields are left out of the query string, so they do not
//! filter. The audit trail's query is `gatehouse_types::AuditQuery`, whose
//! encoding the client sends as it is.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What `GET /v1/audit/export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 with a header row; formula-like cells start with `'`.
    Csv,
    /// One JSON record per line.
    JsonLines,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::JsonLines => "jsonl",
        }
    }
}

/// The filters and page of `GET /v1/blocked`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlockedFilters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// `authentication`, `authorization`, `rate_limit`, `bad_input` or `unknown_route`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// The range and shape of `GET /v1/blocked/summary`; the last 24 hours by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlockedSummaryQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_seconds: Option<u64>,
    /// How many top sources, identities and routes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<u32>,
}

#[cfg(test)]
mod tests {
    use gatehouse_types::AuditQuery;

    /// What the client puts on the wire is the audit query's own encoding.
    #[test]
    fn the_audit_query_is_sent_in_its_own_encoding() {
        let query = AuditQuery {
            from: Some("2026-01-02T03:04:05Z".into()),
            actor: Some("a b&c".into()),
            limit: Some(2),
            ..AuditQuery::default()
        };
        let client = crate::Client::builder("https://gatehouse.test")
            .build()
            .unwrap();
        let sent = |q: &AuditQuery| {
            let request = client
                .request(reqwest::Method::GET, "/v1/audit/events")
                .unwrap()
                .query(&q.to_pairs())
                .build()
                .unwrap();
            request.url().query().map(str::to_owned)
        };
        assert_eq!(
            sent(&query).as_deref(),
            Some("from=2026-01-02T03%3A04%3A05Z&actor=a+b%26c&limit=2")
        );
        assert_eq!(
            sent(&query).as_deref(),
            Some(query.to_query_string().as_str())
        );
        assert_eq!(sent(&AuditQuery::default()), None);
    }
}
