#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Duration, TimeZone, Utc};
use gatehouse_types::{BlockedBucket, BlockedSummaryResponse, CountBy};

use super::*;

fn summary(buckets: Vec<(i64, &str, u64)>) -> BlockedSummaryResponse {
    let from = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    BlockedSummaryResponse {
        from,
        to: from + Duration::hours(24),
        bucket_seconds: 3600,
        total: buckets.iter().map(|b| b.2).sum(),
        buckets: buckets
            .into_iter()
            .map(|(hour, reason, count)| BlockedBucket {
                start: from + Duration::hours(hour),
                reason: reason.into(),
                count,
            })
            .collect(),
        by_reason: vec![],
        top_sources: vec![],
        top_identities: vec![],
        top_routes: vec![],
        by_bot: vec![],
        top_waf_rules: vec![],
        top_decoys: vec![],
    }
}

fn well_formed(svg: &str) {
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(
        !svg.contains("NaN") && !svg.contains("inf"),
        "no broken numbers"
    );
}

#[test]
fn stacks_reasons_per_bucket_with_one_region_per_segment() {
    let s = summary(vec![
        (0, "authentication", 5),
        (0, "authorization", 2),
        (3, "authentication", 1),
        (23, "bad_input", 7),
        // Outside the range: ignored.
        (30, "authentication", 99),
        (-2, "authentication", 99),
    ]);
    let chart = blocked_over_time(&s, (800, 300), Theme::Light).unwrap();
    well_formed(&chart.svg);
    assert_eq!(chart.regions.len(), 4);
    let first: Vec<_> = chart
        .regions
        .iter()
        .filter(|r| r.start.as_deref() == Some("2026-11-23T00:00:00+00:00"))
        .collect();
    assert_eq!(first.len(), 2);
    // authentication is stacked first, at the bottom; authorization above it.
    let auth = first.iter().find(|r| r.key == "authentication").unwrap();
    let authz = first.iter().find(|r| r.key == "authorization").unwrap();
    assert!(authz.y < auth.y, "{authz:?} above {auth:?}");
    assert!((authz.y + authz.height - auth.y).abs() <= 1.0, "touching");
    assert!(auth.height > authz.height * 2.0, "5 vs 2");
    assert_eq!(auth.end.as_deref(), Some("2026-11-23T01:00:00+00:00"));
    for r in &chart.regions {
        assert!(
            r.x >= 0.0 && r.y >= 0.0 && r.x + r.width <= 800.0 && r.y + r.height <= 300.0,
            "{r:?}"
        );
    }
    // The last bucket is to the right of the first.
    let last = chart.regions.iter().find(|r| r.key == "bad_input").unwrap();
    assert!(last.x > auth.x + 600.0);
    // Each reason in its colour, and in the legend.
    assert!(chart.svg.contains("#E69F00") || chart.svg.to_lowercase().contains("#e69f00"));
    assert!(chart.svg.contains("authentication\n"), "in the legend");
    assert!(chart.svg.contains("bad_input\n"));
}

#[test]
fn themes_change_text_not_series() {
    let s = summary(vec![(1, "authorization", 3)]);
    let light = blocked_over_time(&s, (600, 240), Theme::Light).unwrap();
    let dark = blocked_over_time(&s, (600, 240), Theme::Dark).unwrap();
    assert_ne!(light.svg, dark.svg);
    assert!(light.svg.to_uppercase().contains("#1F2937"));
    assert!(dark.svg.to_uppercase().contains("#E5E7EB"));
    for svg in [&light.svg, &dark.svg] {
        assert!(
            svg.to_uppercase().contains("#D55E00"),
            "the reason keeps its colour"
        );
    }
    assert_eq!(light.regions, dark.regions);
}

#[test]
fn an_empty_range_says_so() {
    let chart = blocked_over_time(&summary(vec![]), (600, 240), Theme::Dark).unwrap();
    well_formed(&chart.svg);
    assert!(chart.regions.is_empty());
    assert!(chart.svg.contains("No blocked requests in this range"));
}

