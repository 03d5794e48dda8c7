// Where the server's problems are in the editor: a PolicyProblem counts lines and
// columns from 1, the column in characters (Unicode scalar values, as Rust counts
// them); CodeMirror counts UTF-16 code units from 0 over the whole document, with
// one character per line break. Nothing here throws for a position outside the
// text: it lands on the nearest place that exists.
import type { Diagnostic } from "@codemirror/lint";
import type { PolicyProblem } from "../bindings";

export interface Span {
  from: number;
  to: number;
}

/** A whole number no smaller than `min` (NaN is `min`, infinity the largest safe number). */
function atLeast(value: number, min: number): number {
  if (typeof value !== "number" || Number.isNaN(value)) return min;
  return Math.max(min, Math.floor(Math.min(value, Number.MAX_SAFE_INTEGER)));
}

/** The start offset of every line of `text` (lines split on "\n", as CodeMirror's doc.toString() joins them). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** The document offset of `line`, `column` (both from 1, the column in characters), clamped to the text. */
export function offsetOf(text: string, line: number, column: number): number {
  const starts = lineStarts(text);
  const l = atLeast(line, 1);
  if (l > starts.length) return text.length;
  const start = starts[l - 1];
  const end = l < starts.length ? starts[l] - 1 : text.length;
  let remaining = atLeast(column, 1) - 1;
  let offset = start;
  while (remaining > 0 && offset < end) {
    const code = text.charCodeAt(offset);
    const pair = code >= 0xd800 && code <= 0xdbff && offset + 1 < end;
    offset += pair ? 2 : 1;
    remaining -= 1;
  }
  return offset;
}

const WORD = /[A-Za-z0-9_]/;

/**
 * The span a problem marks: from its position to the end of the word there (or
 * one character when it is not in a word); empty at the end of a line or text.
 */
export function problemSpan(text: string, line: number, column: number): Span {
  const from = offsetOf(text, line, column);
  let to = from;
  while (to < text.length && WORD.test(text[to])) to += 1;
  if (to === from && from < text.length && text[from] !== "\n") {
    const code = text.charCodeAt(from);
    to = from + (code >= 0xd800 && code <= 0xdbff && from + 1 < text.length ? 2 : 1);
  }
  return { from, to };
}

/** The editor's diagnostics for the server's problems (errors) and warnings, in document order. */
export function toDiagnostics(text: string, problems: PolicyProblem[], warnings: PolicyProblem[] = []): Diagnostic[] {
  const one = (p: PolicyProblem, severity: "error" | "warning"): Diagnostic => ({
    ...problemSpan(text, p.line, p.column),
    severity,
    source: p.policy_id ? `policy ${p.policy_id}` : undefined,
    message: p.message,
  });
  return [...problems.map((p) => one(p, "error")), ...warnings.map((p) => one(p, "warning"))].sort(
    (a, b) => a.from - b.from || a.to - b.to,
  );
}

/** How a problem reads in the list under the editor. */
export const describeProblem = (p: PolicyProblem) => `line ${p.line}, column ${p.column}: ${p.message}`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Where `@id("id")` is in the text (the annotation itself), or null when it is not there. */
export function findPolicy(text: string, id: string): Span | null {
  const quoted = escapeRegExp(JSON.stringify(id).slice(1, -1));
  const match = new RegExp(`@id\\s*\\(\\s*"${quoted}"\\s*\\)`).exec(text);
  return match ? { from: match.index, to: match.index + match[0].length } : null;
}
