import { describe, expect, it } from "vitest";
import type { AuditRecord, Person } from "@lockd/client";
import { describeAudit } from "./auditWords";

const person = (userId: string, name: string): Person => ({ userId, sessionId: `tab-${userId}`, name, email: `${userId}@x`, role: "user" });
const alice = person("alice", "Alice Martin");
const carol = person("carol", "Carol Diaz");
const record = (action: string, by: Person | null, from: Person | null, reason = ""): AuditRecord => ({
  seq: 1,
  appointmentId: "demo-1",
  at: "2026-01-01T10:42:00Z",
  // Any text: an action a newer server added must read sensibly too.
  action: action as AuditRecord["action"],
  by,
  from,
  fromFencingToken: from ? 3 : null,
  fencingToken: by ? 4 : null,
  reason,
});

describe("describeAudit", () => {
  it("says each action in words, with names", () => {
    expect(describeAudit(record("granted", alice, null))).toBe("Alice Martin started editing");
    expect(describeAudit(record("released", alice, alice))).toBe("Alice Martin finished editing");
    expect(describeAudit(record("disconnected", alice, alice))).toBe("Alice Martin's connection dropped: the lock was released");
    expect(describeAudit(record("expired", null, alice))).toBe("Alice Martin's lock lapsed after no activity");
    expect(describeAudit(record("unclaimed", null, alice))).toBe("Alice Martin did not start in time: the lock passed on");
    expect(describeAudit(record("moved", alice, alice))).toBe("Alice Martin continued in another tab");
  });

  it("quotes a takeover's reason only when the admin wrote one", () => {
    expect(describeAudit(record("taken_over", carol, alice, "the client called"))).toBe("Carol Diaz took over from Alice Martin: “the client called”");
    expect(describeAudit(record("taken_over", carol, alice, " "))).toBe("Carol Diaz took over from Alice Martin, giving no reason");
    expect(describeAudit(record("taken_over", carol, alice, "admin requested control"))).toBe("Carol Diaz took over from Alice Martin, giving no reason");
  });

  it("still says something of an action it does not know", () => {
    expect(describeAudit(record("handed_back", carol, alice))).toBe("handed back by Carol Diaz (from Alice Martin)");
  });
});
