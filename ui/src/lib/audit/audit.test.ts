import { describe, expect, it } from "vitest";
import type { AuditRow, AuditRows } from "../bindings";
import { diffJson } from "./jsondiff";
import { MAX_PAGES, PAGE_SIZE, Pager, windowOf } from "./pager";
import { BLOCKED, FILTER_KEYS, OUTCOMES, emptyQuery, hashOfQuery, queryForBlocked, queryFromHash } from "./query";

const row = (seq: number): AuditRow => [seq, 0, "api_token", "t", "n", "a", "r", "1", "success", 200, "127.0.0.1", "req", false];

/** A trail of `total` records, newest first, paged by seq cursors like the server. */
function trail(total: number) {
  const calls: (string | null)[] = [];
  const fetch = async (cursor: string | null): Promise<AuditRows> => {
    calls.push(cursor);
    const start = cursor === null ? total : Number(cursor) - 1;
    const rows: AuditRow[] = [];
    for (let s = start; s >= 1 && rows.length < PAGE_SIZE; s--) rows.push(row(s));
    const last = rows[rows.length - 1];
    return { rows, next_cursor: last && last[0] > 1 ? String(last[0]) : null, server_micros: 0 };
  };
  return { fetch, calls };
}

describe("audit filters in the hash", () => {
  it("round-trip, skipping empty values and unknown keys", () => {
    const q = { ...emptyQuery(), actor: "alice & bob", from: "2026-01-01T00:00:00.000Z", q: "  " };
    const hash = hashOfQuery(q);
    expect(hash).toBe("#/audit?from=2026-01-01T00%3A00%3A00.000Z&actor=alice+%26+bob");
    expect(queryFromHash(hash)).toEqual({ ...emptyQuery(), actor: "alice & bob", from: "2026-01-01T00:00:00.000Z" });
    expect(queryFromHash("#/audit?evil=1&outcome=denied")).toEqual({ ...emptyQuery(), outcome: "denied" });
    expect(hashOfQuery(emptyQuery())).toBe("#/audit");
  });

  it("take the filter keys and lists from the generated bindings", () => {
    // The bindings are generated from gatehouse-types (a Rust test fails when stale).
    expect(OUTCOMES).toEqual(["success", "denied", "rejected", "failed"]);
    expect(BLOCKED).toEqual(["any", "authentication", "authorization", "rate_limit", "bad_input", "unknown_route", "waf", "bot", "honeypot", "timeout"]);
    expect(Object.keys(emptyQuery()).sort()).toEqual([...FILTER_KEYS, "limit", "cursor"].sort());
  });

  it("turn a blocked-dashboard click into the matching audit filter", () => {
    const range = { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" };
    expect(queryForBlocked("by_reason", "authorization", range)).toMatchObject({ blocked: "authorization", outcome: null });
    expect(queryForBlocked("over_time", "bad_input", range).blocked).toBe("bad_input");
    expect(queryForBlocked("top_sources", "10.0.0.9", range)).toMatchObject({ source: "10.0.0.9", blocked: "any" });
    expect(queryForBlocked("top_identities", "ci (0b6c…-id)", range).actor).toBe("0b6c…-id");
    expect(queryForBlocked("top_routes", "/v1/server", range)).toMatchObject({ q: "/v1/server", from: range.from, to: range.to });
    expect(queryForBlocked("top_waf_rules", "942100 · SQL injection", range)).toMatchObject({ blocked: "waf", q: "942100" });
    expect(queryForBlocked("top_decoys", "/.env", range)).toMatchObject({ blocked: "honeypot", q: "/.env" });
    expect(queryForBlocked("by_bot", "bad_bot", range)).toMatchObject({ blocked: "any", q: "bad_bot" });
  });
});

describe("the pager", () => {
  it("walks a long trail page by page, holding at most MAX_PAGES", async () => {
    const { fetch, calls } = trail(10 * PAGE_SIZE + 7);
    let changes = 0;
    let view = 0;
    const pager = new Pager(fetch, () => changes++, (e) => { throw e; }, () => view);
    for (view = 0; view <= 10; view++) await Promise.all(pager.ensure(view * PAGE_SIZE, view * PAGE_SIZE + 40));
    expect(pager.isComplete).toBe(true);
    expect(pager.rowCount).toBe(10 * PAGE_SIZE + 7);
    expect(pager.row(10 * PAGE_SIZE + 6)?.[0]).toBe(1);
    expect(pager.heldRows).toBeLessThanOrEqual(MAX_PAGES * PAGE_SIZE);
    expect(pager.row(0)).toBeUndefined(); // dropped, far from the view
    view = 0;
    await Promise.all(pager.ensure(0, 10));
    expect(pager.row(0)?.[0]).toBe(10 * PAGE_SIZE + 7);
    expect(calls[0]).toBeNull();
    expect(calls.length).toBe(12);
    expect(changes).toBe(12);
  });

  it("ignores answers to a search that was replaced", async () => {
    const slow = trail(3);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const pager = new Pager(async (c) => { await gate; return slow.fetch(c); }, () => {}, () => {});
    const first = pager.ensure(0, 10);
    pager.reset(trail(PAGE_SIZE * 2).fetch);
    await Promise.all(pager.ensure(0, 10));
    release();
    await Promise.all(first);
    expect(pager.row(0)?.[0]).toBe(PAGE_SIZE * 2);
    expect(pager.rowCount).toBe(PAGE_SIZE * 2);
  });

  it("reports a failed page and can fetch it again", async () => {
    let fail = true;
    const errors: unknown[] = [];
    const good = trail(3);
    const pager = new Pager(async (c) => { if (fail) throw new Error("server gone"); return good.fetch(c); }, () => {}, (e) => errors.push(e));
    await Promise.all(pager.ensure(0, 5));
    expect(errors.length).toBe(1);
    fail = false;
    await Promise.all(pager.ensure(0, 5));
    expect(pager.row(2)?.[0]).toBe(1);
  });
});

describe("the pager on a trail that grows while it is read", () => {
  it("fetches page 0 again as it first was, so it still meets page 1", async () => {
    let total = 5 * PAGE_SIZE;
    const fetch = async (cursor: string | null): Promise<AuditRows> => {
      total += 1; // every search is itself audited
      const start = cursor === null ? total : Number(cursor) - 1;
      const rows: AuditRow[] = [];
      for (let s = start; s >= 1 && rows.length < PAGE_SIZE; s--) rows.push(row(s));
      const last = rows[rows.length - 1];
      return { rows, next_cursor: last && last[0] > 1 ? String(last[0]) : null, server_micros: 0 };
    };
    let view = 0;
    const pager = new Pager(fetch, () => {}, (e) => { throw e; }, () => view);
    for (view = 0; view <= 5; view++) await Promise.all(pager.ensure(view * PAGE_SIZE, view * PAGE_SIZE + 10));
    view = 0;
    await Promise.all(pager.ensure(0, 10));
    const firstOfPage1 = pager.row(PAGE_SIZE)?.[0];
    const lastOfPage0 = pager.row(PAGE_SIZE - 1)?.[0];
    expect(firstOfPage1).toBeDefined();
    expect(lastOfPage0).toBe((firstOfPage1 as number) + 1);
  });

  it("keeps the page in view when a page requested elsewhere arrives", async () => {
    const { fetch } = trail(10 * PAGE_SIZE);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let view = 0;
    let slow = false;
    const pager = new Pager(async (c) => { if (slow) await gate; return fetch(c); }, () => {}, () => {}, () => view);
    for (view = 0; view <= 5; view++) await Promise.all(pager.ensure(view * PAGE_SIZE, view * PAGE_SIZE + 10));
    slow = true;
    view = 6;
    const far = pager.ensure(6 * PAGE_SIZE, 6 * PAGE_SIZE + 10);
    view = 0; // the user jumped back to the top before it arrived
    release();
    await Promise.all(far);
    expect(pager.row(0)).toBeDefined();
    expect(pager.row(6 * PAGE_SIZE)).toBeUndefined();
  });
});

describe("the visible window", () => {
  it("is exact for short lists and scaled for millions of rows", () => {
    expect(windowOf(300, 600, 1000, 30, 10_000_000)).toMatchObject({ first: 10, offset: 300, total: 30_000 });
    const bottom = windowOf(10_000_000 - 600, 600, 10_000_000, 30, 10_000_000);
    expect(bottom.total).toBe(10_000_000);
    expect(bottom.last).toBe(9_999_999);
    const middle = windowOf(5_000_000, 600, 10_000_000, 30, 10_000_000);
    expect(middle.first).toBeGreaterThan(4_900_000);
    expect(middle.first).toBeLessThan(5_100_000);
  });
});

describe("a record's change", () => {
  it("lists every field with its before and after", () => {
    const changes = diffJson({ name: "ci", role: "auditor", scopes: ["a"] }, { name: "ci", role: "administrator", revoked: true, scopes: ["a"] });
    expect(changes).toEqual([
      { path: "name", before: "ci", after: "ci", kind: "same" },
      { path: "revoked", before: null, after: "true", kind: "added" },
      { path: "role", before: "auditor", after: "administrator", kind: "changed" },
      { path: "scopes[0]", before: "a", after: "a", kind: "same" },
    ]);
    expect(diffJson(null, { a: 1 })).toEqual([{ path: "a", before: null, after: "1", kind: "added" }]);
    expect(diffJson({ a: {} }, null)).toEqual([{ path: "a", before: "{}", after: null, kind: "removed" }]);
  });
});
