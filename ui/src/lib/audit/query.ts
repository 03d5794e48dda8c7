// The audit trail's filters live in the location hash (`#/audit?actor=…`), so that
// back/forward and a reopened console restore them.
// The query's type, its keys and its lists are generated from gatehouse-types; the
// one check of a query is the Rust side's (`checkAuditQuery`).
import { AUDIT_FILTER_KEYS, BLOCKED_ANY, BLOCK_REASONS, OUTCOMES, type AuditQuery } from "../bindings";

export const FILTER_KEYS = AUDIT_FILTER_KEYS;
export type FilterKey = (typeof FILTER_KEYS)[number];

export const FILTER_LABELS: Record<FilterKey, string> = {
  from: "From", to: "To", actor: "Actor", action: "Action", resource_type: "Resource type",
  resource_id: "Resource id", outcome: "Outcome", source: "Source", request_id: "Request id", q: "Text",
  blocked: "Blocked",
};

/** The `blocked` filter: any refused request, or those refused for one reason. */
export const BLOCKED = [BLOCKED_ANY, ...BLOCK_REASONS] as const;

export { OUTCOMES };

export function emptyQuery(): AuditQuery {
  return { from: null, to: null, actor: null, action: null, resource_type: null, resource_id: null,
    outcome: null, source: null, request_id: null, q: null, blocked: null, limit: null, cursor: null };
}

/** The filters in a hash such as `#/audit?actor=alice&from=2026-…`; unknown keys are ignored. */
export function queryFromHash(hash: string): AuditQuery {
  const query = emptyQuery();
  const at = hash.indexOf("?");
  if (at < 0) return query;
  const params = new URLSearchParams(hash.slice(at + 1));
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value !== null && value.trim() !== "") query[key] = value;
  }
  return query;
}

/** The hash for the audit page with these filters (set ones only, in a fixed order). */
export function hashOfQuery(query: AuditQuery): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = query[key];
    if (value !== null && value !== undefined && value.trim() !== "") params.set(key, value.trim());
  }
  const text = params.toString();
  return text ? `#/audit?${text}` : "#/audit";
}

export function activeFilters(query: AuditQuery): [FilterKey, string][] {
  return FILTER_KEYS.flatMap((k) => (query[k] ? [[k, query[k] as string] as [FilterKey, string]] : []));
}

/** A `datetime-local` input's value (local time) as RFC 3339 UTC, or null when empty or invalid. */
export function localToIso(value: string): string | null {
  if (!value) return null;
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? null : t.toISOString();
}

/** RFC 3339 as a `datetime-local` value in local time. */
export function isoToLocal(value: string | null): string {
  if (!value) return "";
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

/** The audit filter a click on a blocked-dashboard bar or row stands for. */
export type BlockedChart =
  | "over_time" | "by_reason" | "top_sources" | "top_identities" | "top_routes"
  | "by_bot" | "top_waf_rules" | "top_decoys";

export function queryForBlocked(
  chart: BlockedChart,
  key: string,
  range: { from: string; to: string },
): AuditQuery {
  // Only the refused requests (matched with the blocked log by request id).
  const query = { ...emptyQuery(), from: range.from, to: range.to, blocked: "any" };
  switch (chart) {
    case "over_time":
    case "by_reason":
      query.blocked = key;
      break;
    case "top_sources":
      query.source = key;
      break;
    case "top_identities": {
      // Shown as "name (token id)"; the trail is filtered by the id.
      const m = /\(([^()]+)\)\s*$/.exec(key);
      query.actor = m ? m[1] : key;
      break;
    }
    case "top_routes":
    case "by_bot":
      query.q = key;
      break;
    case "top_waf_rules":
      // Shown as "942100 · SQL injection"; the trail's details name the id.
      query.blocked = "waf";
      query.q = key.split(" ")[0];
      break;
    case "top_decoys":
      query.blocked = "honeypot";
      query.q = key;
      break;
  }
  return query;
}
