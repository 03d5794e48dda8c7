// The error the window shows; set from anywhere, including unhandled rejections.
import type { ApiError } from "./bindings";
import { toApiError } from "./backend";

export const errors = $state<{ current: ApiError | null }>({ current: null });

export function showError(reason: unknown): void {
  errors.current = toApiError(reason);
}

export function clearError(): void {
  errors.current = null;
}
