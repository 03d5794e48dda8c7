// Where a failed command is told: beside what was asked, for the codes that are
// about it (a field the server refused, someone else's edit, a thing that is
// gone); in the window's banner for anything else (the connection, the sign-in,
// the role), where the window also handles a sign-in that ended.
import type { ApiError, ErrorCode } from "./bindings";
import { toApiError } from "./backend";
import { showError } from "./errors.svelte";

/** The error when its code is one of `inline`; otherwise shown in the banner, and null. */
export function inlineOr(reason: unknown, inline: readonly ErrorCode[]): ApiError | null {
  const error = toApiError(reason);
  if (inline.includes(error.code)) return error;
  showError(error);
  return null;
}

/** The codes that say what was wrong with a request's content. */
export const REFUSED: readonly ErrorCode[] = ["validation_failed", "invalid_input", "invalid_body", "invalid_parameter", "bad_request"];
