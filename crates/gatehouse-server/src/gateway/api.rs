//! The gateway's API (GW-7, GW-9): its inventory and WAF, the WAF's settings
//! changed (audited with before and after; a configuration that does not load
//! changes nothing), the flagged sources, and the "why" of any request from
//! its audit record.

use gatehouse_gateway::waf::{RuleExclusion, WafMode, WafSettings};
use gatehouse_gateway::Gateway;
use gatehouse_store::{AuditFilter, Page};
use gatehouse_types::{
    BlockedWhyResponse, ErrorCode, FlaggedSource, FlaggedSourcesResponse, GatewayResponse,
    GatewayRoute, UpdateWafRequest, WafExclusion, WafStatus, WhyDecision, WhyRule,
};
use serde_json::Value;

use crate::app::AppState;
use crate::clock::from_micros;
use crate::error::ApiFailure;

fn mode_str(mode: WafMode) -> &'static str {
    match mode {
        WafMode::Off => "off",
        WafMode::DetectOnly => "detect_only",
        WafMode::Blocking => "blocking",
    }
}

fn waf_status(gateway: &Gateway) -> WafStatus {
    let (settings, generation) = gateway.waf().settings();
    WafStatus {
        engine: gateway.waf().name(),
        mode: mode_str(settings.mode).to_owned(),
        paranoia_level: settings.paranoia_level,
        inbound_threshold: settings.inbound_threshold,
        outbound_threshold: settings.outbound_threshold,
        generation,
        exclusions: settings
            .exclusions
            .iter()
            .map(|e| WafExclusion {
                path_prefix: e.path_prefix.clone(),
                rule_id: e.rule_id,
                note: e.note.clone(),
            })
            .collect(),
    }
}

fn not_running() -> ApiFailure {
    ApiFailure::new(
        ErrorCode::NotFound,
        "this server runs no gateway (configure [gateway])",
    )
}

/// The inventory: every route with its last minute, the WAF, the decoys.
pub fn inventory(state: &AppState) -> GatewayResponse {
    let Some(gateway) = state.gateway.get() else {
        return GatewayResponse {
            is_running: false,
            listen: None,
            routes: Vec::new(),
            waf: None,
            decoys: Vec::new(),
            denied_tls_fingerprints: Vec::new(),
        };
    };
    let config = gateway.config();
    GatewayResponse {
        is_running: true,
        listen: Some(config.listen.to_string()),
        routes: gateway
            .routes()
            .into_iter()
            .map(|s| GatewayRoute {
                name: s.route.name,
                path_prefix: s.route.path_prefix,
                upstreams: s.route.upstreams,
                exposure: s.route.exposure.as_str().to_owned(),
                classification: s.route.classification.as_str().to_owned(),
                description: s.route.description,
                is_signup: s.route.is_signup,
                is_anonymous: s.route.is_anonymous,
                max_body_bytes: s.route.max_body_bytes,
                content_types: s.route.content_types,
                rate_per_minute: s
                    .route
                    .rate_per_minute
                    .unwrap_or(config.rate.per_source_per_minute),
                identity_rate_per_minute: s
                    .route
                    .identity_rate_per_minute
                    .unwrap_or(config.rate.per_identity_per_minute),
                requests_last_minute: s.requests_last_minute,
                blocked_last_minute: s.blocked_last_minute,
            })
            .collect(),
        waf: Some(waf_status(gateway)),
        decoys: config.honeypots.paths.clone(),
        denied_tls_fingerprints: config.bots.deny_tls_fingerprints.clone(),
    }
}

/// A change of the WAF's settings, loaded and in force: what was, what is,
/// and the settings to keep.
pub struct WafChange {
    pub before: WafStatus,
    pub after: WafStatus,
    pub previous: WafSettings,
    pub settings: WafSettings,
}

