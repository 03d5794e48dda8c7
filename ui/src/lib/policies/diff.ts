// Side-by-side rows from the server's line diff: in each hunk (a run of deletes
// and inserts between equal lines) the n-th deleted line sits beside the n-th
// inserted one; equal lines are on both sides.
import type { DiffLine } from "../bindings";

export interface DiffCell {
  line: number | null;
  text: string;
}

export interface DiffRow {
  /** The old side (deleted or equal), or null when the row only inserts. */
  left: DiffCell | null;
  /** The new side (inserted or equal), or null when the row only deletes. */
  right: DiffCell | null;
  equal: boolean;
}

export function pairDiff(lines: DiffLine[]): DiffRow[] {
  const rows: DiffRow[] = [];
  let deletes: DiffCell[] = [];
  let inserts: DiffCell[] = [];
  const flush = () => {
    for (let i = 0; i < Math.max(deletes.length, inserts.length); i++) {
      rows.push({ left: deletes[i] ?? null, right: inserts[i] ?? null, equal: false });
    }
    deletes = [];
    inserts = [];
  };
  for (const l of lines) {
    if (l.op === "delete") deletes.push({ line: l.old_line, text: l.text });
    else if (l.op === "insert") inserts.push({ line: l.new_line, text: l.text });
    else {
      flush();
      rows.push({ left: { line: l.old_line, text: l.text }, right: { line: l.new_line, text: l.text }, equal: true });
    }
  }
  flush();
  return rows;
}

/** The row's classes: `eq`, `del`, `ins`, or `del ins` for a changed line shown beside its replacement. */
export function rowClass(row: DiffRow): string {
  if (row.equal) return "eq";
  return [row.left ? "del" : "", row.right ? "ins" : ""].filter(Boolean).join(" ");
}
