//! Blocked requests over time, stacked by reason.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use gatehouse_types::BlockedSummaryResponse;
use plotters::prelude::*;

use crate::theme::{reason_colour, reason_rank};
use crate::{check_size, draw_error, Chart, ChartError, Region, Theme};

/// The most buckets drawn (the server allows up to 10,000).
const MAX_BUCKETS: usize = 10_000;

fn label_format(span: Duration) -> &'static str {
    if span <= Duration::days(1) {
        "%H:%M"
    } else if span <= Duration::days(7) {
        "%a %H:%M"
    } else {
        "%b %d"
    }
}

/// One bar per time bucket of `summary`, its segments the reasons (in a fixed
/// order, each in its own colour), with a legend. Buckets outside the range are
/// ignored; an empty range says so.
pub fn blocked_over_time(
    summary: &BlockedSummaryResponse,
    size: (u32, u32),
    theme: Theme,
) -> Result<Chart, ChartError> {
    check_size(size)?;
    let bucket = Duration::seconds(
        i64::try_from(summary.bucket_seconds.max(1)).unwrap_or(i64::MAX / 2_000_000),
    );
    let span = summary.to - summary.from;
    let n = usize::try_from(
        ((span.num_seconds() + bucket.num_seconds() - 1) / bucket.num_seconds().max(1)).max(1),
    )
    .unwrap_or(1)
    .min(MAX_BUCKETS);
    let start_of = |i: usize| summary.from + bucket * i32::try_from(i).unwrap_or(i32::MAX);

    // counts[reason][bucket]
    let mut counts: BTreeMap<(usize, String), (String, Vec<u64>)> = BTreeMap::new();
    let mut totals = vec![0u64; n];
    for b in &summary.buckets {
        let offset = (b.start - summary.from).num_seconds();
        if offset < 0 {
            continue;
        }
        let Ok(i) = usize::try_from(offset / bucket.num_seconds().max(1)) else {
            continue;
        };
        if i >= n {
            continue;
        }
        let entry = counts
            .entry(reason_rank(&b.reason))
            .or_insert_with(|| (b.reason.clone(), vec![0; n]));
        entry.1[i] += b.count;
        totals[i] += b.count;
    }
    let max = totals.iter().copied().max().unwrap_or(0);
    let y_top = ((max as f64) * 1.15).max(1.0);
    let format = label_format(span);

    let mut svg = String::new();
    let mut regions = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let text = ("sans-serif", 12).into_font().color(&theme.text());
        // The legend runs along the top, above the bars it names.
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .margin_top(if counts.is_empty() { 10 } else { 30 })
            .x_label_area_size(26)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..n as f64, 0f64..y_top)
            .map_err(draw_error)?;
        let label_of = |x: &f64| -> String {
            let i = x.max(0.0) as usize;
            let t: DateTime<Utc> = start_of(i);
            t.format(format).to_string()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(theme.grid())
            .axis_style(theme.muted())
            .label_style(text.clone())
            .x_labels(6)
            .y_labels(5)
            .x_label_formatter(&label_of)
            .y_label_formatter(&crate::count_label)
            .draw()
            .map_err(draw_error)?;

        let mut base = vec![0u64; n];
        for (reason, series) in counts.values() {
            let colour = reason_colour(reason);
            let mut bars = Vec::new();
            for (i, &c) in series.iter().enumerate() {
                if c == 0 {
                    continue;
                }
                let (x0, x1) = (i as f64 + 0.12, i as f64 + 0.88);
                let (y0, y1) = (base[i] as f64, (base[i] + c) as f64);
                base[i] += c;
                let (px0, py1) = chart.backend_coord(&(x0, y1));
                let (px1, py0) = chart.backend_coord(&(x1, y0));
                regions.push(Region {
                    x: f64::from(px0),
                    y: f64::from(py1),
                    width: f64::from((px1 - px0).max(1)),
                    height: f64::from((py0 - py1).max(1)),
                    key: reason.clone(),
                    start: Some(start_of(i).to_rfc3339()),
                    end: Some(start_of(i + 1).min(summary.to).to_rfc3339()),
                    count: c,
                });
                bars.push(Rectangle::new([(x0, y0), (x1, y1)], colour.filled()));
            }
            chart.draw_series(bars).map_err(draw_error)?;
        }
        if counts.is_empty() {
            let (w, h) = size;
            root.draw(&Text::new(
                "No blocked requests in this range",
                (
                    i32::try_from(w / 2).unwrap_or(0) - 100,
                    i32::try_from(h / 2).unwrap_or(0),
                ),
                ("sans-serif", 14).into_font().color(&theme.muted()),
            ))
            .map_err(draw_error)?;
        } else {
            let mut x = 58;
            for (reason, _) in counts.values() {
                root.draw(&Rectangle::new(
                    [(x, 9), (x + 10, 19)],
                    reason_colour(reason).filled(),
                ))
                .map_err(draw_error)?;
                root.draw(&Text::new(reason.clone(), (x + 15, 14), text.clone()))
                    .map_err(draw_error)?;
                x += 30 + i32::try_from(reason.chars().count() * 7).unwrap_or(0);
            }
        }
        root.present().map_err(draw_error)?;
    }
    Ok(Chart {
        svg,
        width: size.0,
        height: size.1,
        regions,
    })
}
