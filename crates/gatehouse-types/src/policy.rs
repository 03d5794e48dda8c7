//! Access control on the wire: policy versions, validation problems, simulation,
//! the decision API and the permissions matrix (AZ-1 to AZ-5, AZ-8, AZ-9).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most requests one `POST /v1/authorize` call may carry.
pub const MAX_DECISION_BATCH: usize = 100;
/// The longest reason a policy change may give.
pub const MAX_POLICY_REASON_LEN: usize = 1000;

/// One policy of a set, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyInfo {
    /// Its `@id` annotation.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// Its `@description` annotation.
    pub description: Option<String>,
    pub text: String,
    /// Where it starts in the set's text, from 1.
    pub line: u32,
}

/// What is wrong with a policy text, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyProblem {
    /// The `@id` of the policy it is in, when known.
    pub policy_id: Option<String>,
    pub message: String,
    /// From 1.
    pub line: u32,
    /// From 1, in characters of the line.
    pub column: u32,
}

/// One version of the policy set: `GET /v1/policies` (the active one) and
/// `GET /v1/policies/versions/{n}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersionResponse {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    pub author: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// The version this one restored, for a rollback.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub rolled_back_from: Option<u64>,
    /// SHA-256 of `text`, hex.
    pub sha256: String,
    pub text: String,
    pub policies: Vec<PolicyInfo>,
}

/// A version in the history, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersionSummary {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    pub author: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub rolled_back_from: Option<u64>,
    pub sha256: String,
}

/// `GET /v1/policies/versions`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVersionPage {
    pub items: Vec<PolicyVersionSummary>,
    pub next_cursor: Option<String>,
}

/// `POST /v1/policies/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ValidatePoliciesRequest {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidatePoliciesResponse {
    pub is_valid: bool,
    /// Errors, in text order; empty when valid.
    pub problems: Vec<PolicyProblem>,
    /// Things that do not stop the set (confusable identifiers, say).
    pub warnings: Vec<PolicyProblem>,
    /// The policies found, when valid.
    pub policies: Vec<PolicyInfo>,
}

/// `POST /v1/policies/versions`: a new version, refused unless it validates,
/// unless the active version is still `base_version`, and when it would leave
/// nobody able to change policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatePolicyVersionRequest {
    pub text: String,
    pub reason: String,
    /// The version the change was made from.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub base_version: u64,
}

/// `POST /v1/policies/rollback`: a new version equal to `to_version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RollbackPoliciesRequest {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub to_version: u64,
    pub reason: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub base_version: u64,
}

/// One line of a text diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffLine {
    /// `equal`, `delete` (only in `from`) or `insert` (only in `to`).
    pub op: String,
    /// Line number in `from`, from 1.
    pub old_line: Option<u32>,
    /// Line number in `to`, from 1.
    pub new_line: Option<u32>,
    pub text: String,
}

/// `GET /v1/policies/diff?from=&to=`: which policies came, went or changed
/// (by `@id`), and the line diff of the two texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyDiffResponse {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub from: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub to: u64,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub lines: Vec<DiffLine>,
}

/// An entity named in a decision request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntityRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// An entity with its attributes and the groups it is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntityData {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub attributes: Map<String, Value>,
    #[serde(default)]
    pub parents: Vec<EntityRef>,
}

/// One question: may `principal` do `action` to `resource` in `context`?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub principal: EntityData,
    /// An action of the schema, without `Action::` (`audit.search`).
    pub action: String,
    pub resource: EntityData,
    /// The action's context (`source_ip`, `time` for Gatehouse's actions).
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub context: Map<String, Value>,
    /// Other entities the policies may look at (groups, say).
    #[serde(default)]
    pub entities: Vec<EntityData>,
}

/// The answer and the policies that determined it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionResponse {
    /// `allow` or `deny`.
    pub decision: String,
    pub is_allowed: bool,
    /// The permits that allowed it, or the forbids that denied it; empty for a
    /// deny by default.
    pub policies: Vec<String>,
    /// Policies skipped because they could not be evaluated.
    pub errors: Vec<String>,
}

/// `POST /v1/policies/simulate`: one request against the active set, or against
/// `draft` when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    pub request: DecisionRequest,
    pub draft: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulateResponse {
    /// The active version it ran against, or none for a draft.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub version: Option<u64>,
    pub result: DecisionResponse,
}

/// `POST /v1/authorize`: 1 to 100 requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AuthorizeRequest {
    /// Each a [`DecisionRequest`]; kept as JSON so that one malformed request
    /// gets its own error and the others are still answered. Instead of
    /// `principal`, a request may give `principal_token`: an access token whose
    /// verified subject is the principal.
    #[cfg_attr(feature = "ts", ts(type = "Array<DecisionRequest>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<DecisionRequest>))]
    pub requests: Vec<Value>,
}

/// One answer of a batch: a decision, or why the request could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeResult {
    pub index: u32,
    pub result: Option<DecisionResponse>,
    pub error: Option<crate::IngestError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeResponse {
    /// The policy version that answered.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    pub results: Vec<AuthorizeResult>,
}

/// One cell of the permissions matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatrixCell {
    pub is_allowed: bool,
    pub policies: Vec<String>,
}

/// `GET /v1/policies/matrix`: role × action, computed from the live policies.
/// `cells[r][a]` answers for `roles[r]` and `actions[a]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyMatrixResponse {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub version: u64,
    pub roles: Vec<String>,
    pub actions: Vec<String>,
    pub cells: Vec<Vec<MatrixCell>>,
}

/// An action of the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchemaAction {
    pub name: String,
    pub is_read_only: bool,
    pub principal_types: Vec<String>,
    pub resource_types: Vec<String>,
}

/// `GET /v1/policies/schema`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicySchemaResponse {
    /// The schema in Cedar's schema syntax.
    pub schema: String,
    pub entity_types: Vec<String>,
    pub actions: Vec<SchemaAction>,
}
