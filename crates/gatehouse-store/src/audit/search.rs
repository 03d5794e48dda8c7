//! The search query, the same SQL on both backends but for the case-insensitive
//! LIKE operator and (on SQLite) which filter may use its index.

use super::columns::{Col, RECORD_COLUMNS};
use super::{to_i64, AuditFilter, Page};

/// A bind parameter of a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

/// The search query for `f` between sequence numbers `lo..=hi` (from the time
/// probes): SQL with `$1…` placeholders, each used once, in order, and its
/// parameters. `ilike` is the backend's case-insensitive LIKE.
pub(crate) fn search_sql(
    f: &AuditFilter,
    lo: Option<i64>,
    hi: Option<i64>,
    limit: u32,
    ilike: &str,
    pin_index: bool,
) -> (String, Vec<Param>) {
    let mut sql = format!("SELECT {RECORD_COLUMNS} FROM audit_records WHERE 1 = 1");
    let mut params = Vec::new();
    let mut push = |sql: &mut String, clause: &str, p: Param| {
        params.push(p);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
    };
    if let Some(v) = lo {
        push(&mut sql, " AND seq >= ?", Param::Int(v));
    }
    if let Some(v) = hi {
        push(&mut sql, " AND seq <= ?", Param::Int(v));
    }
    // SQLite's planner statistics are sampled (`PRAGMA optimize` runs ANALYZE
    // with a row limit) and rate every column alike, so with two equality filters
    // it may walk the less selective index, or the table in `seq` order: seconds
    // at 10 M records. With `pin_index`, the filter on the column that is the most
    // selective by nature leads, and `+column` keeps the others off their indexes.
    let leader = [
        (Col::RequestId.name(), f.request_id.is_some()),
        ("blocked", f.blocked.is_some()),
        (Col::ResourceType.name(), f.resource_type.is_some()),
        (Col::ActorId.name(), f.actor.is_some()),
        (Col::SourceIp.name(), f.source_ip.is_some()),
        (Col::Action.name(), f.action.is_some()),
        (Col::Outcome.name(), f.outcome.is_some()),
    ]
    .into_iter()
    .find(|(_, present)| *present)
    .map(|(c, _)| c);
    for (column, value) in [
        (Col::ActorId.name(), &f.actor),
        (Col::Action.name(), &f.action),
        (Col::ResourceType.name(), &f.resource_type),
        (Col::ResourceId.name(), &f.resource_id),
        (Col::Outcome.name(), &f.outcome),
        (Col::SourceIp.name(), &f.source_ip),
        (Col::RequestId.name(), &f.request_id),
    ] {
        if let Some(v) = value {
            let is_indexed = !pin_index
                || leader == Some(column)
                || (column == Col::ResourceId.name() && leader == Some(Col::ResourceType.name()));
            let unary = if is_indexed { "" } else { "+" };
            push(
                &mut sql,
                &format!(" AND {unary}{column} = ?"),
                Param::Text(v.clone()),
            );
        }
    }
    if let Some(reason) = &f.blocked {
        // The refused requests' ids lead (bounded by the same times: a blocked
        // row is written with its record), then each is found by its index.
        let unary = if !pin_index || leader == Some("blocked") {
            ""
        } else {
            "+"
        };
        sql.push_str(&format!(
            " AND {unary}request_id IN (SELECT request_id FROM blocked_requests WHERE 1 = 1"
        ));
        if reason != "any" {
            push(&mut sql, " AND reason = ?", Param::Text(reason.clone()));
        }
        if let Some(v) = f.from_us {
            push(&mut sql, " AND time_us >= ?", Param::Int(v));
        }
        if let Some(v) = f.to_us {
            push(&mut sql, " AND time_us < ?", Param::Int(v));
        }
        sql.push(')');
    }
    if let Some(text) = &f.text {
        let pattern = like_pattern(text);
        sql.push_str(" AND (");
        let columns = Col::ALL.into_iter().filter(|c| c.is_free_text());
        for (i, column) in columns.enumerate() {
            let or = if i > 0 { " OR " } else { "" };
            push(
                &mut sql,
                &format!("{or}{} {ilike} ? ESCAPE '\\'", column.name()),
                Param::Text(pattern.clone()),
            );
        }
        sql.push(')');
    }
    match f.page {
        Page::Newest { before } => {
            if let Some(b) = before {
                push(&mut sql, " AND seq < ?", Param::Int(to_i64(b)));
            }
            push(
                &mut sql,
                " ORDER BY seq DESC LIMIT ?",
                Param::Int(i64::from(limit)),
            );
        }
        Page::Oldest { after } => {
            if let Some(a) = after {
                push(&mut sql, " AND seq > ?", Param::Int(to_i64(a)));
            }
            push(
                &mut sql,
                " ORDER BY seq LIMIT ?",
                Param::Int(i64::from(limit)),
            );
        }
    }
    (sql, params)
}

/// The probes that turn a time range into a sequence range: record time never
/// goes backwards along the chain.
pub(crate) const FIRST_SEQ_FROM: &str =
    "SELECT seq FROM audit_records WHERE time_us >= $1 ORDER BY time_us, seq LIMIT 1";
pub(crate) const LAST_SEQ_BEFORE: &str =
    "SELECT seq FROM audit_records WHERE time_us < $1 ORDER BY time_us DESC, seq DESC LIMIT 1";

/// `%text%` for LIKE with the wildcards in `text` escaped (escape character `\`).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("a%b_c\\d"), "%a\\%b\\_c\\\\d%");
    }
}
