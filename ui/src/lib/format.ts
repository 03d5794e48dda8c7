// How the console's tables show times, counts and lists.

/** A server time (RFC 3339) in the window's locale; a dash when unset. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleString();
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** "a", "a and b", "a, b and c". */
export function listing(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? "";
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** Each non-empty line (or comma-separated part), trimmed, once, in order. */
export function splitList(text: string, separators: RegExp = /[\n,]/): string[] {
  const seen = new Set<string>();
  for (const part of text.split(separators)) {
    const item = part.trim();
    if (item) seen.add(item);
  }
  return [...seen];
}
