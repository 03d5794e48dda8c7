// The one place that calls `invoke`. Every command is typed from the generated
// bindings, and every failure arrives as a BackendError carrying the one error shape.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  ApiError,
  AuditQuery,
  AuditRecord,
  AuditRows,
  CreatePolicyVersionRequest,
  ExportOutcome,
  ExportProgress,
  ExportRequest,
  FollowEvent,
  PolicyDiffResponse,
  PolicyMatrixResponse,
  PolicySchemaResponse,
  PolicyVersionPage,
  PolicyVersionResponse,
  RollbackPoliciesRequest,
  SimulateRequest,
  SimulateResponse,
  ValidatePoliciesResponse,
  VerifyResponse,
  ApiTokenResponse,
  BlockedDashboard,
  ConnectOutcome,
  CreateApiTokenRequest,
  CreatedApiTokenResponse,
  ErrorCode,
  Theme,
  RememberedServer,
  ServerInfoResponse,
  SessionInfo,
  StartupMode,
  Verification,
  ClientResponse,
  ClientSecretResponse,
  CreateClientRequest,
  KeyResponse,
  OutboxResponse,
  BlockedWhyResponse,
  FlaggedSourcesResponse,
  GatewayResponse,
  UpdateWafRequest,
  WafStatus,
  RegistrationFlowDefinition,
  RegistrationFlowListResponse,
  SessionListResponse,
  SessionResponse,
  UpdateClientRequest,
  UpdateUserRequest,
  UserListQuery,
  UserPage,
  UserResponse,
  UserTypeListResponse,
  ChallengeMethod,
  FactorsResponse,
  SignInOutcome,
} from "../bindings";

export class BackendError extends Error {
  readonly apiError: ApiError;

  constructor(apiError: ApiError) {
    super(apiError.message);
    this.name = "BackendError";
    this.apiError = apiError;
  }
}

function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && typeof v.message === "string" && typeof v.request_id === "string";
}

/** Whatever a command rejected with, as an ApiError. */
export function toApiError(reason: unknown): ApiError {
  if (reason instanceof BackendError) return reason.apiError;
  if (isApiError(reason)) return reason;
  const message = reason instanceof Error ? reason.message : String(reason);
  return { code: "internal" as ErrorCode, message: message || "unknown error", request_id: "" };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    throw new BackendError(toApiError(reason));
  }
}

export const getStartupMode = () => call<StartupMode>("get_startup_mode");
export const getSession = () => call<SessionInfo | null>("get_session");
export const connectEmbedded = () => call<SessionInfo>("connect_embedded");
/** No token goes to an unverified server: on first contact the answer may be
 * `needs_confirmation` with the certificate's fingerprint, for the person to confirm. */
export const connectServer = (url: string, token: string, verification: Verification) =>
  call<ConnectOutcome>("connect_server", { url, token, verification });
export const listServers = () => call<RememberedServer[]>("list_servers");
export const forgetServer = (url: string) => call<null>("forget_server", { url });
export const signOut = () => call<null>("sign_out");
export const getServerInfo = () => call<ServerInfoResponse>("get_server_info");
export const listApiTokens = () => call<ApiTokenResponse[]>("list_api_tokens");
export const createApiToken = (request: CreateApiTokenRequest) =>
  call<CreatedApiTokenResponse>("create_api_token", { request });
export const revokeApiToken = (id: string) => call<ApiTokenResponse>("revoke_api_token", { id });
export const getBlockedDashboard = (from: string | null, to: string | null, theme: Theme, width: number) =>
  call<BlockedDashboard>("get_blocked_dashboard", { from, to, theme, width });

// The audit trail (CO-3).
/** The query tidied, or rejects with `invalid_input` naming the first wrong field. */
export const checkAuditQuery = (query: AuditQuery) => call<AuditQuery>("check_audit_query", { query });
export const searchAudit = (query: AuditQuery, cursor: string | null, limit: number) =>
  call<AuditRows>("search_audit", { query, cursor, limit });
export const getAuditRecord = (seq: number) => call<AuditRecord>("get_audit_record", { seq });
export const verifyAuditChain = () => call<VerifyResponse>("verify_audit_chain");
/** Follows the trail after record `after`; events arrive on `onevent` until stopped. */
export function followAudit(query: AuditQuery, after: number | null, onevent: (event: FollowEvent) => void) {
  const channel = new Channel<FollowEvent>();
  channel.onmessage = onevent;
  return call<null>("follow_audit", { query, after, channel });
}
export const stopFollowAudit = () => call<null>("stop_follow_audit");

// Policies (CO-4).
export const getPolicies = () => call<PolicyVersionResponse>("get_policies");
export const getPolicySchema = () => call<PolicySchemaResponse>("get_policy_schema");
export const validatePolicies = (text: string) => call<ValidatePoliciesResponse>("validate_policies", { text });
export const savePolicies = (request: CreatePolicyVersionRequest) =>
  call<PolicyVersionResponse>("save_policies", { request });
