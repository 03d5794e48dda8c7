//! The blocked-request log's reads (GW-6): a keyset page of refusals, and the
//! summary the dashboard draws (over time by reason, the top sources, identities
//! and routes), as JSON or CSV. The routes in `routes/blocked.rs` only parse,
//! call these and answer.

use gatehouse_store::{BlockedFilter, BlockedRow, Store};
use gatehouse_types::{
    BlockedBucket, BlockedPage, BlockedRequest, BlockedSummaryResponse, CountBy, ErrorCode,
    BLOCK_REASONS, MAX_AUDIT_PAGE,
};
use serde::Deserialize;

use crate::clock::from_micros;
use crate::error::ApiFailure;
use crate::routes::{parse_cursor, parse_time};

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;
const MAX_RANGE_US: i64 = 366 * DAY_US;
const MAX_BUCKETS: i64 = 10_000;

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiFailure {
    ApiFailure::new(ErrorCode::InvalidParameter, message)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockedQuery {
    from: Option<String>,
    to: Option<String>,
    reason: Option<String>,
    source: Option<String>,
    identity: Option<String>,
    route: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn to_wire(row: BlockedRow) -> BlockedRequest {
    BlockedRequest {
        id: row.id,
        time: from_micros(row.time_us),
        reason: row.reason,
        source_ip: row.source_ip,
        identity: row.identity,
        method: row.method,
        route: row.route,
        status: u16::try_from(row.status).unwrap_or(0),
        request_id: row.request_id,
        bot: row.bot,
        matched: row.matched,
    }
}

/// A page of refusals, newest first.
pub async fn list(store: &dyn Store, q: BlockedQuery) -> Result<BlockedPage, ApiFailure> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Err(invalid(format!(
            "limit must be between 1 and {MAX_AUDIT_PAGE}"
        )));
    }
    if let Some(r) = &q.reason {
        if !BLOCK_REASONS.contains(&r.as_str()) {
            return Err(invalid(format!(
                "reason must be one of {}",
                BLOCK_REASONS.join(", ")
            )));
        }
    }
    let before_id = parse_cursor(q.cursor.as_deref())?
        .map(|c| i64::try_from(c).map_err(|_| invalid("cursor is not one this server issued")))
        .transpose()?;
    let filter = BlockedFilter {
        from_us: q
            .from
            .as_deref()
            .map(|v| parse_time("from", v))
            .transpose()?,
        to_us: q.to.as_deref().map(|v| parse_time("to", v)).transpose()?,
        reason: q.reason,
        source_ip: q.source,
        identity: q.identity,
        route: q.route,
        before_id,
    };
    if let (Some(f), Some(t)) = (filter.from_us, filter.to_us) {
        if f >= t {
            return Err(invalid("from must be earlier than to"));
        }
    }
    let rows = store.audit().search_blocked(&filter, limit).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() == limit as usize => Some(last.id.to_string()),
        _ => None,
    };
    Ok(BlockedPage {
        items: rows.into_iter().map(to_wire).collect(),
        next_cursor,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    from: Option<String>,
    to: Option<String>,
    /// Seconds per bucket; by default about 48 buckets over the range.
    bucket_seconds: Option<u64>,
    top: Option<u32>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

impl SummaryQuery {
    /// Whether the summary is asked for as CSV (`format=csv`; JSON by default).
    pub fn is_csv(&self) -> Result<bool, ApiFailure> {
        match self.format.as_deref() {
            None | Some("json") => Ok(false),
            Some("csv") => Ok(true),
            Some(_) => Err(invalid("format must be json or csv")),
        }
    }
}

/// The summary over `from`/`to` (the last 24 hours before `now` by default).
pub async fn summarize(
    store: &dyn Store,
    now: i64,
    q: SummaryQuery,
) -> Result<BlockedSummaryResponse, ApiFailure> {
    let to =
        q.to.as_deref()
            .map(|v| parse_time("to", v))
            .transpose()?
            .unwrap_or(now + 1);
    let from = q
        .from
        .as_deref()
        .map(|v| parse_time("from", v))
        .transpose()?
        .unwrap_or(to - DAY_US);
    if from >= to || to - from > MAX_RANGE_US {
        return Err(invalid(
            "from must be earlier than to, at most 366 days apart",
        ));
    }
    let bucket_us = match q.bucket_seconds {
        Some(s) => i64::try_from(s)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000))
            .filter(|b| *b > 0)
            .ok_or_else(|| invalid("bucket_seconds must be a positive number of seconds"))?,
        // About 48 buckets: whole hours from two days up (so that the store reads
        // its hourly counts), whole minutes below.
        None if to - from >= 2 * DAY_US => (((to - from) / 48) / HOUR_US).max(1) * HOUR_US,
        None => (((to - from) / 48) / 60_000_000).max(1) * 60_000_000,
    };
    if (to - from) / bucket_us > MAX_BUCKETS {
        return Err(invalid(format!(
            "at most {MAX_BUCKETS} buckets: use a larger bucket_seconds"
        )));
    }
    let top = q.top.unwrap_or(10);
    if !(1..=100).contains(&top) {
        return Err(invalid("top must be between 1 and 100"));
    }
    let s = store
        .audit()
        .blocked_summary(from, to, bucket_us, top)
        .await?;
    let counts = |v: Vec<(String, u64)>| {
        v.into_iter()
            .map(|(key, count)| CountBy { key, count })
            .collect()
    };
    let response = BlockedSummaryResponse {
        from: from_micros(from),
        to: from_micros(to),
        bucket_seconds: u64::try_from(bucket_us / 1_000_000).unwrap_or(0),
        total: s.total,
        buckets: s
            .buckets
            .into_iter()
            .map(|(start, reason, count)| BlockedBucket {
                start: from_micros(start),
                reason,
                count,
            })
            .collect(),
        by_reason: counts(s.by_reason),
        top_sources: counts(s.top_sources),
        top_identities: counts(s.top_identities),
        top_routes: counts(s.top_routes),
        by_bot: counts(s.by_bot),
        top_waf_rules: counts(s.top_waf_rules),
        top_decoys: counts(s.top_decoys),
    };
    Ok(response)
}

/// The summary as CSV, one row per count: `breakdown` (`over_time`, `reason`,
/// `source`, `identity`, `route`, `bot`, `waf_rule` or `decoy`), `key`, `bucket_start` (over time only) and
/// `count`.
pub fn summary_csv(s: &BlockedSummaryResponse) -> std::io::Result<Vec<u8>> {
    use gatehouse_audit::csv::write_row;
    let mut out = Vec::new();
    write_row(&mut out, &["breakdown", "key", "bucket_start", "count"])?;
    for b in &s.buckets {
        let start = b.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        write_row(
            &mut out,
            &["over_time", &b.reason, &start, &b.count.to_string()],
        )?;
    }
    for (name, rows) in [
        ("reason", &s.by_reason),
        ("source", &s.top_sources),
        ("identity", &s.top_identities),
        ("route", &s.top_routes),
        ("bot", &s.by_bot),
        ("waf_rule", &s.top_waf_rules),
        ("decoy", &s.top_decoys),
    ] {
        for c in rows {
            write_row(&mut out, &[name, &c.key, "", &c.count.to_string()])?;
        }
    }
    Ok(out)
}