/// Loads the WAF's next settings (in force once this returns).
pub async fn update_waf(
    state: &AppState,
    request: UpdateWafRequest,
) -> Result<WafChange, ApiFailure> {
    let gateway = state.gateway.get().ok_or_else(not_running)?;
    let before = waf_status(gateway);
    if request.base_generation != before.generation {
        return Err(ApiFailure::new(
            ErrorCode::Conflict,
            "the WAF's settings changed since you read them; read them again",
        ));
    }
    let mode = match request.mode.as_str() {
        "off" => WafMode::Off,
        "detect_only" => WafMode::DetectOnly,
        "blocking" => WafMode::Blocking,
        _ => {
            return Err(ApiFailure::new(
                ErrorCode::ValidationFailed,
                "mode: off, detect_only or blocking",
            ))
        }
    };
    let (current, _) = gateway.waf().settings();
    let previous = current.clone();
    let next = WafSettings {
        mode,
        paranoia_level: request.paranoia_level,
        inbound_threshold: request.inbound_threshold,
        outbound_threshold: request.outbound_threshold,
        exclusions: request
            .exclusions
            .into_iter()
            .map(|e| RuleExclusion {
                path_prefix: e.path_prefix,
                rule_id: e.rule_id,
                note: e.note.chars().take(500).collect(),
            })
            .collect(),
        ..current
    };
    next.check()
        .map_err(|e| ApiFailure::new(ErrorCode::ValidationFailed, e))?;
    gateway.waf().reconfigure(next.clone()).await.map_err(|e| {
        ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!("the WAF did not load these settings; the previous ones stay: {e}"),
        )
    })?;
    Ok(WafChange {
        before,
        after: waf_status(gateway),
        previous,
        settings: next,
    })
}

/// Keeps `change` as the next stored version, with the request's record; if it
/// cannot be kept, the previous settings are put back in force.
pub async fn keep_waf(
    state: &AppState,
    change: WafChange,
    recorder: crate::pipeline::ChangeRecord<'_>,
    author: String,
) -> Result<WafStatus, ApiFailure> {
    use crate::pipeline::RecordChange;
    let now_us = crate::clock::to_micros(state.clock.now());
    let kept = async {
        let latest = state.store.waf_settings().latest_waf_settings().await?;
        let row = gatehouse_store::WafSettingsRow {
            version: latest.map_or(1, |r| r.version + 1),
            settings: serde_json::to_string(&change.settings)
                .map_err(|_| ApiFailure::internal())?,
            author,
            created_at_us: now_us,
        };
        let record = recorder.record(
            now_us,
            ("gateway", "waf"),
            Some(serde_json::json!(change.before)),
            Some(serde_json::json!(change.after)),
        );
        state
            .store
            .waf_settings()
            .create_waf_settings(&row, &record, recorder.sealer())
            .await?;
        Ok::<_, ApiFailure>(())
    }
    .await;
    if let Err(e) = kept {
        if let Some(gateway) = state.gateway.get() {
            let _ = gateway.waf().reconfigure(change.previous).await;
        }
        return Err(e);
    }
    Ok(change.after)
}

/// The WAF's settings to start with: the newest stored version's, over the
/// configuration file's (whose rule set location and body limit stay).
pub async fn stored_waf(state: &AppState, configured: &WafSettings) -> WafSettings {
    match state.store.waf_settings().latest_waf_settings().await {
        Ok(Some(row)) => match serde_json::from_str::<WafSettings>(&row.settings) {
            Ok(stored) => {
                tracing::info!(
                    version = row.version,
                    "the WAF's settings: the stored version"
                );
                WafSettings {
                    crs_dir: configured.crs_dir.clone(),
                    max_body_bytes: configured.max_body_bytes,
                    ..stored
                }
            }
            Err(e) => {
                tracing::error!(error = %e, version = row.version, "a stored WAF version does not read; the configured settings apply");
                configured.clone()
            }
        },
        Ok(None) => configured.clone(),
        Err(e) => {
            tracing::error!(error = %e, "the stored WAF settings cannot be read; the configured settings apply");
            configured.clone()
        }
    }
}

/// The sources the honeypots flagged, newest first.
pub fn flagged(state: &AppState) -> Result<FlaggedSourcesResponse, ApiFailure> {
    let gateway = state.gateway.get().ok_or_else(not_running)?;
    let now_us = crate::clock::to_micros(state.clock.now());
    Ok(FlaggedSourcesResponse {
        items: gateway
            .honeypots()
            .list(now_us)
            .into_iter()
            .map(|f| FlaggedSource {
                source: f.source.to_string(),
                path: f.path,
                flagged_at: from_micros(f.flagged_at_us),
                until: from_micros(f.until_us),
                refused: f.refused,
            })
            .collect(),
    })
}

