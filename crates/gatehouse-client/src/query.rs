//! The query parameters of the audit and blocked-request reads, typed. Unset fields
//! are left out of the query string, so they do not filter.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The filters of `GET /v1/audit/events` and `GET /v1/audit/export`; every one set
/// must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditFilters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// The actor's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// `success`, `denied`, `rejected` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// The source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Free text: a case-insensitive substring of any text field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Only refused requests: `any`, or a reason of the blocked-request log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// One page of `GET /v1/audit/events`: the filters, the page size and where to
/// continue (the previous page's `next_cursor`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditSearch {
    #[serde(flatten)]
    pub filters: AuditFilters,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

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
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn unset_fields_are_left_out_and_times_are_rfc3339() {
        let search = AuditSearch {
            filters: AuditFilters {
                from: Some(Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()),
                actor: Some("a b&c".into()),
                ..AuditFilters::default()
            },
            limit: Some(2),
            cursor: None,
        };
        let client = crate::Client::builder("https://gatehouse.test")
            .build()
            .unwrap();
        let query = |q: &AuditSearch| {
            let request = client
                .request(reqwest::Method::GET, "/v1/audit/events")
                .unwrap()
                .query(q)
                .build()
                .unwrap();
            request.url().query().map(str::to_owned)
        };
        assert_eq!(
            query(&search).as_deref(),
            Some("from=2026-01-02T03%3A04%3A05Z&actor=a+b%26c&limit=2")
        );
        assert_eq!(query(&AuditSearch::default()), None);
    }
}
