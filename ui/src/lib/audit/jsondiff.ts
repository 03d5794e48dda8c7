// A record's change, field by field: every path in before or after, with both
// values and whether it changed.
export type Change = { path: string; before: string | null; after: string | null; kind: "same" | "changed" | "added" | "removed" };

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value) && value.length > 0) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else {
    out.set(prefix || "(value)", typeof value === "string" ? value : JSON.stringify(value));
  }
}

export function diffJson(before: unknown, after: unknown): Change[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  if (before !== null && before !== undefined) flatten(before, "", a);
  if (after !== null && after !== undefined) flatten(after, "", b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths.map((path) => {
    const x = a.get(path) ?? null;
    const y = b.get(path) ?? null;
    const kind = x === null ? "added" : y === null ? "removed" : x === y ? "same" : "changed";
    return { path, before: x, after: y, kind };
  });
}