#[test]
fn sizes_out_of_bounds_are_refused() {
    let s = summary(vec![]);
    for size in [(0, 100), (100, 100), (600, 20), (5000, 300), (600, 9000)] {
        assert!(
            matches!(
                blocked_over_time(&s, size, Theme::Light),
                Err(ChartError::Size)
            ),
            "{size:?}"
        );
        assert!(
            matches!(
                ranked_bars(&[], false, size, Theme::Light),
                Err(ChartError::Size)
            ),
            "{size:?}"
        );
    }
}

#[test]
fn degenerate_summaries_do_not_break_the_picture() {
    let mut s = summary(vec![(0, "authentication", u64::MAX / 4)]);
    s.bucket_seconds = 0;
    well_formed(&blocked_over_time(&s, (600, 240), Theme::Light).unwrap().svg);
    let mut s = summary(vec![(0, "something_new", 3)]);
    s.to = s.from;
    let chart = blocked_over_time(&s, (600, 240), Theme::Light).unwrap();
    well_formed(&chart.svg);
    assert_eq!(chart.regions[0].key, "something_new");
}

fn rows(pairs: &[(&str, u64)]) -> Vec<CountBy> {
    pairs
        .iter()
        .map(|(k, c)| CountBy {
            key: (*k).into(),
            count: *c,
        })
        .collect()
}

#[test]
fn ranked_rows_run_top_down_with_their_counts() {
    let r = rows(&[("10.0.0.1", 40), ("10.0.0.2", 20), ("192.0.2.9", 5)]);
    let chart = ranked_bars(&r, false, (500, 200), Theme::Light).unwrap();
    well_formed(&chart.svg);
    assert_eq!(chart.regions.len(), 3);
    assert!(chart.regions[0].y < chart.regions[1].y && chart.regions[1].y < chart.regions[2].y);
    assert!(chart.regions[0].width > chart.regions[1].width * 1.8);
    assert_eq!(chart.regions[2].key, "192.0.2.9");
    for label in ["10.0.0.1", "192.0.2.9", "\n40\n", "\n5\n"] {
        assert!(chart.svg.contains(label), "{label}");
    }
}

#[test]
fn labels_from_requests_are_escaped_and_cut() {
    let hostile = "/v1/<script>alert(1)</script>&x";
    let long = "a".repeat(200);
    let chart = ranked_bars(
        &rows(&[(hostile, 3), (&long, 2)]),
        false,
        (500, 200),
        Theme::Dark,
    )
    .unwrap();
    assert!(!chart.svg.contains("<script>"), "escaped");
    assert!(chart.svg.contains("&lt;script&gt;"));
    assert!(!chart.svg.contains(&long), "cut");
    assert!(chart.svg.contains('…'));
    // The region keeps the whole key, for filtering.
    assert_eq!(chart.regions[0].key, hostile);
    assert_eq!(chart.regions[1].key, long);
}

#[test]
fn reasons_keep_their_colours_in_ranked_bars() {
    let chart = ranked_bars(
        &rows(&[("authorization", 4), ("bad_input", 1)]),
        true,
        (400, 160),
        Theme::Light,
    )
    .unwrap();
    let svg = chart.svg.to_uppercase();
    assert!(svg.contains("#D55E00") && svg.contains("#009E73"));
    let empty = ranked_bars(&[], false, (400, 160), Theme::Light).unwrap();
    assert!(empty.svg.contains("Nothing to show"));
}

#[test]
fn small_counts_get_whole_number_ticks_only() {
    assert_eq!(crate::count_label(&2.0), "2");
    assert_eq!(crate::count_label(&1.5), "");
    assert_eq!(crate::count_label(&-1.0), "");
    let chart = ranked_bars(
        &rows(&[("a", 2), ("b", 1)]),
        false,
        (400, 120),
        Theme::Light,
    )
    .unwrap();
    // Each whole number appears once as a tick (the bars' own labels aside).
    let ticks = |n: &str| chart.svg.matches(&format!(">{n}</text>")).count();
    assert!(ticks("1") <= 2 && ticks("2") <= 2, "{}", chart.svg);
}
