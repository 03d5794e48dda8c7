// The error the window shows; set from anywhere, including unhandled rejections.
import type { ApiError } from "./bindings";
import { toApiError } from "./backend";

export const errors = $state<{ current: ApiError | null }>({ current: null });

/** Set when a person's sign-in ended mid-session (`session_expired`): the
 * window asks them to sign in again and keeps its view. */
export const signInEnded = $state<{ ended: boolean }>({ ended: false });

export function showError(reason: unknown): void {
  const error = toApiError(reason);
  if (error.code === "session_expired") signInEnded.ended = true;
  errors.current = error;
}

export function clearError(): void {
  errors.current = null;
}