export const listPolicyVersions = (cursor: string | null) =>
  call<PolicyVersionPage>("list_policy_versions", { cursor });
export const getPolicyVersion = (version: number) => call<PolicyVersionResponse>("get_policy_version", { version });
export const diffPolicies = (from: number, to: number) => call<PolicyDiffResponse>("diff_policies", { from, to });
export const rollbackPolicies = (request: RollbackPoliciesRequest) =>
  call<PolicyVersionResponse>("rollback_policies", { request });
export const simulatePolicies = (request: SimulateRequest) =>
  call<SimulateResponse>("simulate_policies", { request });
export const getPolicyMatrix = () => call<PolicyMatrixResponse>("get_policy_matrix");

// Export to CSV (CO-8): the Rust side asks where (native dialog) and streams the file.
export function exportCsv(request: ExportRequest, onprogress: (progress: ExportProgress) => void) {
  const progress = new Channel<ExportProgress>();
  progress.onmessage = onprogress;
  return call<ExportOutcome>("export_csv", { request, progress });
}
export const cancelExport = () => call<null>("cancel_export");

// Users (CO-6): keyset pages, one user's detail and sessions, the pending queue.
export const listUsers = (query: UserListQuery, after: string | null, limit: number) =>
  call<UserPage>("list_users", { query, after, limit });
export const getUser = (id: string) => call<UserResponse>("get_user", { id });
/** `request.expected_updated_at` is the version the edit was made from: a
 * concurrent edit rejects with `conflict` and nothing is overwritten. */
export const updateUser = (id: string, request: UpdateUserRequest) =>
  call<UserResponse>("update_user", { id, request });
export const disableUser = (id: string) => call<UserResponse>("disable_user", { id });
export const lockUser = (id: string) => call<UserResponse>("lock_user", { id });
export const unlockUser = (id: string) => call<UserResponse>("unlock_user", { id });
export const approveUser = (id: string) => call<UserResponse>("approve_user", { id });
export const rejectUser = (id: string, reason: string) => call<UserResponse>("reject_user", { id, reason });
export const getUserFactors = (id: string) => call<FactorsResponse>("get_user_factors", { id });
export const listUserSessions = (id: string) => call<SessionListResponse>("list_user_sessions", { id });
export const endUserSessions = (id: string) => call<SessionListResponse>("end_user_sessions", { id });
export const endSession = (id: string) => call<SessionResponse>("end_session", { id });
export const listUserTypes = () => call<UserTypeListResponse>("list_user_types");
export const listRegistrationFlows = () => call<RegistrationFlowListResponse>("list_registration_flows");
export const saveRegistrationFlow = (flow: RegistrationFlowDefinition) =>
  call<RegistrationFlowDefinition>("save_registration_flow", { flow });
export const listOutbox = () => call<OutboxResponse>("list_outbox");

// Machines (ID-10, TK-2): OAuth clients and signing keys.
export const listClients = () => call<ClientResponse[]>("list_clients");
export const createClient = (request: CreateClientRequest) =>
  call<ClientSecretResponse>("create_client", { request });
export const updateClient = (id: string, request: UpdateClientRequest) =>
  call<ClientResponse>("update_client", { id, request });
export const rotateClientSecret = (id: string) => call<ClientSecretResponse>("rotate_client_secret", { id });
export const disableClient = (id: string) => call<ClientResponse>("disable_client", { id });
export const listKeys = () => call<KeyResponse[]>("list_keys");
export const rotateKeys = () => call<KeyResponse[]>("rotate_keys");

// The gateway (GW-7) and the "why" of a blocked request (GW-9).
export const getGateway = () => call<GatewayResponse>("get_gateway");
/** `request.base_generation` is the generation the change was made from: a change made meanwhile is `conflict`. */
export const updateWaf = (request: UpdateWafRequest) => call<WafStatus>("update_waf", { request });
export const listFlaggedSources = () => call<FlaggedSourcesResponse>("list_flagged_sources");
export const unflagSource = (source: string) => call<FlaggedSourcesResponse>("unflag_source", { source });
export const whyBlocked = (requestId: string) => call<BlockedWhyResponse>("why_blocked", { requestId });

// Signing in as a person (CO-1): the tokens stay on the Rust side.
export const signInPerson = (url: string, email: string, password: string, verification: Verification) =>
  call<SignInOutcome>("sign_in_person", { url, email, password, verification });
/** `code: null` with `sms` sends the code again. */
export const signInSecondFactor = (method: ChallengeMethod, code: string | null) =>
  call<SignInOutcome>("sign_in_second_factor", { method, code });
/** Opens the server's sign-in page in the system browser; resolves when it comes back. */
export const signInBrowser = (url: string, verification: Verification) =>
  call<SignInOutcome>("sign_in_browser", { url, verification });
export const cancelBrowserSignIn = () => call<null>("cancel_browser_sign_in");
