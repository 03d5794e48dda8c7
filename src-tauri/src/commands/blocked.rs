//! The blocked-request dashboard (CO-5): the summary and its charts, drawn on
//! the Rust side (gatehouse-charts) for the window's theme and width.

use gatehouse_charts::{blocked_over_time, ranked_bars, Chart, Theme};
use gatehouse_client::BlockedSummaryQuery;
use gatehouse_types::{ApiError, BlockedSummaryResponse, CountBy, ErrorCode};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

use super::{connected_client, parse_time};
use crate::error::{from_client, local};
use crate::state::ConsoleState;

/// What the dashboard shows for one time range.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
pub struct BlockedDashboard {
    pub summary: BlockedSummaryResponse,
    pub over_time: Chart,
    pub by_reason: Chart,
    pub top_sources: Chart,
    pub top_identities: Chart,
    pub top_routes: Chart,
    /// The gateway's refusals by bot verdict.
    pub by_bot: Chart,
    /// The WAF rules that decided the most blocks, each with what it guards.
    pub top_waf_rules: Chart,
    /// The honeypot decoys hit the most.
    pub top_decoys: Chart,
}

/// A CRS rule id with what it guards against (`942100 · SQL injection`).
fn rule_label(id: &str) -> String {
    match gatehouse_types::crs_rule_family(id) {
        Some(family) => format!("{id} · {family}"),
        None => id.to_owned(),
    }
}

fn chart_error(e: gatehouse_charts::ChartError) -> ApiError {
    local(ErrorCode::InvalidInput, e.to_string())
}

#[tauri::command]
pub async fn get_blocked_dashboard(
    state: State<'_, ConsoleState>,
    from: Option<String>,
    to: Option<String>,
    theme: Theme,
    width: u32,
) -> Result<BlockedDashboard, ApiError> {
    let query = BlockedSummaryQuery {
        from: parse_time("from", from)?,
        to: parse_time("to", to)?,
        bucket_seconds: None,
        top: Some(10),
    };
    let client = connected_client(&state).await?;
    let summary = client.blocked_summary(&query).await.map_err(from_client)?;
    // `width` is the page's; each chart sits in a card (16 px padding and a border
    // on each side), the ranked ones two to a row with a 16 px gap.
    let width = width.clamp(360, 2400);
    let full = width - 34;
    let half = ((width - 16) / 2).saturating_sub(34).max(160);
    let rows = |n: usize| u32::try_from(48 + 28 * n.max(2)).unwrap_or(300).min(2000);
    let rules: Vec<CountBy> = summary
        .top_waf_rules
        .iter()
        .map(|c| CountBy {
            key: rule_label(&c.key),
            count: c.count,
        })
        .collect();
    Ok(BlockedDashboard {
        over_time: blocked_over_time(&summary, (full, 280), theme).map_err(chart_error)?,
        by_reason: ranked_bars(
            &summary.by_reason,
            true,
            (half, rows(summary.by_reason.len())),
            theme,
        )
        .map_err(chart_error)?,
        top_sources: ranked_bars(
            &summary.top_sources,
            false,
            (half, rows(summary.top_sources.len())),
            theme,
        )
        .map_err(chart_error)?,
        top_identities: ranked_bars(
            &summary.top_identities,
            false,
            (half, rows(summary.top_identities.len())),
            theme,
        )
        .map_err(chart_error)?,
        top_routes: ranked_bars(
            &summary.top_routes,
            false,
            (half, rows(summary.top_routes.len())),
            theme,
        )
        .map_err(chart_error)?,
        by_bot: ranked_bars(
            &summary.by_bot,
            false,
            (half, rows(summary.by_bot.len())),
            theme,
        )
        .map_err(chart_error)?,
        // Full width: a rule's label names its CRS family too.
        top_waf_rules: ranked_bars(&rules, false, (full, rows(rules.len())), theme)
            .map_err(chart_error)?,
        top_decoys: ranked_bars(
            &summary.top_decoys,
            false,
            (half, rows(summary.top_decoys.len())),
            theme,
        )
        .map_err(chart_error)?,
        summary,
    })
}
