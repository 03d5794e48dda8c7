//! `/v1/policies/*` and `POST /v1/authorize` (AZ-1, AZ-4, AZ-5, AZ-9): the
//! versioned Cedar policy set, validation, diff, rollback, simulation, the
//! permissions matrix, and decisions for services.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_authz::{check_request, diff, first_problem, parse_policies, Action, Engine};
use gatehouse_store::{PolicyVersionRow, PolicyWrite};
use gatehouse_types::{
    AuthorizeRequest, AuthorizeResponse, CreatePolicyVersionRequest, ErrorCode, PolicyDiffResponse,
    PolicyInfo, PolicySchemaResponse, PolicyVersionPage, PolicyVersionResponse,
    PolicyVersionSummary, RollbackPoliciesRequest, SimulateRequest, SimulateResponse,
    ValidatePoliciesRequest, ValidatePoliciesResponse, MAX_POLICY_REASON_LEN,
};
use serde::Deserialize;

use super::audit::parse_cursor;
use crate::app::AppState;
use crate::authz::{sha256, version_value, ActivePolicies};
use crate::clock::from_micros;
use crate::decisions;
use crate::error::ApiFailure;
use crate::pipeline::{ApiJson, ApiQuery, Audit, Caller, PathVersion, Principal, RecordChange};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiFailure {
    ApiFailure::new(ErrorCode::InvalidParameter, message)
}

fn to_wire(row: &PolicyVersionRow, policies: &[PolicyInfo]) -> PolicyVersionResponse {
    PolicyVersionResponse {
        version: u64::try_from(row.version).unwrap_or(0),
        author: row.author.clone(),
        reason: row.reason.clone(),
        created_at: from_micros(row.created_at_us),
        rolled_back_from: row.rolled_back_from.and_then(|v| u64::try_from(v).ok()),
        sha256: hex::encode(&row.sha256),
        text: row.text.clone(),
        policies: policies.to_vec(),
    }
}

fn summary(row: &PolicyVersionRow) -> PolicyVersionSummary {
    PolicyVersionSummary {
        version: u64::try_from(row.version).unwrap_or(0),
        author: row.author.clone(),
        reason: row.reason.clone(),
        created_at: from_micros(row.created_at_us),
        rolled_back_from: row.rolled_back_from.and_then(|v| u64::try_from(v).ok()),
        sha256: hex::encode(&row.sha256),
    }
}

/// `GET /v1/policies`: the active version.
pub async fn active(State(state): State<AppState>) -> Json<PolicyVersionResponse> {
    let active = state.policies.current();
    Json(to_wire(&active.row, active.engine.policies()))
}

/// `GET /v1/policies/schema`.
pub async fn schema(State(state): State<AppState>) -> Json<PolicySchemaResponse> {
    Json(gatehouse_authz::schema_response(&state.policies.catalog()))
}

/// `POST /v1/policies/validate`: every problem, located; changes nothing.
pub async fn validate(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ValidatePoliciesRequest>,
) -> Result<Json<ValidatePoliciesResponse>, ApiFailure> {
    let parsed = state
        .policies
        .off_workers(move |catalog| parse_policies(catalog, &request.text))
        .await?;
    Ok(Json(match parsed {
        Ok(parsed) => ValidatePoliciesResponse {
            is_valid: true,
            problems: Vec::new(),
            warnings: parsed.warnings,
            policies: parsed.policies,
        },
        Err(problems) => ValidatePoliciesResponse {
            is_valid: false,
            problems,
            warnings: Vec::new(),
            policies: Vec::new(),
        },
    }))
}

/// Parses, validates and compiles policy text off the async workers; a text
/// that does not validate is `invalid_policy`: `refusal`, then the first problem.
async fn compile(
    state: &AppState,
    text: String,
    refusal: &'static str,
) -> Result<Engine, ApiFailure> {
    state
        .policies
        .off_workers(move |catalog| {
            let parsed = parse_policies(catalog, &text).map_err(|problems| {
                ApiFailure::new(
                    ErrorCode::InvalidPolicy,
                    format!("{refusal}: {}", first_problem(&problems)),
                )
            })?;
            Engine::new(catalog, parsed).map_err(|_| ApiFailure::internal())
        })
        .await?
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionsQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

/// `GET /v1/policies/versions`: newest first.
pub async fn versions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<VersionsQuery>,
) -> Result<Json<PolicyVersionPage>, ApiFailure> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(invalid(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    let before = parse_cursor(q.cursor.as_deref())?;
    let rows = state.store.policies().list(before, limit).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() == limit as usize => Some(last.version.to_string()),
        _ => None,
    };
    Ok(Json(PolicyVersionPage {
        items: rows.iter().map(summary).collect(),
        next_cursor,
    }))
}

