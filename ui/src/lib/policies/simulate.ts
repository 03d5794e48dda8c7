// The simulate form: its text fields read into a DecisionRequest, each with an
// error that names the field, and sensible defaults from the schema.
import type { DecisionRequest, EntityRef } from "../bindings";
import type { ParsedSchema, SchemaType } from "./schema";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface SimForm {
  principalType: string;
  principalId: string;
  principalAttrs: string;
  principalParents: string;
  action: string;
  resourceType: string;
  resourceId: string;
  resourceAttrs: string;
  resourceParents: string;
  context: string;
}

/** A JSON object typed into a field; an empty field is `{}`. */
export function parseObject(label: string, text: string): Parsed<Record<string, unknown>> {
  if (!text.trim()) return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, error: `${label}: not valid JSON (${why})` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: `${label}: not a JSON object` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

const PARENT = /^\s*([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::(?:"((?:[^"\\]|\\.)*)"|([^\s",]+))\s*(?:,|$)/;

/** `Role::"auditor", Group::"ops"` (quotes optional for simple ids); empty is none. */
export function parseParents(label: string, text: string): Parsed<EntityRef[]> {
  const out: EntityRef[] = [];
  let rest = text.trim();
  while (rest) {
    const m = PARENT.exec(rest);
    if (!m) {
      const item = rest.split(",")[0].trim();
      return { ok: false, error: `${label}: ${JSON.stringify(item)} is not Type::"id"` };
    }
    let id = m[3] ?? "";
    if (m[2] !== undefined) {
      try {
        id = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        return { ok: false, error: `${label}: ${JSON.stringify(m[0].trim())} has a bad escape in its id` };
      }
    }
    out.push({ type: m[1], id });
    rest = rest.slice(m[0].length).trim();
  }
  return { ok: true, value: out };
}

export type Built = { ok: true; request: DecisionRequest } | { ok: false; errors: string[] };

/** The request the form describes, or every field that is wrong. */
export function buildRequest(form: SimForm): Built {
  const errors: string[] = [];
  const take = <T>(parsed: Parsed<T>, fallback: T): T => {
    if (parsed.ok) return parsed.value;
    errors.push(parsed.error);
    return fallback;
  };
  if (!form.principalType) errors.push("principal type: choose one");
  const principalAttrs = take(parseObject("principal attributes", form.principalAttrs), {});
  const parents = take(parseParents("principal parents", form.principalParents), []);
  if (!form.action) errors.push("action: choose one");
  if (!form.resourceType) errors.push("resource type: choose one");
  const resourceAttrs = take(parseObject("resource attributes", form.resourceAttrs), {});
  const resourceParents = take(parseParents("resource parents", form.resourceParents), []);
  const context = take(parseObject("context", form.context), {});
  if (errors.length) return { ok: false, errors };
  return {
    ok: true,
    request: {
      principal: { type: form.principalType, id: form.principalId, attributes: principalAttrs, parents },
      action: form.action,
      resource: { type: form.resourceType, id: form.resourceId, attributes: resourceAttrs, parents: resourceParents },
      context,
      entities: [],
    },
  };
}

/** The role a prefilled principal has (and is `in`). */
export const DEFAULT_ROLE = "auditor";

/** The ids Gatehouse's routes use for its collections, so a prefilled request matches a real one. */
const COLLECTION_IDS: Record<string, string> = {
  Server: "gatehouse",
  TokenRegistry: "api-tokens",
  AuditTrail: "audit",
  BlockedLog: "blocked",
  PolicyStore: "policies",
  DecisionPoint: "authorize",
};

const PRINCIPAL_IDS: Record<string, string> = { User: "alice", ApiToken: "example-token", Service: "example-service" };

export function defaultId(type: string, as: "principal" | "resource"): string {
  return (as === "principal" ? PRINCIPAL_IDS[type] : undefined) ?? COLLECTION_IDS[type] ?? PRINCIPAL_IDS[type] ?? "example";
}

/** The resource type to prefill for an action: one of Gatehouse's collections when it takes one. */
export function preferredResourceType(types: string[]): string {
  return types.find((t) => COLLECTION_IDS[t]) ?? types[0] ?? "";
}

const baseName = (name: string) => name.replace(/^__cedar::/, "");

/** A value of `type` for an attribute called `name`: plausible, and of the right type. */
export function defaultValue(
  schema: ParsedSchema,
  type: SchemaType,
  name: string,
  id: string,
  now: number,
  depth = 0,
): unknown {
  if (depth > 8) return null;
  if (type.kind === "set") return [];
  if (type.kind === "record") return defaultRecord(schema, type, id, now, depth + 1);
  const common = schema.types.get(type.name);
  if (common) return defaultValue(schema, common, name, id, now, depth + 1);
  switch (baseName(type.name)) {
    case "String":
      if (name === "name") return id;
      if (name === "email") return `${id}@example.invalid`;
      if (name === "user_type") return "employee";
      if (name === "role") return DEFAULT_ROLE;
      return "";
    case "Long":
      return name === "time" ? now : name === "version" ? 1 : 0;
    case "Bool":
      return name === "has_mfa";
    case "ipaddr":
      return "127.0.0.1";
    case "decimal":
      return { __extn: { fn: "decimal", arg: "0.0" } };
    default:
      return schema.entities.has(type.name) ? { __entity: { type: type.name, id: "example" } } : null;
  }
}

function defaultRecord(
  schema: ParsedSchema,
  record: Extract<SchemaType, { kind: "record" }>,
  id: string,
  now: number,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of record.attributes) {
    if (a.required) out[a.name] = defaultValue(schema, a.type, a.name, id, now, depth);
  }
  return out;
}

/** Every attribute an entity of `type` must have, prefilled. */
export function defaultAttributes(schema: ParsedSchema, type: string, id: string, now: number): Record<string, unknown> {
  const entity = schema.entities.get(type);
  return entity ? defaultRecord(schema, { kind: "record", attributes: entity.attributes }, id, now, 0) : {};
}

/** The groups a prefilled principal is in: its role, when its type can be in a role. */
export function defaultParents(schema: ParsedSchema, type: string): string {
  return schema.entities.get(type)?.memberOf.includes("Role") ? `Role::"${DEFAULT_ROLE}"` : "";
}

/** The collection a prefilled resource is in (an audit record is in the audit trail). */
export function defaultResourceParents(schema: ParsedSchema, type: string): string {
  return (schema.entities.get(type)?.memberOf ?? [])
    .filter((group) => COLLECTION_IDS[group])
    .map((group) => `${group}::"${COLLECTION_IDS[group]}"`)
    .join(", ");
}

/** The action's context, prefilled: from the loopback address, now. */
export function defaultContext(schema: ParsedSchema, action: string, now: number): Record<string, unknown> {
  const type = schema.contexts.get(action);
  const value = type ? defaultValue(schema, type, "context", "", now) : null;
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : { source_ip: "127.0.0.1", time: now };
}

/**
 * The context for a newly chosen action: its own prefilled context (a mint also
 * asks for `requested_role`), keeping the values the person already wrote for
 * the keys both have.
 */
export function contextFor(defaults: Record<string, unknown>, current: string): Record<string, unknown> {
  let written: unknown = null;
  try {
    written = JSON.parse(current);
  } catch {
    written = null;
  }
  const out: Record<string, unknown> = { ...defaults };
  if (written && typeof written === "object" && !Array.isArray(written)) {
    for (const [k, v] of Object.entries(written as Record<string, unknown>)) {
      if (k in out) out[k] = v;
    }
  }
  return out;
}

export const pretty = (value: unknown) => JSON.stringify(value, null, 2);
