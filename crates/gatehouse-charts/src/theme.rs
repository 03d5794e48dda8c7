//! Colours.

use gatehouse_types::BLOCK_REASONS;
use plotters::style::RGBColor;
use serde::{Deserialize, Serialize};

/// The console's theme: text and grid colours follow it; series colours do not
/// (they are chosen to read on both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub(crate) fn text(self) -> RGBColor {
        match self {
            Theme::Light => RGBColor(0x1f, 0x29, 0x37),
            Theme::Dark => RGBColor(0xe5, 0xe7, 0xeb),
        }
    }

    pub(crate) fn muted(self) -> RGBColor {
        match self {
            Theme::Light => RGBColor(0x6b, 0x72, 0x80),
            Theme::Dark => RGBColor(0x9c, 0xa3, 0xaf),
        }
    }

    pub(crate) fn grid(self) -> RGBColor {
        match self {
            Theme::Light => RGBColor(0xe5, 0xe7, 0xeb),
            Theme::Dark => RGBColor(0x37, 0x41, 0x51),
        }
    }
}

/// Each reason's colour, the same in every chart (Okabe–Ito's eight, then
/// Tol's wine and a grey: nine reasons).
pub fn reason_colour(reason: &str) -> RGBColor {
    match reason {
        "authentication" => RGBColor(0xe6, 0x9f, 0x00),
        "authorization" => RGBColor(0xd5, 0x5e, 0x00),
        "rate_limit" => RGBColor(0x00, 0x72, 0xb2),
        "bad_input" => RGBColor(0x00, 0x9e, 0x73),
        "unknown_route" => RGBColor(0xcc, 0x79, 0xa7),
        "waf" => RGBColor(0x56, 0xb4, 0xe9),
        "bot" => RGBColor(0xf0, 0xe4, 0x42),
        "honeypot" => RGBColor(0x88, 0x22, 0x55),
        "timeout" => RGBColor(0x99, 0x99, 0x99),
        _ => RGBColor(0x66, 0x66, 0x66),
    }
}

/// Where a reason sorts: the known ones in [`BLOCK_REASONS`] order, then the rest by name.
pub(crate) fn reason_rank(reason: &str) -> (usize, String) {
    match BLOCK_REASONS.iter().position(|r| *r == reason) {
        Some(i) => (i, String::new()),
        None => (BLOCK_REASONS.len(), reason.to_owned()),
    }
}
