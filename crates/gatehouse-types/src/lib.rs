//! Gatehouse's wire types: what crosses HTTP and the console's IPC boundary.
//!
//! Everything here is plain serde data: requests, responses, ids and the one error
//! shape. This crate must never depend on axum, sqlx, tauri or anything that does
//! I/O, so that every client (console, CLI, tests, other services) can share it.

mod api_token;
mod audit;
mod audit_query;
mod error;
mod gateway;
mod identity;
mod oauth;
mod policy;
mod role;
mod server;
mod sign_in;

pub use api_token::{
    ApiTokenId, ApiTokenListResponse, ApiTokenResponse, CreateApiTokenRequest,
    CreatedApiTokenResponse, MAX_TOKEN_NAME_LEN, MAX_TOKEN_TTL_SECONDS,
};
pub use audit::{
    crs_rule_family, AuditActor, AuditPage, AuditRecord, AuditResource, BlockedBucket, BlockedPage,
    BlockedRequest, BlockedSummaryResponse, CountBy, IngestError, IngestEvent, IngestRequest,
    IngestResponse, IngestResult, IngestStatus, VerifyFinding, VerifyResponse, MAX_AUDIT_PAGE,
    MAX_INGEST_BATCH,
};
pub use audit_query::{
    parse_query_cursor, parse_query_time, AuditQuery, CheckedAuditQuery, QueryError,
    AUDIT_FILTER_KEYS, BLOCKED_ANY, MAX_FILTER_LEN, OUTCOMES,
};
pub use error::{ApiError, ErrorCode, BLOCK_REASONS};
pub use gateway::{
    BlockedWhyResponse, FlaggedSource, FlaggedSourcesResponse, GatewayResponse, GatewayRoute,
    UpdateWafRequest, WafExclusion, WafStatus, WhyDecision, WhyRule,
};
pub use identity::{
    AttributeDeclaration, AttributeKind, CreateUserRequest, OutboxMessage, OutboxResponse,
    PasswordSignInRequest, Proof, RefreshRequest, RegistrationFlowDefinition,
    RegistrationFlowListResponse, SecondFactor, SessionListResponse, SessionResponse,
    SetPasswordRequest, SignInMethod, SignInResponse, UpdateUserRequest, UserPage, UserResponse,
    UserStatus, UserTypeDefinition, UserTypeListResponse, MAX_USER_PAGE,
};
pub use oauth::{
    AuthorizationServerMetadata, ClientListResponse, ClientResponse, ClientSecretResponse,
    ClientStatus, CreateClientRequest, GrantType, IntrospectionResponse, KeyListResponse,
    KeyResponse, OAuthErrorResponse, SigningKeyState, TokenResponse, UpdateClientRequest,
    UserInfoResponse, MAX_CLIENT_LIST_LEN, MAX_CLIENT_NAME_LEN,
};
pub use policy::{
    AuthorizeRequest, AuthorizeResponse, AuthorizeResult, CreatePolicyVersionRequest,
    DecisionRequest, DecisionResponse, DiffLine, EntityData, EntityRef, MatrixCell,
    PolicyDiffResponse, PolicyInfo, PolicyMatrixResponse, PolicyProblem, PolicySchemaResponse,
    PolicyVersionPage, PolicyVersionResponse, PolicyVersionSummary, RollbackPoliciesRequest,
    SchemaAction, SimulateRequest, SimulateResponse, ValidatePoliciesRequest,
    ValidatePoliciesResponse, MAX_DECISION_BATCH, MAX_POLICY_REASON_LEN,
};
pub use role::{Role, UnknownRole};
pub use server::{CallerKind, DatabaseBackend, IdentityResponse, ServerInfoResponse};
pub use sign_in::{
    ChallengeMethod, ChallengeResponse, ChangePasswordRequest, DirectorySignInRequest,
    FactorsResponse, MfaRequest, OtpStartRequest, OtpVerifyRequest, RecoveryCodesResponse,
    RejectUserRequest, SignInStep, SignUpRequest, SignUpResponse, SignUpStep, SignUpVerifyRequest,
    TotpConfirmRequest, TotpEnrolmentResponse,
};

/// The header that carries the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
