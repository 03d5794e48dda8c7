import { describe, expect, it } from "vitest";
import { normalizeFingerprint, validateConnect } from "./validate";

const FP = Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, "0")).join(":");

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
  it("accepts a pasted fingerprint, refuses anything else without repeating it", () => {
    expect(validateConnect("https://a:1", "t", false, FP)).toBeNull();
    const token = "gh_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7aB3dE6gH9jK2mN5p";
    const refused = validateConnect("https://a:1", "t", false, token);
    expect(refused?.code).toBe("invalid_input");
    expect(refused?.message).not.toContain(token.slice(3, 20));
    expect(validateConnect(token, "t", false)?.message).not.toContain(token.slice(3, 20));
  });
});

describe("normalizeFingerprint", () => {
  it("ignores case, colons, spaces and the label", () => {
    const compact = FP.replace(/:/g, "");
    expect(normalizeFingerprint(FP)).toBe(FP);
    expect(normalizeFingerprint(compact.toLowerCase())).toBe(FP);
    expect(normalizeFingerprint(FP.replace(/:/g, " "))).toBe(FP);
    expect(normalizeFingerprint(`certificate SHA-256:  ${FP}`)).toBe(FP);
    expect(normalizeFingerprint(`sha256:${compact}`)).toBe(FP);
  });
  it("refuses what is not 32 bytes of hex", () => {
    expect(normalizeFingerprint("AB:CD")).toBeNull();
    expect(normalizeFingerprint(FP + ":00")).toBeNull();
    expect(normalizeFingerprint("zz".repeat(32))).toBeNull();
    expect(normalizeFingerprint("")).toBeNull();
  });
});
