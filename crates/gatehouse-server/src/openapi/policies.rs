//! Policies and decisions. Stubs: only the attributes are read.
//! `x-gatehouse-action` names the action the route table gives the route.
#![allow(dead_code)]

use gatehouse_types::{
    ApiError, AuthorizeRequest, AuthorizeResponse, CreatePolicyVersionRequest, PolicyDiffResponse,
    PolicyMatrixResponse, PolicySchemaResponse, PolicyVersionPage, PolicyVersionResponse,
    RollbackPoliciesRequest, SimulateRequest, SimulateResponse, ValidatePoliciesRequest,
    ValidatePoliciesResponse,
};

use super::params::{DiffParams, MatrixParams, VersionsParams};

/// The active policies
///
/// The active version of the policy set, with its policies.
#[utoipa::path(
    get,
    path = "/v1/policies",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.read"))),
    responses((status = 200, description = "The active version", body = PolicyVersionResponse))
)]
pub fn active_policies() {}

/// The Cedar schema
///
/// The schema every policy is validated against, and its actions.
#[utoipa::path(
    get,
    path = "/v1/policies/schema",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.schema"))),
    responses((status = 200, description = "The schema", body = PolicySchemaResponse))
)]
pub fn policy_schema() {}

/// Validate policies
///
/// Every problem, located; changes nothing.
#[utoipa::path(
    post,
    path = "/v1/policies/validate",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.validate"))),
    request_body = ValidatePoliciesRequest,
    responses((status = 200, description = "Whether the text is valid, and why not", body = ValidatePoliciesResponse))
)]
pub fn validate_policies() {}

/// List policy versions
///
/// The history, newest first, without texts.
#[utoipa::path(
    get,
    path = "/v1/policies/versions",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.versions.list"))),
    params(VersionsParams),
    responses((status = 200, description = "A page of versions", body = PolicyVersionPage))
)]
pub fn list_policy_versions() {}

/// Create a policy version
///
/// In effect from the next request. Refused unless it validates, unless the
/// active version is still `base_version`, and when it would leave nobody able
/// to change policies.
#[utoipa::path(
    post,
    path = "/v1/policies/versions",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.versions.create"))),
    request_body = CreatePolicyVersionRequest,
    responses(
        (status = 201, description = "The new active version", body = PolicyVersionResponse),
        (status = 409, description = "`conflict`: the active version is no longer `base_version`; `policy_lockout`: nobody could change policies again", body = ApiError),
    )
)]
pub fn create_policy_version() {}

/// A policy version
#[utoipa::path(
    get,
    path = "/v1/policies/versions/{n}",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.versions.read"))),
    params(("n" = u64, Path, minimum = 1, description = "The version number")),
    responses(
        (status = 200, description = "The version, with its text and policies", body = PolicyVersionResponse),
        (status = 404, description = "`not_found`: there is no such version", body = ApiError),
    )
)]
pub fn policy_version() {}

/// Diff two policy versions
///
/// Which policies came, went or changed (by `@id`), and the line diff.
#[utoipa::path(
    get,
    path = "/v1/policies/diff",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.diff"))),
    params(DiffParams),
    responses(
        (status = 200, description = "The differences", body = PolicyDiffResponse),
        (status = 404, description = "`not_found`: there is no such version", body = ApiError),
    )
)]
pub fn diff_policy_versions() {}

/// Roll policies back
///
/// A new version with an old version's text, under the same checks as a new one.
#[utoipa::path(
    post,
    path = "/v1/policies/rollback",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.rollback"))),
    request_body = RollbackPoliciesRequest,
    responses(
        (status = 201, description = "The new active version", body = PolicyVersionResponse),
        (status = 404, description = "`not_found`: there is no such version", body = ApiError),
        (status = 409, description = "`conflict`: the active version is no longer `base_version`; `policy_lockout`: nobody could change policies again", body = ApiError),
    )
)]
pub fn rollback_policies() {}

/// Simulate a decision
///
/// One request against the active set, or against `draft` when given.
#[utoipa::path(
    post,
    path = "/v1/policies/simulate",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.simulate"))),
    request_body = SimulateRequest,
    responses((status = 200, description = "The decision and the policies that determined it", body = SimulateResponse))
)]
pub fn simulate_policies() {}

/// The permissions matrix
///
/// Role × action, computed from the live policies.
#[utoipa::path(
    get,
    path = "/v1/policies/matrix",
    tag = "policies",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("policies.matrix"))),
    params(MatrixParams),
    responses((
        status = 200,
        description = "The matrix",
        content(
            (PolicyMatrixResponse = "application/json"),
            (String = "text/csv; charset=utf-8"),
        )
    ))
)]
pub fn policy_matrix() {}

/// Ask for decisions
///
/// For services: 1 to 100 requests against the active policies; a request that
/// cannot be asked gets its own error in `results`, the rest are still answered.
#[utoipa::path(
    post,
    path = "/v1/authorize",
    tag = "decisions",
    security(("bearer" = [])),
    extensions(("x-gatehouse-action" = json!("decisions.authorize"))),
    request_body = AuthorizeRequest,
    responses((status = 200, description = "One answer per request", body = AuthorizeResponse))
)]
pub fn authorize() {}
