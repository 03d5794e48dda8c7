import { describe, expect, it } from "vitest";
import { validateConnect } from "./validate";

describe("validateConnect", () => {
  it("accepts an https address and a token", () => {
    expect(validateConnect("https://127.0.0.1:8443", "gh_x", false)).toBeNull();
    expect(validateConnect(" https://gatehouse.example/ ", "gh_x", false)).toBeNull();
  });
  it("accepts an empty token when one is kept", () => {
    expect(validateConnect("https://a:1", "", true)).toBeNull();
  });
  it("refuses plain http, paths, empty input", () => {
    expect(validateConnect("http://a:1", "t", false)?.code).toBe("invalid_server_url");
    expect(validateConnect("a:1", "t", false)?.code).toBe("invalid_server_url");
    expect(validateConnect("https://a:1/v1", "t", false)?.code).toBe("invalid_server_url");
    expect(validateConnect("", "t", false)?.code).toBe("invalid_server_url");
    expect(validateConnect("https://a:1", "  ", false)?.code).toBe("invalid_input");
  });
});
