import { describe, expect, it } from "vitest";
import type { ClientResponse, KeyResponse } from "../bindings";
import {
  GRANT_TYPES, ROLES, createRequestOf, editOf, emptyClientForm, scopesOf, sortKeys, updateRequestOf, urisOf, withGrant,
} from "./machines";

const client: ClientResponse = {
  client_id: "c1", name: "Reports", role: "service", is_confidential: true, grant_types: ["client_credentials"],
  scopes: ["audit:read"], redirect_uris: [], status: "active", previous_secret_valid_until: null, tokens_valid_after: null,
  created_at: "2026-01-01T00:00:00Z", created_by: "admin", updated_at: "2026-01-01T00:00:00Z",
};
const key = (kid: string, state: KeyResponse["state"], created_at: string): KeyResponse =>
  ({ kid, algorithm: "EdDSA", state, created_at, activated_at: null, verifies_until: null, retired_at: null, public_jwk: {} });

describe("clients", () => {
  it("list every grant type and role", () => {
    expect(GRANT_TYPES).toEqual(["client_credentials", "authorization_code", "refresh_token"]);
    expect([...ROLES].sort()).toEqual(["administrator", "auditor", "service", "user"]);
  });

  it("split scopes on spaces or commas and redirect URIs on lines", () => {
    expect(scopesOf(" audit:read, policies:read  audit:read\n")).toEqual(["audit:read", "policies:read"]);
    expect(urisOf("https://a.example/cb\n\n http://127.0.0.1/cb \n")).toEqual(["https://a.example/cb", "http://127.0.0.1/cb"]);
  });

  it("tick grant types in the listed order", () => {
    expect(withGrant(["refresh_token"], "authorization_code", true)).toEqual(["authorization_code", "refresh_token"]);
    expect(withGrant(["refresh_token", "client_credentials"], "refresh_token", false)).toEqual(["client_credentials"]);
  });

  it("turn the register form into a request", () => {
    const form = { ...emptyClientForm(), name: " CI ", scopes: "audit:read", redirect_uris: "https://x.example/cb" };
    expect(createRequestOf(form)).toEqual({
      name: "CI", role: "service", is_confidential: true, grant_types: ["client_credentials"],
      scopes: ["audit:read"], redirect_uris: ["https://x.example/cb"],
    });
  });

  it("send only what an edit changed", () => {
    expect(updateRequestOf(client, editOf(client))).toBeNull();
    expect(updateRequestOf(client, { ...editOf(client), name: "Reports 2", redirect_uris: "https://r.example/cb" }))
      .toEqual({ name: "Reports 2", redirect_uris: ["https://r.example/cb"] });
    expect(updateRequestOf(client, { ...editOf(client), scopes: "" })).toEqual({ scopes: [] });
  });
});

describe("signing keys", () => {
  it("are listed by their life, retired ones newest first", () => {
    const keys = [key("r1", "retired", "2026-01-01"), key("p", "previous", "2026-02-01"), key("r2", "retired", "2026-01-15"),
      key("c", "current", "2026-03-01"), key("n", "next", "2026-03-02")];
    expect(sortKeys(keys).map((k) => k.kid)).toEqual(["n", "c", "p", "r2", "r1"]);
  });
});
