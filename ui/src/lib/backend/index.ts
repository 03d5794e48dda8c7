// The one place that calls `invoke`. Every command is typed from the generated
// bindings, and every failure arrives as a BackendError carrying the one error shape.
import { invoke } from "@tauri-apps/api/core";
import type {
  ApiError,
  ApiTokenResponse,
  BlockedDashboard,
  CreateApiTokenRequest,
  CreatedApiTokenResponse,
  ErrorCode,
  Theme,
  RememberedServer,
  ServerInfoResponse,
  SessionInfo,
  StartupMode,
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
export const connectServer = (url: string, token: string) =>
  call<SessionInfo>("connect_server", { url, token });
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
