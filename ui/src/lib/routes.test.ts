import { describe, expect, it } from "vitest";
import { LINKED_PAGES, PAGES, hashOf, paramOf, parseHash, policyHash, whyHash } from "./routes";

describe("routes", () => {
  it("round-trips every page", () => {
    for (const page of [...PAGES, ...LINKED_PAGES]) expect(parseHash(hashOf(page))).toBe(page);
  });
  it("knows the users, sign-up flows, machines and outbox pages", () => {
    for (const page of ["users", "flows", "machines", "outbox"]) expect(PAGES).toContain(page);
  });
  // proves: GW-7
  it("has the gateway in the navigation, and the why view only by link", () => {
    expect(PAGES).toContain("gateway");
    expect(PAGES).not.toContain("why");
    expect(parseHash("#/gateway")).toBe("gateway");
    expect(parseHash("#/why?request_id=r-1")).toBe("why");
  });
  it("falls back to the audit trail", () => {
    for (const hash of ["", "#", "#/", "#/nope", "#/../settings", "settings-x", "#/tokens", "#/whys", "#/gatewayx"]) expect(parseHash(hash)).toBe("audit");
  });
  it("ignores trailing parts", () => {
    expect(parseHash("#/users/42")).toBe("users");
    expect(parseHash("#/policies?v=3")).toBe("policies");
    expect(parseHash("#/audit?resource_type=user&resource_id=u1")).toBe("audit");
  });
  // proves: GW-9
  it("links a request id to its why, and a policy id to the editor", () => {
    expect(whyHash(" req-1 ")).toBe("#/why?request_id=req-1");
    expect(paramOf(whyHash("a_b-9"), "request_id")).toBe("a_b-9");
    expect(policyHash("forbid admin")).toBe("#/policies?policy=forbid+admin");
    expect(paramOf(policyHash("forbid admin & co"), "policy")).toBe("forbid admin & co");
    expect(paramOf("#/why", "request_id")).toBeNull();
    expect(paramOf("#/why?request_id=%20", "request_id")).toBeNull();
    expect(paramOf("#/why?other=1", "request_id")).toBeNull();
  });
});
