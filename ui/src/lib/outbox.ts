// The development outbox: what the embedded server "sent", newest first.
import type { OutboxMessage } from "./bindings";

export function newestFirst(items: readonly OutboxMessage[]): OutboxMessage[] {
  // `id` increases over the outbox's life (a JSON number on the wire).
  return [...items].sort((a, b) => Number(b.id) - Number(a.id));
}
