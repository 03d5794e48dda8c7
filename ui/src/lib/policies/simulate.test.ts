import { describe, expect, it } from "vitest";
import { parseSchema } from "./schema";
import {
  buildRequest, contextFor, defaultAttributes, defaultContext, defaultId, defaultParents, defaultResourceParents, parseObject,
  parseParents, preferredResourceType,
  type SimForm,
} from "./simulate";

const SCHEMA = `
// Roles and user types are groups a principal is \`in\`.
entity Role;
entity UserType;
entity Group in [Group];
entity User in [Role, UserType, Group] {
  name: String,
  email: String,
  user_type: String,
  entitlements: Set<String>,
  is_locked: Bool,
  has_mfa: Bool,
  nickname?: String,
};
entity ApiToken in [Role] {
  name: String,
  role: String,
};
entity AuditTrail;
entity AuditRecord in [AuditTrail] { action: String };
entity PolicyVersion in [PolicyStore] { version: Long, author: String, };
type RequestContext = {
  source_ip: ipaddr,
  time: Long,
};
action "read";
action "audit.search" in ["read"] appliesTo {
  principal: [User, Service, ApiToken], resource: [AuditTrail, AuditRecord], context: RequestContext };
action "a.inline", "b.inline" appliesTo { principal: User, resource: User, context: { depth: Long } };
`;

describe("parseSchema", () => {
  const s = parseSchema(SCHEMA);
  it("reads entity attributes, optional ones and groups", () => {
    expect(s.entities.get("ApiToken")).toEqual({
      attributes: [
        { name: "name", type: { kind: "name", name: "String" }, required: true },
        { name: "role", type: { kind: "name", name: "String" }, required: true },
      ],
      memberOf: ["Role"],
    });
    const user = s.entities.get("User")!;
    expect(user.memberOf).toEqual(["Role", "UserType", "Group"]);
    expect(user.attributes.find((a) => a.name === "entitlements")?.type).toEqual({
      kind: "set", element: { kind: "name", name: "String" },
    });
    expect(user.attributes.find((a) => a.name === "nickname")?.required).toBe(false);
    expect(s.entities.get("Role")).toEqual({ attributes: [], memberOf: [] });
  });
  it("reads action contexts, named or inline", () => {
    expect(s.contexts.get("audit.search")).toEqual({ kind: "name", name: "RequestContext" });
    expect(s.contexts.get("b.inline")?.kind).toBe("record");
    expect(s.types.get("RequestContext")?.kind).toBe("record");
  });
  it("never throws on nonsense", () => {
    expect(() => parseSchema("entity { ; } } ] action \"x\" appliesTo { context: ")).not.toThrow();
    expect(parseSchema("").entities.size).toBe(0);
  });
});