fn parse_version(name: &str, value: &str) -> Result<u64, ApiFailure> {
    value
        .parse::<u64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| invalid(format!("{name} must be a version number (1 or more)")))
}

async fn find(state: &AppState, version: u64) -> Result<PolicyVersionRow, ApiFailure> {
    state.store.policies().find(version).await?.ok_or_else(|| {
        ApiFailure::new(
            ErrorCode::NotFound,
            format!("there is no policy version {version}"),
        )
    })
}

/// `GET /v1/policies/versions/{n}`.
pub async fn version(
    State(state): State<AppState>,
    PathVersion(n): PathVersion,
) -> Result<Json<PolicyVersionResponse>, ApiFailure> {
    let row = find(&state, n).await?;
    Ok(Json(to_wire(&row, &policies_of(&state, &row))))
}

/// A stored version's policies. Every version validated when it was written; one
/// that no longer does under this release's schema is shown without them.
fn policies_of(state: &AppState, row: &PolicyVersionRow) -> Vec<PolicyInfo> {
    parse_policies(&state.policies.catalog(), &row.text)
        .map(|p| p.policies)
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /v1/policies/diff?from=N&to=M` (`to` defaults to the active version).
pub async fn diff(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<PolicyDiffResponse>, ApiFailure> {
    let from = parse_version(
        "from",
        q.from
            .as_deref()
            .ok_or_else(|| invalid("from is required"))?,
    )?;
    let to = match q.to.as_deref() {
        Some(t) => parse_version("to", t)?,
        None => state.policies.current().version(),
    };
    let (old, new) = (find(&state, from).await?, find(&state, to).await?);
    let (added, removed, changed) =
        diff::policy_changes(&policies_of(&state, &old), &policies_of(&state, &new));
    Ok(Json(PolicyDiffResponse {
        from,
        to,
        added,
        removed,
        changed,
        lines: diff::line_diff(&old.text, &new.text),
    }))
}

fn check_reason(reason: &str) -> Result<(), ApiFailure> {
    let n = reason.trim().chars().count();
    if n == 0 || reason.chars().count() > MAX_POLICY_REASON_LEN {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            format!("reason must be 1 to {MAX_POLICY_REASON_LEN} characters saying why"),
        ));
    }
    Ok(())
}

/// Refuses a set under which no active token could change policies again.
async fn check_lockout(state: &AppState, candidate: &Engine) -> Result<(), ApiFailure> {
    let now = state.clock.now();
    let tokens = state.store.api_tokens().list().await?;
    let now_us = now.timestamp_micros();
    let catalog = state.policies.catalog();
    let ctx = gatehouse_authz::CallContext::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        now.timestamp(),
    );
    let can_change = tokens
        .iter()
        .filter(|t| t.revoked_at_us.is_none() && t.expires_at_us > now_us)
        .any(|t| {
            let caller = gatehouse_authz::TokenCaller {
                id: t.id.to_string(),
                name: t.name.clone(),
                role: t.role.clone(),
                client: None,
                user: None,
            };
            candidate
                .decide_call(&catalog, &caller, Action::CreatePolicyVersion, None, &ctx)
                .is_allowed
        });
    if can_change {
        Ok(())
    } else {
        Err(ApiFailure::new(
            ErrorCode::PolicyLockout,
            "no active token could change policies under this set; keep a permit for policies.versions.create",
        ))
    }
}

/// Validates, checks for lock-out and appends a version with its audit record.
async fn write_version(
    state: &AppState,
    audit: &Audit,
    author: &Principal,
    text: String,
    reason: String,
    base_version: u64,
    rolled_back_from: Option<u64>,
) -> Result<PolicyVersionResponse, ApiFailure> {
    check_reason(&reason)?;
    let engine = compile(state, text.clone(), "the policies do not validate").await?;
    check_lockout(state, &engine).await?;
    let now = state.clock.now().timestamp_micros();
    let row = PolicyVersionRow {
        version: 0,
        sha256: sha256(&text),
        text,
        author: format!("{} ({})", author.name, author.id()),
        reason,
        created_at_us: now,
        rolled_back_from: rolled_back_from.and_then(|v| i64::try_from(v).ok()),
    };
    let row = audit
        .commit_change(&state.audit, StatusCode::CREATED, |change| async move {
            let record_of = |before: Option<&PolicyVersionRow>, after: &PolicyVersionRow| {
                change.record(
                    after.created_at_us,
                    ("policy_set", &after.version.to_string()),
                    before.map(version_value),
                    Some(version_value(after)),
                )
            };
            match state
                .store
                .policies()
                .create(&row, base_version, &record_of, change.sealer())
                .await?
            {
                PolicyWrite::Conflict { active } => Err(ApiFailure::new(
                    ErrorCode::Conflict,
                    format!("the active version is {active}, not {base_version}: someone changed the policies; start again from version {active}"),
                )),
                PolicyWrite::Created(row) => Ok(row),
            }
        })
        .await?;
    let response = to_wire(&row, engine.policies());
    state.policies.install(ActivePolicies { row, engine });
    Ok(response)
}

/// `POST /v1/policies/versions`: a new version, in effect from the next request.
pub async fn create_version(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<CreatePolicyVersionRequest>,
) -> Result<(StatusCode, Json<PolicyVersionResponse>), ApiFailure> {
    let created = write_version(
        &state,
        &audit,
        &caller,
        request.text,
        request.reason,
        request.base_version,
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `POST /v1/policies/rollback`: a new version with an old version's text.
pub async fn rollback(
    State(state): State<AppState>,
    Caller(caller): Caller,
    audit: Audit,
    ApiJson(request): ApiJson<RollbackPoliciesRequest>,
) -> Result<(StatusCode, Json<PolicyVersionResponse>), ApiFailure> {
    if request.to_version == 0 {
        return Err(ApiFailure::new(
            ErrorCode::ValidationFailed,
            "to_version must be 1 or more",
        ));
    }
    let old = find(&state, request.to_version).await?;
    audit.detail("rollback_to", serde_json::json!(request.to_version));
    let created = write_version(
        &state,
        &audit,
        &caller,
        old.text,
        request.reason,
        request.base_version,
        Some(request.to_version),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

fn request_error(message: String) -> ApiFailure {
    ApiFailure::new(ErrorCode::ValidationFailed, message)
}

/// `POST /v1/policies/simulate`: one request against the active set or a draft.
pub async fn simulate(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SimulateRequest>,
) -> Result<Json<SimulateResponse>, ApiFailure> {
    let catalog = state.policies.catalog();
    let prepared =
        check_request(&catalog, &request.request).map_err(|e| request_error(e.to_string()))?;
    let (version, result) = match &request.draft {
        Some(text) => {
            let engine = compile(&state, text.clone(), "the draft does not validate").await?;
            (None, engine.decide(&prepared))
        }
        None => {
            let active = state.policies.current();
            (Some(active.version()), active.engine.decide(&prepared))
        }
    };
    Ok(Json(SimulateResponse {
        version,
        result: result.into(),
    }))
}

/// `POST /v1/authorize`: a batch of decisions for services; a request that
/// cannot be asked gets its own error, the rest are still answered.
pub async fn authorize(
    State(state): State<AppState>,
    audit: Audit,
    ApiJson(request): ApiJson<AuthorizeRequest>,
) -> Result<Json<AuthorizeResponse>, ApiFailure> {
    let (response, allowed) = decisions::decide_batch(&state.policies, &state.auth, request)?;
    audit.detail(
        "decisions",
        serde_json::json!({"asked": response.results.len(), "allowed": allowed, "policy_version": response.version}),
    );
    Ok(Json(response))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixQuery {
    format: Option<String>,
}

/// `GET /v1/policies/matrix[?format=csv]`: role × action from the live policies.
pub async fn matrix(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<MatrixQuery>,
) -> Result<Response, ApiFailure> {
    let response = decisions::permissions_matrix(&state.policies);
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(response).into_response()),
        Some("csv") => {
            let csv = decisions::matrix_csv(&response).map_err(|_| ApiFailure::internal())?;
            let file_name = format!(
                "attachment; filename=\"permissions-v{}.csv\"",
                response.version
            );
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (header::CONTENT_DISPOSITION, file_name),
                ],
                csv,
            )
                .into_response())
        }
        Some(_) => Err(invalid("format must be json or csv")),
    }
}
