import { describe, expect, it } from "vitest";
import { count, listing, splitList, when } from "./format";

describe("format", () => {
  it("shows unset times as a dash and keeps what is not a time", () => {
    expect(when(null)).toBe("—");
    expect(when(undefined)).toBe("—");
    expect(when("soon")).toBe("soon");
    expect(when("2026-01-02T03:04:05Z")).not.toBe("—");
  });
  it("counts with separators", () => {
    expect(count(100000)).toBe("100,000");
  });
  it("lists in prose", () => {
    expect(listing([])).toBe("");
    expect(listing(["a"])).toBe("a");
    expect(listing(["a", "b"])).toBe("a and b");
    expect(listing(["a", "b", "c"])).toBe("a, b and c");
  });
  it("splits lists on lines and commas, trimmed and once each", () => {
    expect(splitList(" a, b\n\n c ,a,")).toEqual(["a", "b", "c"]);
    expect(splitList("x y\nz", /\n/)).toEqual(["x y", "z"]);
    expect(splitList("")).toEqual([]);
  });
});
