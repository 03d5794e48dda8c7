import { describe, expect, it } from "vitest";
import { hashOf, parseHash, PAGES } from "./routes";

describe("routes", () => {
  it("round-trips every page", () => {
    for (const page of PAGES) expect(parseHash(hashOf(page))).toBe(page);
  });
  it("knows the users, sign-up flows, machines and outbox pages", () => {
    for (const page of ["users", "flows", "machines", "outbox"]) expect(PAGES).toContain(page);
  });
  it("falls back to the audit trail", () => {
    for (const hash of ["", "#", "#/", "#/nope", "#/../settings", "settings-x", "#/tokens"]) expect(parseHash(hash)).toBe("audit");
  });
  it("ignores trailing parts", () => {
    expect(parseHash("#/users/42")).toBe("users");
    expect(parseHash("#/policies?v=3")).toBe("policies");
    expect(parseHash("#/audit?resource_type=user&resource_id=u1")).toBe("audit");
  });
});