/// Lifts the flag on `source`; whether there was one.
pub fn unflag(state: &AppState, source: &str) -> Result<bool, ApiFailure> {
    let gateway = state.gateway.get().ok_or_else(not_running)?;
    let ip: std::net::IpAddr = source.trim().parse().map_err(|_| {
        ApiFailure::new(
            ErrorCode::InvalidParameter,
            "source: an IPv4 or IPv6 address",
        )
    })?;
    Ok(gateway.honeypots().unflag(ip))
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The "why" of a request: its audit record, read stage by stage.
pub async fn why(state: &AppState, request_id: &str) -> Result<BlockedWhyResponse, ApiFailure> {
    let filter = AuditFilter {
        request_id: Some(request_id.to_owned()),
        page: Page::Newest { before: None },
        ..AuditFilter::default()
    };
    let rows = state.store.audit().search(&filter, 10).await?;
    // The request's own record: the one with the request's action, not a
    // record a handler committed beside it.
    let stored = rows
        .into_iter()
        .next()
        .ok_or_else(|| ApiFailure::not_found("request"))?;
    let record = &stored.record;
    let details: Value = record
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let is_gateway = details
        .get("gateway")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let decision = details.get("access_decision").map(|d| WhyDecision {
        decision: text(d, "decision").unwrap_or_default(),
        policies: strings(d.get("policies")),
        reason: text(d, "reason"),
        errors: strings(d.get("errors")),
        policy_version: d.get("policy_version").and_then(Value::as_u64),
    });
    let waf = details.get("waf");
    let waf_rules: Vec<WhyRule> = waf
        .and_then(|w| w.get("rules"))
        .and_then(|r| serde_json::from_value::<Vec<WhyRule>>(r.clone()).ok())
        .unwrap_or_default();
    let waf_verdict = waf.map(|w| {
        if w.get("blocked").and_then(Value::as_bool).unwrap_or(false) {
            "blocked"
        } else if w
            .get("would_block")
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            "would_block"
        } else {
            "passed"
        }
        .to_owned()
    });
    let rate = details.get("rate");
    let number = |key: &str| rate.and_then(|r| r.get(key)).and_then(Value::as_f64);
    let quota = |key: &str| {
        rate.and_then(|r| r.get(key))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let status = u16::try_from(record.status).ok().filter(|s| *s > 0);
    let reason = text(&details, "blocked").or_else(|| {
        let code = text(&details, "error")?;
        let code: ErrorCode = serde_json::from_value(Value::String(code)).ok()?;
        code.block_reason(record.action != "route.unknown")
            .map(str::to_owned)
    });
    Ok(BlockedWhyResponse {
        request_id: record.request_id.clone(),
        time: from_micros(record.time_us),
        is_gateway,
        source_ip: record.source_ip.clone(),
        method: text(&details, "method").unwrap_or_default(),
        path: text(&details, "path").unwrap_or_default(),
        route: if is_gateway {
            record.resource_id.clone()
        } else {
            record.action.clone()
        },
        status,
        reason,
        detail: text(&details, "detail").or_else(|| text(&details, "rejected_because")),
        actor_kind: record.actor_kind.clone(),
        actor_id: record.actor_id.clone(),
        actor_name: record.actor_name.clone(),
        token_check: text(&details, "token_check").or_else(|| text(&details, "rejected_because")),
        decision,
        waf_verdict,
        waf_anomaly_score: waf
            .and_then(|w| w.get("anomaly_score"))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()),
        waf_rules,
        bot: details.get("bot").and_then(|b| text(b, "verdict")),
        tls_fingerprint: details.get("bot").and_then(|b| text(b, "tls_fingerprint")),
        matched: details.get("bot").and_then(|b| text(b, "matched")),
        bot_score: details
            .get("bot")
            .and_then(|b| b.get("score"))
            .and_then(Value::as_u64)
            .and_then(|n| u8::try_from(n).ok()),
        rate_source_count: number("source_count"),
        rate_source_quota: quota("source_quota"),
        rate_identity_count: number("identity_count"),
        rate_identity_quota: quota("identity_quota"),
        audit_seq: stored.seq,
    })
}
