import { describe, expect, it } from "vitest";
import type { PolicyProblem } from "../bindings";
import { describeProblem, findPolicy, lineStarts, offsetOf, problemSpan, toDiagnostics } from "./positions";

const problem = (line: number, column: number, message = "m", policy_id: string | null = null): PolicyProblem => ({
  policy_id, message, line, column,
});

describe("offsetOf", () => {
  const text = "permit (\n  principal,\n  action\n);";
  it("counts lines and columns from 1", () => {
    expect(offsetOf(text, 1, 1)).toBe(0);
    expect(offsetOf(text, 2, 3)).toBe(text.indexOf("principal"));
    expect(offsetOf(text, 4, 2)).toBe(text.length - 1);
  });
  it("clamps a column past the end of its line to the line's end", () => {
    expect(offsetOf(text, 1, 500)).toBe(text.indexOf("\n"));
    expect(offsetOf(text, 4, 99)).toBe(text.length);
  });
  it("clamps lines and columns before the start, and lines past the end", () => {
    expect(offsetOf(text, 0, 0)).toBe(0);
    expect(offsetOf(text, -3, -7)).toBe(0);
    expect(offsetOf(text, 99, 1)).toBe(text.length);
    expect(offsetOf("", 5, 5)).toBe(0);
    expect(offsetOf(text, Number.NaN, Number.POSITIVE_INFINITY)).toBe(text.indexOf("\n"));
  });
  it("counts columns in characters, not UTF-16 units", () => {
    const t = '// 😀é x\npermit';
    // "😀" is one character but two code units.
    expect(offsetOf(t, 1, 4)).toBe(3);
    expect(offsetOf(t, 1, 5)).toBe(5);
    expect(t.slice(offsetOf(t, 1, 7))).toMatch(/^x/);
  });
  it("finds line starts", () => {
    expect(lineStarts("a\nbc\n")).toEqual([0, 2, 5]);
  });
});

describe("problemSpan", () => {
  const text = "permit (principal, acton, resource);\n";
  it("covers the word at the position", () => {
    const span = problemSpan(text, 1, 20);
    expect(text.slice(span.from, span.to)).toBe("acton");
  });
  it("covers one character off a word, none at a line end", () => {
    const span = problemSpan(text, 1, 8);
    expect(text.slice(span.from, span.to)).toBe("(");
    expect(problemSpan(text, 1, 37)).toEqual({ from: 36, to: 36 });
    expect(problemSpan(text, 9, 9)).toEqual({ from: text.length, to: text.length });
  });
});

describe("toDiagnostics", () => {
  it("makes errors and warnings in document order", () => {
    const text = "one\ntwo\nthree";
    const d = toDiagnostics(text, [problem(3, 1, "late", "p1")], [problem(1, 2, "early")]);
    expect(d.map((x) => [x.from, x.to, x.severity, x.message])).toEqual([
      [1, 3, "warning", "early"],
      [8, 13, "error", "late"],
    ]);
    expect(d[1].source).toBe("policy p1");
  });
  it("never throws for positions outside the text", () => {
    expect(() => toDiagnostics("x", [problem(1000, 1000), problem(0, 0)])).not.toThrow();
    const d = toDiagnostics("x", [problem(1000, 1000)]);
    expect(d[0].from).toBe(1);
  });
  it("reads as the list shows it", () => {
    expect(describeProblem(problem(2, 5, "unexpected token"))).toBe("line 2, column 5: unexpected token");
  });
});

describe("findPolicy", () => {
  const text = '@id("a.b")\npermit (principal, action, resource);\n@id( "x\\"y" )\nforbid (principal, action, resource);';
  it("finds a policy by its @id", () => {
    expect(findPolicy(text, "a.b")).toEqual({ from: 0, to: 10 });
    expect(findPolicy(text, 'x"y')?.from).toBe(text.indexOf('@id( "x'));
  });
  it("is null for an id not in the text, and does not treat the id as a pattern", () => {
    expect(findPolicy(text, "nope")).toBeNull();
    expect(findPolicy(text, "a.")).toBeNull();
    expect(findPolicy(text, "a?b")).toBeNull();
  });
});
