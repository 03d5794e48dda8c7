import { describe, expect, it } from "vitest";
import type { OutboxMessage } from "./bindings";
import { newestFirst } from "./outbox";

const message = (id: number): OutboxMessage =>
  ({ id: id as unknown as bigint, at: "2026-01-01T00:00:00Z", to: "a@example.org", channel: "email", kind: "notice", subject: "s", body: "b" });

describe("the outbox", () => {
  it("lists the newest message first", () => {
    const items = [message(1), message(3), message(2)];
    expect(newestFirst(items).map((m) => Number(m.id))).toEqual([3, 2, 1]);
    expect(items.map((m) => Number(m.id))).toEqual([1, 3, 2]);
  });
});
