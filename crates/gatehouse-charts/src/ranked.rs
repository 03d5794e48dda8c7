//! A ranked list as horizontal bars: top sources, identities, routes, reasons.

use gatehouse_types::CountBy;
use plotters::prelude::*;

use crate::theme::reason_colour;
use crate::{check_size, draw_error, Chart, ChartError, Region, Theme};

/// The most rows drawn.
const MAX_ROWS: usize = 100;
/// Labels longer than this are cut, with an ellipsis (the region keeps the key).
const MAX_LABEL: usize = 36;
/// Roughly the width of a 12 px sans-serif character.
const CHAR_PX: u32 = 7;

fn cut(label: &str, max: usize) -> String {
    match label.char_indices().nth(max.min(MAX_LABEL)) {
        Some((i, _)) => format!("{}…", &label[..i]),
        None => label.to_owned(),
    }
}

/// One bar per row, in the given order from the top, its count at its end. Bars
/// are coloured by reason when `by_reason`, else all in the theme's accent.
pub fn ranked_bars(
    rows: &[CountBy],
    by_reason: bool,
    size: (u32, u32),
    theme: Theme,
) -> Result<Chart, ChartError> {
    check_size(size)?;
    let rows = &rows[..rows.len().min(MAX_ROWS)];
    let n = rows.len().max(1);
    let max = rows.iter().map(|r| r.count).max().unwrap_or(0);
    let x_top = ((max as f64) * 1.2).max(1.0);
    let label_width = (size.0 / 3).clamp(60, 260);
    let max_chars = usize::try_from((label_width.saturating_sub(24)) / CHAR_PX)
        .unwrap_or(8)
        .max(4);
    let text = ("sans-serif", 12).into_font().color(&theme.text());
    let accent = RGBColor(0x00, 0x72, 0xb2);

    let mut svg = String::new();
    let mut regions = Vec::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(22)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0f64..x_top, 0f64..n as f64)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .light_line_style(TRANSPARENT)
            .bold_line_style(theme.grid())
            .axis_style(theme.muted())
            .label_style(text.clone())
            .x_labels(5)
            .x_label_formatter(&crate::count_label)
            .draw()
            .map_err(draw_error)?;
        for (i, row) in rows.iter().enumerate() {
            // The first row at the top.
            let y0 = (n - 1 - i) as f64 + 0.15;
            let y1 = y0 + 0.7;
            let colour = if by_reason {
                reason_colour(&row.key)
            } else {
                accent
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y0), (row.count as f64, y1)],
                    colour.filled(),
                )))
                .map_err(draw_error)?;
            let (px0, py1) = chart.backend_coord(&(0.0, y1));
            let (px1, py0) = chart.backend_coord(&(row.count as f64, y0));
            regions.push(Region {
                x: f64::from(px0),
                y: f64::from(py1),
                width: f64::from((px1 - px0).max(1)),
                height: f64::from((py0 - py1).max(1)),
                key: row.key.clone(),
                start: None,
                end: None,
                count: row.count,
            });
            let mid = (py0 + py1) / 2 + 4;
            root.draw(&Text::new(
                cut(&row.key, max_chars),
                (12, mid),
                text.clone(),
            ))
            .map_err(draw_error)?;
            root.draw(&Text::new(
                row.count.to_string(),
                (px1 + 6, mid),
                text.clone(),
            ))
            .map_err(draw_error)?;
        }
        if rows.is_empty() {
            root.draw(&Text::new(
                "Nothing to show",
                (
                    i32::try_from(size.0 / 2).unwrap_or(0) - 50,
                    i32::try_from(size.1 / 2).unwrap_or(0),
                ),
                ("sans-serif", 14).into_font().color(&theme.muted()),
            ))
            .map_err(draw_error)?;
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
