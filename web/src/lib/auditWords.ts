// An audit record in words, for people: names, not ids; what happened, not the action's code.

import type { AuditRecord, Person } from "@lockd/client";

const nameOf = (person: Person | null | undefined, fallback: string) => (person ? person.name || person.userId : fallback);

/** Only a reason the admin wrote is quoted (older apps sent a stock one when none was given). */
export function writtenReason(reason: string): string | null {
  const trimmed = reason.trim();
  return trimmed === "" || trimmed === "admin requested control" ? null : trimmed;
}

/** "Carol Diaz took over from Alice Martin: “the client called”". */
export function describeAudit(record: AuditRecord): string {
  const by = nameOf(record.by, "Someone");
  const from = nameOf(record.from, "someone");
  switch (record.action) {
    case "granted":
      return `${by} started editing`;
    case "released":
      return record.by && record.from && record.by.userId !== record.from.userId ? `${by} released ${from}'s lock` : `${from} finished editing`;
    case "disconnected":
      return `${capitalised(from)}'s connection dropped: the lock was released`;
    case "expired":
      return `${capitalised(from)}'s lock lapsed after no activity`;
    case "unclaimed":
      return `${capitalised(from)} did not start in time: the lock passed on`;
    case "moved":
      return `${by} continued in another tab`;
    case "taken_over": {
      const reason = writtenReason(record.reason);
      return `${by} took over from ${from}${reason ? `: “${reason}”` : ", giving no reason"}`;
    }
    default:
      // An action a newer server added, not in this client's types yet.
      return `${(record.action as string).replace(/_/g, " ")}${record.by ? ` by ${by}` : ""}${record.from ? ` (from ${from})` : ""}`;
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** When, to the second, in the browser's locale and zone. */
export function formatAuditTime(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return date.toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
