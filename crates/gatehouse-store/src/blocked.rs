//! The blocked-request summary's SQL (GW-6, CO-5), shared by both backends. Whole
//! hours of a range are read from `blocked_hourly` (kept by a trigger); the
//! partial hours at its ends from `blocked_requests`; so a 30-day summary reads
//! about 720 hours per key instead of every request, and stays exact.
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

/// Counts per key of one dimension (`reason`, `source`, `identity`, `route`),
/// largest first, at most `$5`.
pub(crate) fn counts_sql(dimension: &str) -> String {
    let column = match dimension {
        "reason" => "reason",
        "source" => "source_ip",
        "identity" => "identity",
        _ => "route",
    };
    format!(
        "SELECT key, CAST(SUM(n) AS BIGINT) AS total FROM ( \
           SELECT key, count AS n FROM blocked_hourly \
             WHERE dimension = '{dimension}' AND hour_us >= $3 AND hour_us < $4 \
           UNION ALL \
           SELECT {column} AS key, 1 AS n FROM blocked_requests \
             WHERE time_us >= $1 AND time_us < $3 AND {column} IS NOT NULL \
           UNION ALL \
           SELECT {column} AS key, 1 AS n FROM blocked_requests \
             WHERE time_us >= $4 AND time_us < $2 AND {column} IS NOT NULL \
         ) AS t GROUP BY key ORDER BY total DESC, key LIMIT $5"
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
}