describe("defaults", () => {
  const s = parseSchema(SCHEMA);
  it("prefills every required attribute with a plausible value", () => {
    expect(defaultAttributes(s, "ApiToken", "t1", 0)).toEqual({ name: "t1", role: "auditor" });
    expect(defaultAttributes(s, "User", "alice", 0)).toEqual({
      name: "alice", email: "alice@example.invalid", user_type: "employee", entitlements: [],
      is_locked: false, has_mfa: true,
    });
    expect(defaultAttributes(s, "PolicyVersion", "1", 0)).toEqual({ version: 1, author: "" });
    expect(defaultAttributes(s, "AuditTrail", "audit", 0)).toEqual({});
    expect(defaultAttributes(s, "Unknown", "x", 0)).toEqual({});
  });
  it("puts a principal in its role", () => {
    expect(defaultParents(s, "ApiToken")).toBe('Role::"auditor"');
    expect(defaultParents(s, "AuditTrail")).toBe("");
  });
  it("puts a resource in its collection", () => {
    expect(defaultResourceParents(s, "AuditRecord")).toBe('AuditTrail::"audit"');
    expect(defaultResourceParents(s, "AuditTrail")).toBe("");
    expect(defaultResourceParents(s, "Group")).toBe("");
  });
  it("refills the context for another action, keeping what was written", () => {
    const mint = { source_ip: "127.0.0.1", time: 9, requested_role: "" };
    expect(contextFor(mint, '{"source_ip":"10.0.0.1","time":5}')).toEqual({ source_ip: "10.0.0.1", time: 5, requested_role: "" });
    expect(contextFor({ source_ip: "127.0.0.1", time: 9 }, '{"source_ip":"10.0.0.1","time":5,"requested_role":"x"}')).toEqual({ source_ip: "10.0.0.1", time: 5 });
    expect(contextFor(mint, "not json")).toEqual(mint);
  });
  it("prefills the context from the loopback address, now", () => {
    expect(defaultContext(s, "audit.search", 1700000000)).toEqual({ source_ip: "127.0.0.1", time: 1700000000 });
    expect(defaultContext(s, "a.inline", 5)).toEqual({ depth: 0 });
    expect(defaultContext(parseSchema(""), "audit.search", 7)).toEqual({ source_ip: "127.0.0.1", time: 7 });
  });
  it("uses the ids of Gatehouse's collections", () => {
    expect(defaultId("AuditTrail", "resource")).toBe("audit");
    expect(defaultId("PolicyStore", "resource")).toBe("policies");
    expect(defaultId("User", "principal")).toBe("alice");
    expect(defaultId("Thing", "resource")).toBe("example");
  });
  it("prefers a collection as the resource", () => {
    expect(preferredResourceType(["AuditRecord", "AuditTrail"])).toBe("AuditTrail");
    expect(preferredResourceType(["User"])).toBe("User");
    expect(preferredResourceType([])).toBe("");
  });
});

describe("parseObject", () => {
  it("reads an object, and an empty field as {}", () => {
    expect(parseObject("context", '{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseObject("context", "  ")).toEqual({ ok: true, value: {} });
  });
  it("names the field in its error", () => {
    expect(parseObject("principal attributes", "[1]")).toEqual({ ok: false, error: "principal attributes: not a JSON object" });
    expect(parseObject("principal attributes", "null")).toEqual({ ok: false, error: "principal attributes: not a JSON object" });
    expect(parseObject("principal attributes", "3")).toEqual({ ok: false, error: "principal attributes: not a JSON object" });
    const bad = parseObject("context", "{nope");
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^context: not valid JSON \(/);
  });
});

describe("parseParents", () => {
  it("reads a comma list of Type::\"id\"", () => {
    expect(parseParents("p", ' Role::"auditor", Group::ops ,Ns::Group::"a,b\\"c"')).toEqual({
      ok: true,
      value: [
        { type: "Role", id: "auditor" },
        { type: "Group", id: "ops" },
        { type: "Ns::Group", id: 'a,b"c' },
      ],
    });
    expect(parseParents("p", "")).toEqual({ ok: true, value: [] });
  });
  it("says which item is wrong", () => {
    expect(parseParents("principal parents", 'Role::"a", auditor')).toEqual({
      ok: false, error: 'principal parents: "auditor" is not Type::"id"',
    });
  });
});

describe("buildRequest", () => {
  const form: SimForm = {
    principalType: "ApiToken", principalId: "t1", principalAttrs: '{"name":"t1","role":"auditor"}',
    principalParents: 'Role::"auditor"', action: "audit.search", resourceType: "AuditTrail", resourceId: "audit",
    resourceAttrs: "{}", resourceParents: 'AuditTrail::"audit"', context: '{"source_ip":"127.0.0.1","time":5}',
  };
  it("builds the decision request", () => {
    expect(buildRequest(form)).toEqual({
      ok: true,
      request: {
        principal: { type: "ApiToken", id: "t1", attributes: { name: "t1", role: "auditor" }, parents: [{ type: "Role", id: "auditor" }] },
        action: "audit.search",
        resource: { type: "AuditTrail", id: "audit", attributes: {}, parents: [{ type: "AuditTrail", id: "audit" }] },
        context: { source_ip: "127.0.0.1", time: 5 },
        entities: [],
      },
    });
  });
  it("lists every wrong field", () => {
    const r = buildRequest({ ...form, principalAttrs: "[]", context: "{", action: "" });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.split(":")[0])).toEqual(["principal attributes", "action", "context"]);
  });
});
