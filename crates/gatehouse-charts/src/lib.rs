//! Gatehouse's charts (PRODUCT.md CO-5): pure functions from data to an SVG
//! picture, drawn with plotters, plus the rectangles a click can land on, so the
//! console can open the audit trail filtered to what was clicked.
//!
//! No I/O, no fonts: text is SVG `<text>` the web view renders, sized with
//! plotters' own estimate. Colours stay legible on light and dark backgrounds:
//! the series use the Okabe–Ito palette (distinguishable with the common colour
//! vision deficiencies), and text and grid lines follow the [`Theme`].
//! It must never embed input unescaped: labels come from requests (routes,
//! identities) and plotters escapes them.

mod blocked;
mod ranked;
mod theme;

pub use blocked::blocked_over_time;
pub use ranked::ranked_bars;
pub use theme::{reason_colour, Theme};

use serde::{Deserialize, Serialize};

/// A drawn chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Chart {
    /// A complete `<svg>` document, `width` × `height` pixels.
    pub svg: String,
    pub width: u32,
    pub height: u32,
    /// What each bar covers, in the SVG's pixels.
    pub regions: Vec<Region>,
}

/// A bar: where it is and what it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Region {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// The series (a reason) or the row (a source, identity or route).
    pub key: String,
    /// For time charts: the bucket's start, RFC 3339.
    pub start: Option<String>,
    /// For time charts: the bucket's end (exclusive), RFC 3339.
    pub end: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A size too small to draw in, or too large to be sensible.
    #[error("a chart must be 120 to 4000 pixels wide and 80 to 4000 high")]
    Size,
    #[error("drawing failed: {0}")]
    Draw(String),
}

pub(crate) fn check_size((w, h): (u32, u32)) -> Result<(), ChartError> {
    if (120..=4000).contains(&w) && (80..=4000).contains(&h) {
        Ok(())
    } else {
        Err(ChartError::Size)
    }
}

pub(crate) fn draw_error<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

#[cfg(test)]
mod tests;

/// A count axis's tick label: whole numbers only. For small counts the axis's
/// ticks fall between them (0.5, 1.5); those stay unlabelled rather than
/// rounding to a second "1".
pub(crate) fn count_label(v: &f64) -> String {
    if v.is_finite() && *v >= 0.0 && (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as u64)
    } else {
        String::new()
    }
}
