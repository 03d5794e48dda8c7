// The shell's pages, addressed by the location hash so back/forward work.
export const PAGES = ["audit", "blocked", "policies", "users", "flows", "machines", "outbox", "settings"] as const;
export type Page = (typeof PAGES)[number];

export function parseHash(hash: string): Page {
  const name = hash.replace(/^#\/?/, "").split(/[/?]/)[0];
  return (PAGES as readonly string[]).includes(name) ? (name as Page) : "audit";
}

export function hashOf(page: Page): string {
  return `#/${page}`;
}
