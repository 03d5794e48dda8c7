// The Users page's filters and its list: the query a filter form stands for,
// and the keyset pages merged as they arrive. Only what was asked for is ever
// held: 100 users a page, more when asked.
import type { UserListQuery, UserResponse, UserStatus } from "../bindings";

export const PAGE_SIZE = 100;

/** Every status, in the order the filter offers them (complete: a Record over UserStatus). */
export const STATUS_LABELS: Record<UserStatus, string> = {
  active: "Active",
  pending: "Pending",
  locked: "Locked",
  disabled: "Disabled",
};
export const STATUSES = Object.keys(STATUS_LABELS) as UserStatus[];

export type UsersTab = "all" | "pending";

/** The filter form as typed; empty means unset. */
export type UserFilters = {
  q: string;
  user_type: string;
  status: UserStatus | "";
  attribute: string;
  entitlement: string;
};

export function emptyFilters(): UserFilters {
  return { q: "", user_type: "", status: "", attribute: "", entitlement: "" };
}

/** The query for a tab and its filters: set fields only, trimmed; the pending tab lists pending users. */
export function queryOf(filters: UserFilters, tab: UsersTab): UserListQuery {
  const query: UserListQuery = {};
  const text = (v: string) => v.trim();
  if (text(filters.q)) query.q = text(filters.q);
  if (text(filters.user_type)) query.user_type = text(filters.user_type);
  if (text(filters.attribute)) query.attribute = text(filters.attribute);
  if (text(filters.entitlement)) query.entitlement = text(filters.entitlement);
  const status = tab === "pending" ? "pending" : filters.status;
  if (status) query.status = status;
  return query;
}

/**
 * What stops these filters from being sent, said so that it can be corrected;
 * null when they can be. (The Rust side checks the same and decides.)
 */
export function filterProblem(filters: UserFilters): string | null {
  const attribute = filters.attribute.trim();
  if (attribute && !/^[^:\s][^:]*:./.test(attribute)) {
    return "Attribute: write it as name:value, for example department:cardiology";
  }
  return null;
}

/** The list with a further page added; a user already held is not repeated. */
export function mergePage(loaded: readonly UserResponse[], page: readonly UserResponse[]): UserResponse[] {
  const held = new Set(loaded.map((u) => u.id));
  return [...loaded, ...page.filter((u) => !held.has(u.id))];
}

/** The list with one user's newer version in its place. */
export function replaceUser(loaded: readonly UserResponse[], user: UserResponse): UserResponse[] {
  return loaded.map((u) => (u.id === user.id ? user : u));
}

export function removeUser(loaded: readonly UserResponse[], id: string): UserResponse[] {
  return loaded.filter((u) => u.id !== id);
}

/** Whether the scrolled list is close enough to its end to fetch the next page. */
export function isNearEnd(scrollTop: number, clientHeight: number, scrollHeight: number, margin = 400): boolean {
  return scrollHeight - (scrollTop + clientHeight) <= margin;
}
