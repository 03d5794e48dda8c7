import { describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", () => ({ invoke: () => Promise.resolve(null), Channel: class {} }));

import { errors } from "./errors.svelte";
import { REFUSED, inlineOr } from "./failures";

describe("failures", () => {
  it("keep the codes about the request beside it", () => {
    errors.current = null;
    const refused = { code: "validation_failed", message: "proofs: needs an email or a phone proof", request_id: "r" };
    expect(inlineOr(refused, REFUSED)).toEqual(refused);
    expect(inlineOr({ ...refused, code: "conflict" }, ["conflict"])?.code).toBe("conflict");
    expect(errors.current).toBeNull();
  });
  it("send everything else to the banner", () => {
    const down = { code: "server_unreachable", message: "no answer", request_id: "" };
    expect(inlineOr(down, REFUSED)).toBeNull();
    expect(errors.current).toEqual(down);
    expect(inlineOr(new Error("boom"), REFUSED)).toBeNull();
    expect(errors.current?.code).toBe("internal");
    errors.current = null;
  });
});
