// The audit list's data: keyset pages of PAGE_SIZE rows fetched on demand, at
// most MAX_PAGES held at once (the farthest from the view dropped first and
// fetched again by its cursor when scrolled back to).
import type { AuditRow, AuditRows } from "../bindings";

export const PAGE_SIZE = 500;
export const MAX_PAGES = 6;

export type Fetch = (cursor: string | null) => Promise<AuditRows>;

export class Pager {
  /** cursors[i] fetches page i; page 0 starts at the newest record. */
  private cursors: (string | null)[] = [null];
  private pages = new Map<number, AuditRow[]>();
  private pending = new Set<number>();
  private lastPage: number | null = null;
  private generation = 0;

  /**
   * `centre` is the page the view is on now: eviction keeps the pages nearest it
   * (not the ones nearest where the view was when a request started).
   */
  constructor(
    private fetch: Fetch,
    private onchange: () => void,
    private onerror: (e: unknown) => void,
    private centre: () => number = () => 0,
  ) {}

  /** Starts again (new filters); answers to earlier requests are ignored. */
  reset(fetch: Fetch): void {
    this.fetch = fetch;
    this.cursors = [null];
    this.pages.clear();
    this.pending.clear();
    this.lastPage = null;
    this.generation += 1;
  }

  /** Rows known to exist: exact once the last page is seen, else through the next unfetched page. */
  get rowCount(): number {
    if (this.lastPage !== null) {
      return this.lastPage * PAGE_SIZE + (this.pages.get(this.lastPage)?.length ?? PAGE_SIZE);
    }
    return this.cursors.length * PAGE_SIZE;
  }

  get isComplete(): boolean {
    return this.lastPage !== null;
  }

  get heldRows(): number {
    let n = 0;
    for (const rows of this.pages.values()) n += rows.length;
    return n;
  }

  row(index: number): AuditRow | undefined {
    return this.pages.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  /** The newest record's seq, when page 0 is held. */
  get newestSeq(): number | null {
    return this.pages.get(0)?.[0]?.[0] ?? null;
  }

  /** Fetches the pages rows first..last fall in (those whose cursor is known). */
  ensure(first: number, last: number): Promise<void>[] {
    const from = Math.max(0, Math.floor(first / PAGE_SIZE));
    const to = Math.floor(Math.max(first, last) / PAGE_SIZE);
    const started: Promise<void>[] = [];
    for (let p = from; p <= to && p < this.cursors.length; p++) {
      if (this.pages.has(p) || this.pending.has(p)) continue;
      started.push(this.load(p));
    }
    return started;
  }

  private async load(page: number): Promise<void> {
    const generation = this.generation;
    this.pending.add(page);
    try {
      const answer = await this.fetch(this.cursors[page] ?? null);
      if (generation !== this.generation) return;
      this.pages.set(page, answer.rows);
      // The trail grows while it is read (every search is itself audited): page 0
      // is pinned to the records it first showed, so that fetched again after
      // eviction it still ends where page 1 begins.
      if (page === 0 && this.cursors[0] === null && answer.rows.length > 0) {
        this.cursors[0] = String(answer.rows[0][0] + 1);
      }
      if (answer.next_cursor) {
        if (page + 1 === this.cursors.length) this.cursors.push(answer.next_cursor);
      } else {
        this.lastPage = page;
        this.cursors.length = page + 1;
      }
      this.evict(this.centre());
      this.onchange();
    } catch (e) {
      if (generation === this.generation) this.onerror(e);
    } finally {
      if (generation === this.generation) this.pending.delete(page);
    }
  }

  private evict(centre: number): void {
    while (this.pages.size > MAX_PAGES) {
      let farthest = -1;
      for (const p of this.pages.keys()) {
        if (farthest < 0 || Math.abs(p - centre) > Math.abs(farthest - centre)) farthest = p;
      }
      this.pages.delete(farthest);
    }
  }
}

/**
 * Which rows to draw for a scroll position. Heights past `maxPx` are scaled so
 * that millions of rows fit in what the web view can lay out.
 */
export function windowOf(scrollTop: number, viewport: number, rows: number, rowHeight: number, maxPx: number) {
  const natural = rows * rowHeight;
  const total = Math.min(natural, maxPx);
  const visible = Math.ceil(viewport / rowHeight) + 1;
  const maxScroll = Math.max(1, total - viewport);
  const span = Math.max(0, rows - (visible - 1));
  const exact = natural <= maxPx ? scrollTop / rowHeight : (Math.min(scrollTop, maxScroll) / maxScroll) * span;
  const first = Math.max(0, Math.min(Math.floor(exact), Math.max(0, rows - 1)));
  const offset = scrollTop - (exact - first) * rowHeight;
  return { total, first, last: Math.min(rows - 1, first + visible), offset };
}
