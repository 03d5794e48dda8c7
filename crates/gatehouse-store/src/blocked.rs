//! The blocked-request summary's SQL (GW-6, CO-5), shared by both backends. Whole
//! hours of a range are read from `blocked_hourly` (kept by a trigger); the
//! partial hours at its ends from `blocked_requests`; so a 30-day summary reads
//! about 720 hours per key instead of every request, and stays exact. When the
//! whole hours cover most of the log, a dimension's counts are its all-time
//! totals (`blocked_totals`, kept by the same trigger) minus the hours outside
//! the range, which reads one row per key instead of one per key and hour.
//!
//! Parameters: `$1` from, `$2` to (exclusive), `$3`..`$4` the whole hours
//! `[lo, hi)`, `$5` the bucket width or the row limit.

pub(crate) const HOUR_US: i64 = 3_600_000_000;

/// The whole hours inside `[from, to)`: `(lo, hi)`, or `(to, to)` when there are
/// none (then everything is read from the requests).
pub(crate) fn whole_hours(from: i64, to: i64) -> (i64, i64) {
    let lo = from.div_euclid(HOUR_US) * HOUR_US
        + if from.rem_euclid(HOUR_US) == 0 {
            0
        } else {
            HOUR_US
        };
    let hi = to.div_euclid(HOUR_US) * HOUR_US;
    if lo < hi {
        (lo, hi)
    } else {
        (to, to)
    }
}

/// The first and last hour the log has counts for.
pub(crate) const SPAN_SQL: &str =
    "SELECT (SELECT MIN(hour_us) FROM blocked_hourly WHERE dimension = 'reason'), \
            (SELECT MAX(hour_us) FROM blocked_hourly WHERE dimension = 'reason')";

/// Whether the whole hours `[lo, hi)` are cheaper read as the totals minus the
/// hours outside them: when fewer of the log's hours (`first..=last`) lie outside
/// the range than inside it. Both ways give the same counts.
pub(crate) fn from_totals(lo: i64, hi: i64, span: (Option<i64>, Option<i64>)) -> bool {
    let (Some(first), Some(last)) = span else {
        return false;
    };
    if lo >= hi {
        return false;
    }
    let end = last.saturating_add(HOUR_US);
    let inside = (hi.min(end) - lo.max(first)).max(0);
    let outside = (end - first) - inside;
    outside < inside
}

/// The dimensions the trigger counts: its name, the column it counts, and
/// which requests it counts (the rest of a `WHERE`).
const DIMENSIONS: [(&str, &str, &str); 7] = [
    ("reason", "reason", "TRUE"),
    ("source", "source_ip", "TRUE"),
    ("identity", "identity", "TRUE"),
    ("route", "route", "TRUE"),
    ("bot", "bot", "TRUE"),
    ("waf_rule", "matched", "reason = 'waf'"),
    ("decoy", "matched", "reason = 'honeypot'"),
];

/// Counts per key of one dimension (see [`DIMENSIONS`]; an unknown one counts
/// routes), largest first, at most `$5`: the whole hours from the hourly counts,
/// or (with `totals`) as the all-time totals minus the hourly counts outside
/// `[$3, $4)`.
pub(crate) fn counts_sql(dimension: &str, totals: bool) -> String {
    let (dimension, column, which) = DIMENSIONS
        .iter()
        .find(|(name, _, _)| *name == dimension)
        .copied()
        .unwrap_or(DIMENSIONS[3]);
    let hours = if totals {
        format!(
            "SELECT key, count AS n FROM blocked_totals WHERE dimension = '{dimension}' \
             UNION ALL \
             SELECT key, -count AS n FROM blocked_hourly \
               WHERE dimension = '{dimension}' AND hour_us < $3 \
             UNION ALL \
             SELECT key, -count AS n FROM blocked_hourly \
               WHERE dimension = '{dimension}' AND hour_us >= $4"
        )
    } else {
        format!(
            "SELECT key, count AS n FROM blocked_hourly \
               WHERE dimension = '{dimension}' AND hour_us >= $3 AND hour_us < $4"
        )
    };
    format!(
        "SELECT key, CAST(SUM(n) AS BIGINT) AS total FROM ( \
           {hours} \
           UNION ALL \
           SELECT {column} AS key, 1 AS n FROM blocked_requests \
             WHERE time_us >= $1 AND time_us < $3 AND {column} IS NOT NULL AND {which} \
           UNION ALL \
           SELECT {column} AS key, 1 AS n FROM blocked_requests \
             WHERE time_us >= $4 AND time_us < $2 AND {column} IS NOT NULL AND {which} \
         ) AS t GROUP BY key HAVING SUM(n) > 0 ORDER BY total DESC, key LIMIT $5"
    )
}

/// Counts per bucket (of `$5` microseconds from `$1`) and reason. From the hourly
/// counts when the buckets fall on whole hours (`from` on an hour, the width a
/// whole number of hours); otherwise from the requests alone.
pub(crate) fn buckets_sql(from: i64, bucket_us: i64) -> &'static str {
    if from.rem_euclid(HOUR_US) == 0 && bucket_us % HOUR_US == 0 {
        "SELECT bucket, key, CAST(SUM(n) AS BIGINT) FROM ( \
           SELECT $1 + ((hour_us - $1) / $5) * $5 AS bucket, key, count AS n FROM blocked_hourly \
             WHERE dimension = 'reason' AND hour_us >= $3 AND hour_us < $4 \
           UNION ALL \
           SELECT $1 + ((time_us - $1) / $5) * $5 AS bucket, reason AS key, 1 AS n FROM blocked_requests \
             WHERE time_us >= $1 AND time_us < $3 \
           UNION ALL \
           SELECT $1 + ((time_us - $1) / $5) * $5 AS bucket, reason AS key, 1 AS n FROM blocked_requests \
             WHERE time_us >= $4 AND time_us < $2 \
         ) AS t GROUP BY bucket, key ORDER BY bucket, key"
    } else {
        "SELECT $1 + ((time_us - $1) / $5) * $5 AS bucket, reason, COUNT(*) \
         FROM blocked_requests WHERE time_us >= $1 AND time_us < $2 AND $3 <= $4 \
         GROUP BY bucket, reason ORDER BY bucket, reason"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_into_whole_hours_and_ends() {
        let h = HOUR_US;
        assert_eq!(whole_hours(0, 3 * h), (0, 3 * h));
        assert_eq!(whole_hours(1, 3 * h + 5), (h, 3 * h));
        assert_eq!(whole_hours(10, h - 1), (h - 1, h - 1));
        assert_eq!(whole_hours(h + 1, 2 * h + 1), (2 * h + 1, 2 * h + 1));
        assert_eq!(whole_hours(5 * h, 5 * h), (5 * h, 5 * h));
    }

    #[test]
    fn totals_are_used_when_most_of_the_log_is_inside() {
        let h = HOUR_US;
        let log = (Some(0), Some(99 * h)); // 100 hours
        assert!(from_totals(0, 100 * h, log));
        assert!(from_totals(-50 * h, 500 * h, log));
        assert!(from_totals(10 * h, 90 * h, log));
        assert!(!from_totals(10 * h, 40 * h, log));
        assert!(!from_totals(200 * h, 300 * h, log));
        assert!(!from_totals(0, 0, log));
        assert!(!from_totals(0, 100 * h, (None, None)));
    }
}
