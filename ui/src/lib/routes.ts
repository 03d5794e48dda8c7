// The shell's pages, addressed by the location hash so back/forward work.
/** The pages in the navigation. */
export const PAGES = ["audit", "blocked", "gateway", "policies", "users", "flows", "machines", "outbox", "settings"] as const;
/** Pages reached by a link (and by typing their hash), not from the navigation. */
export const LINKED_PAGES = ["why"] as const;
export type NavPage = (typeof PAGES)[number];
export type Page = NavPage | (typeof LINKED_PAGES)[number];

const KNOWN: readonly string[] = [...PAGES, ...LINKED_PAGES];

export function parseHash(hash: string): Page {
  const name = hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return KNOWN.includes(name) ? (name as Page) : "audit";
}

export function hashOf(page: Page): string {
  return `#/${page}`;
}

/** One parameter of a hash such as `#/why?request_id=…`, trimmed; null when absent or blank. */
export function paramOf(hash: string, key: string): string | null {
  const at = hash.indexOf("?");
  if (at < 0) return null;
  const value = new URLSearchParams(hash.slice(at + 1)).get(key)?.trim();
  return value ? value : null;
}

/** The "why" of one request (GW-9). */
export function whyHash(requestId: string): string {
  return `#/why?${new URLSearchParams({ request_id: requestId.trim() })}`;
}

/** The policy editor, opened at the policy with this `@id`. */
export function policyHash(id: string): string {
  return `#/policies?${new URLSearchParams({ policy: id })}`;
}
