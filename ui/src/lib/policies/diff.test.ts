import { describe, expect, it } from "vitest";
import type { DiffLine } from "../bindings";
import { pairDiff, rowClass } from "./diff";

const eq = (o: number, n: number, text: string): DiffLine => ({ op: "equal", old_line: o, new_line: n, text });
const del = (o: number, text: string): DiffLine => ({ op: "delete", old_line: o, new_line: null, text });
const ins = (n: number, text: string): DiffLine => ({ op: "insert", old_line: null, new_line: n, text });

describe("pairDiff", () => {
  it("puts equal lines on both sides", () => {
    const rows = pairDiff([eq(1, 1, "a"), eq(2, 2, "b")]);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toEqual({ left: { line: 2, text: "b" }, right: { line: 2, text: "b" }, equal: true });
    expect(rowClass(rows[0])).toBe("eq");
  });
  it("pairs the deletes and inserts of one hunk side by side", () => {
    const rows = pairDiff([eq(1, 1, "a"), del(2, "old1"), del(3, "old2"), ins(2, "new1"), eq(4, 3, "z")]);
    expect(rows.map((r) => [r.left?.text ?? null, r.right?.text ?? null, rowClass(r)])).toEqual([
      ["a", "a", "eq"],
      ["old1", "new1", "del ins"],
      ["old2", null, "del"],
      ["z", "z", "eq"],
    ]);
  });
  it("keeps hunks apart and handles inserts first, at the start and at the end", () => {
    const rows = pairDiff([ins(1, "n1"), del(1, "o1"), eq(2, 2, "m"), ins(3, "n3"), ins(4, "n4")]);
    expect(rows.map((r) => [r.left?.line ?? null, r.right?.line ?? null, rowClass(r)])).toEqual([
      [1, 1, "del ins"],
      [2, 2, "eq"],
      [null, 3, "ins"],
      [null, 4, "ins"],
    ]);
  });
  it("is empty for no lines", () => {
    expect(pairDiff([])).toEqual([]);
  });
});
