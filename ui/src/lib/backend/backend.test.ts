import { beforeEach, describe, expect, it, vi } from "vitest";

// A plain stub rather than vi.fn: the spy's own bookkeeping of a rejected promise
// would surface as a test failure of its own.
const calls: unknown[][] = [];
let answer: () => Promise<unknown> = () => Promise.resolve(null);
vi.mock("@tauri-apps/api/core", () => ({
  invoke: (...args: unknown[]) => {
    calls.push(args);
    return answer();
  },
}));

import { BackendError, connectServer, getSession, toApiError } from "./index";

describe("backend", () => {
  beforeEach(() => {
    calls.length = 0;
    answer = () => Promise.resolve(null);
  });

  it("passes arguments and returns the answer", async () => {
    await expect(getSession()).resolves.toBeNull();
    await connectServer("https://a:1", "t", { kind: "fingerprint", confirmed: null });
    expect(calls[calls.length - 1]).toEqual([
      "connect_server",
      { url: "https://a:1", token: "t", verification: { kind: "fingerprint", confirmed: null } },
    ]);
  });

  it("keeps an ApiError rejection as it is", async () => {
    const error = { code: "invalid_token", message: "invalid or expired token", request_id: "r1" };
    answer = () => Promise.reject(error);
    let caught: unknown = null;
    try {
      await getSession();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(BackendError);
    expect((caught as BackendError).apiError).toEqual(error);
  });

  it("wraps anything else as internal", () => {
    expect(toApiError("boom")).toEqual({ code: "internal", message: "boom", request_id: "" });
    expect(toApiError(new Error("bad"))).toMatchObject({ code: "internal", message: "bad" });
    expect(toApiError({ code: 5 })).toMatchObject({ code: "internal" });
    expect(toApiError(undefined)).toMatchObject({ code: "internal", message: "undefined" });
  });
});
