import { describe, expect, it } from "vitest";
import type { Appointment, AppointmentMessage, Lock, Person, Viewer } from "./types";
import { claimPending, claimWindowMs, emptyRoom, heldInOtherTab, holderAway, myRole, nameOf, newerLock, reduceRoom, VERSIONS_KEPT_MAX, type RoomInput, type RoomState } from "./room";

const me = { sessionId: "tab-me", nowMs: 1_000 };
const alice: Person = { userId: "alice", sessionId: "tab-me", name: "Alice", email: "a@x", role: "user" };
const bob: Person = { userId: "bob", sessionId: "tab-bob", name: "Bob", email: "b@x", role: "user" };
const carol: Person = { userId: "carol", sessionId: "tab-carol", name: "Carol", email: "c@x", role: "admin" };
const T = "2026-01-01T00:00:00Z";

function lock(holder: Person, fencingToken: number, expiresAt = "2026-01-01T00:05:00Z"): Lock {
  return { appointmentId: "a1", holder, fencingToken, acquiredAt: T, lastActivityAt: T, expiresAt, ttlMs: 300_000 };
}
const appointment = (version: number): Appointment => ({
  id: "a1",
  title: `v${version}`,
  startsAt: T,
  endsAt: T,
  client: "",
  location: "",
  notes: "",
  version,
  status: "scheduled",
  updatedBy: "bob",
  updatedByName: "Bob",
  updatedAt: T,
});
const viewer = (p: Person, pointer: Viewer["pointer"] = null): Viewer => ({ ...p, nodeId: 1, pointer });

function run(messages: AppointmentMessage[], from: RoomState = emptyRoom): RoomState {
  return messages.reduce((state, m) => reduceRoom(state, m, me), from);
}
const snapshot = (index: number, l: Lock | null, viewers: Viewer[] = []): AppointmentMessage => ({
  type: "snapshot",
  index,
  appointment: appointment(1),
  lock: l,
  queue: [],
  viewers,
  serverTime: T,
});

describe("reduceRoom", () => {
  it("starts from the snapshot and skips events it already holds", () => {
    const state = run([
      snapshot(10, lock(bob, 3)),
      { type: "lock.released", index: 9, appointmentId: "a1", previous: lock(bob, 2), reason: "released", serverTime: T },
      { type: "lock.released", index: 10, appointmentId: "a1", previous: lock(bob, 3), reason: "released", serverTime: T },
    ]);
    expect(state.lock?.fencingToken).toBe(3);
    expect(state.synced).toBe(true);
  });

  it("applies every event of one log entry: a release and the hand-over share an index", () => {
    const state = run([
      snapshot(10, lock(bob, 3)),
      { type: "lock.released", index: 11, appointmentId: "a1", previous: lock(bob, 3), reason: "released", serverTime: T },
      { type: "lock.acquired", index: 11, appointmentId: "a1", lock: lock(alice, 4), serverTime: T },
    ]);
    expect(state.lock?.holder.userId).toBe("alice");
    expect(myRole(state, me.sessionId)).toBe("holder");
    expect(state.announcement?.text).toBe("You are editing now.");
  });

  it("does not let a release of an older grant clear a newer one", () => {
    const state = run([
      snapshot(10, lock(alice, 5)),
      { type: "lock.released", index: 12, appointmentId: "a1", previous: lock(bob, 4), reason: "released", serverTime: T },
    ]);
    expect(state.lock?.fencingToken).toBe(5);
  });

  it("tells this tab when an admin took its lock, and no one else", () => {
    const taken = run([
      snapshot(10, lock(alice, 5)),
      { type: "lock.taken_over", index: 11, appointmentId: "a1", lock: lock(carol, 6), previous: lock(alice, 5), reason: "urgent", serverTime: T },
    ]);
    expect(taken.loss).toEqual({ kind: "taken_over", by: carol, reason: "urgent", fencingToken: 5 });
    expect(myRole(taken, me.sessionId)).toBe("viewer");

    const watching = run([
      snapshot(10, lock(bob, 5)),
      { type: "lock.taken_over", index: 11, appointmentId: "a1", lock: lock(carol, 6), previous: lock(bob, 5), reason: "", serverTime: T },
    ]);
    expect(watching.loss).toBeNull();
    expect(watching.announcement?.text).toBe("Carol took control from Bob.");
  });

  it("reports an expiry or a disconnect release of our own lock, not our own release", () => {
    const expired = run([snapshot(1, lock(alice, 2)), { type: "lock.expired", index: 2, appointmentId: "a1", previous: lock(alice, 2), serverTime: T }]);
    expect(expired.loss?.kind).toBe("expired");
    expect(expired.lock).toBeNull();
    const released = run([
      snapshot(1, lock(alice, 2)),
      { type: "lock.released", index: 2, appointmentId: "a1", previous: lock(alice, 2), reason: "released", serverTime: T },
    ]);
    expect(released.loss).toBeNull();
    const dropped = run([
      snapshot(1, lock(alice, 2)),
      { type: "lock.released", index: 2, appointmentId: "a1", previous: lock(alice, 2), reason: "disconnected", serverTime: T },
    ]);
    expect(dropped.loss).toEqual({ kind: "released_elsewhere", reason: "disconnected", fencingToken: 2 });
  });

  it("notices a lock lost during a gap when the resync snapshot arrives", () => {
    const state = run([snapshot(1, lock(alice, 2)), snapshot(30, lock(carol, 3))]);
    expect(state.loss?.kind).toBe("taken_over");
    expect(state.lock?.holder.userId).toBe("carol");
    const same = run([snapshot(1, lock(alice, 2)), snapshot(30, lock(alice, 2, "2026-01-01T00:09:00Z"))]);
    expect(same.loss).toBeNull();
  });

  it("tracks other tabs' pointers, never its own, and drops them when they leave", () => {
    let state = run([snapshot(1, null, [viewer(alice), viewer(bob, { x: 0.2, y: 0.3 })])]);
    expect(Object.keys(state.pointers)).toEqual(["tab-bob"]);
    state = reduceRoom(state, { type: "pointer", appointmentId: "a1", userId: "alice", sessionId: "tab-me", name: "Alice", x: 0.5, y: 0.5 }, me);
    expect(state.pointers["tab-me"]).toBeUndefined();
    state = reduceRoom(state, { type: "pointer", appointmentId: "a1", userId: "bob", sessionId: "tab-bob", name: "Bob", x: 0.7, y: 0.1 }, me);
    expect(state.pointers["tab-bob"]).toMatchObject({ x: 0.7, y: 0.1, movedAtMs: 1_000 });
    state = reduceRoom(state, { type: "pointer", appointmentId: "a1", userId: "bob", sessionId: "tab-bob", name: "Bob", x: null, y: null }, me);
    expect(state.pointers["tab-bob"]).toBeUndefined();
  });

  it("drops the pointer of a tab that left the room", () => {
    let state = run([snapshot(1, null, [viewer(alice), viewer(bob, { x: 0.2, y: 0.3 })])]);
    state = reduceRoom(state, { type: "presence", appointmentId: "a1", viewers: [viewer(alice)] }, me);
    expect(state.pointers).toEqual({});
    expect(state.viewers).toHaveLength(1);
  });

  it("follows saves and queue changes", () => {
    const state = run([
      snapshot(1, lock(bob, 2)),
      { type: "appointment.updated", index: 2, appointmentId: "a1", appointment: appointment(2), serverTime: T },
      {
        type: "lock.queued",
        index: 3,
        appointmentId: "a1",
        queue: [{ person: alice, position: 1, enqueuedAt: T, expiresAt: T }],
        serverTime: T,
      },
    ]);
    expect(state.appointment?.version).toBe(2);
    expect(myRole(state, me.sessionId)).toBe("queued");
  });
});

describe("reduceRoom, this tab's own answers", () => {
  const input = (inputs: RoomInput[], from: RoomState = emptyRoom) => inputs.reduce((state, m) => reduceRoom(state, m, me), from);

  it("granted: takes the grant unless the socket already showed a newer one, and leaves the queue", () => {
    const queued = run([snapshot(1, lock(bob, 2)), { type: "lock.queued", index: 2, appointmentId: "a1", queue: [{ person: alice, position: 1, enqueuedAt: T, expiresAt: T }], serverTime: T }]);
    const granted = input([{ type: "local.granted", lock: lock(alice, 3) }], queued);
    expect(myRole(granted, me.sessionId)).toBe("holder");
    expect(granted.queue).toEqual([]);
    const stale = input([{ type: "local.granted", lock: lock(alice, 2) }], run([snapshot(1, lock(carol, 5))]));
    expect(stale.lock?.holder.userId).toBe("carol");
  });

  it("released: clears only the grant it names", () => {
    const held = run([snapshot(1, lock(alice, 3))]);
    expect(input([{ type: "local.released", fencingToken: 3 }], held).lock).toBeNull();
    expect(input([{ type: "local.released", fencingToken: 2 }], held)).toBe(held);
  });

  it("queued and queue left", () => {
    const free = run([snapshot(1, lock(bob, 2))]);
    const queued = input([{ type: "local.queued", queue: [{ person: alice, position: 1, enqueuedAt: T, expiresAt: T }] }], free);
    expect(myRole(queued, me.sessionId)).toBe("queued");
    expect(myRole(input([{ type: "local.queue_left", sessionId: me.sessionId }], queued), me.sessionId)).toBe("viewer");
  });

  it("saved: shows the saved version unless a newer one arrived first", () => {
    const state = run([snapshot(1, lock(alice, 3))]);
    expect(input([{ type: "local.saved", appointment: appointment(2) }], state).appointment?.version).toBe(2);
    const newer = run([{ type: "appointment.updated", index: 2, appointmentId: "a1", appointment: appointment(3), serverTime: T }], state);
    expect(input([{ type: "local.saved", appointment: appointment(2) }], newer).appointment?.version).toBe(3);
  });

  it("loss seen: the notice is taken once", () => {
    const lost = run([snapshot(1, lock(alice, 3)), { type: "lock.expired", index: 2, appointmentId: "a1", previous: lock(alice, 3), serverTime: T }]);
    expect(lost.loss?.kind).toBe("expired");
    expect(input([{ type: "local.loss_seen" }], lost).loss).toBeNull();
  });

  it("remembers the versions it saw, the newest ones only", () => {
    let state = run([snapshot(1, null)]);
    for (let version = 2; version <= VERSIONS_KEPT_MAX + 5; version++) state = input([{ type: "local.saved", appointment: appointment(version) }], state);
    const kept = Object.keys(state.versions).map(Number);
    expect(kept).toHaveLength(VERSIONS_KEPT_MAX);
    expect(Math.min(...kept)).toBe(6);
    expect(state.versions[VERSIONS_KEPT_MAX + 5]?.title).toBe(`v${VERSIONS_KEPT_MAX + 5}`);
  });

  it("names a saver by name once seen, by id before", () => {
    const updated = (version: number): AppointmentMessage => ({ type: "appointment.updated", index: version, appointmentId: "a1", appointment: appointment(version), serverTime: T });
    expect(run([snapshot(1, null), updated(2)]).announcement?.text).toBe("Saved by bob (version 2).");
    const withBob = run([snapshot(1, lock(bob, 2), [viewer(bob)]), updated(2)]);
    expect(withBob.announcement?.text).toBe("Saved by Bob (version 2).");
    expect(nameOf(withBob, "bob")).toBe("Bob");
  });
});

describe("reduceRoom, the lock handed over from the queue", () => {
  const queued = (): RoomState =>
    run([snapshot(1, lock(bob, 2)), { type: "lock.queued", index: 2, appointmentId: "a1", queue: [{ person: alice, position: 1, enqueuedAt: T, expiresAt: T }], serverTime: T }]);
  const claimed = (token: number): Lock => ({ ...lock(alice, token, "2026-01-01T00:01:00Z"), claimBy: "2026-01-01T00:01:00Z" });
  // One log entry: the release, the grant to the first waiter, the queue without them.
  const handOver = (token: number): AppointmentMessage[] => [
    { type: "lock.released", index: 3, appointmentId: "a1", previous: lock(bob, 2), reason: "released", serverTime: T },
    { type: "lock.acquired", index: 3, appointmentId: "a1", lock: claimed(token), serverTime: T },
    { type: "lock.queued", index: 3, appointmentId: "a1", queue: [], serverTime: T },
  ];

  it("notices a grant that came while this tab waited, and keeps it until seen", () => {
    const state = run(handOver(3), queued());
    expect(state.handOver).toEqual({ fencingToken: 3 });
    expect(myRole(state, me.sessionId)).toBe("holder");
    expect(state.announcement?.text).toBe("The lock is yours: start editing before it passes on.");
    expect(reduceRoom(state, { type: "local.handover_seen" }, me).handOver).toBeNull();
  });

  it("also from a resync snapshot or this tab's own answer, never from a plain acquire", () => {
    expect(run([snapshot(9, claimed(3))], queued()).handOver).toEqual({ fencingToken: 3 });
    expect(reduceRoom(queued(), { type: "local.granted", lock: claimed(3) }, me).handOver).toEqual({ fencingToken: 3 });
    const free = run([snapshot(1, null)]);
    expect(reduceRoom(free, { type: "local.granted", lock: lock(alice, 3) }, me).handOver).toBeNull();
  });

  it("goes with the grant: a confirmation keeps it, a lapse or takeover drops it", () => {
    const handed = run(handOver(3), queued());
    const confirmed = run([{ type: "lock.renewed", index: 4, appointmentId: "a1", lock: lock(alice, 3), serverTime: T }], handed);
    expect(confirmed.handOver).toEqual({ fencingToken: 3 });
    expect(claimPending(confirmed.lock)).toBe(false);
    expect(claimPending(handed.lock)).toBe(true);
    const lapsed = run([{ type: "lock.expired", index: 4, appointmentId: "a1", previous: claimed(3), serverTime: T }], handed);
    expect(lapsed.handOver).toBeNull();
  });

  it("an unconfirmed hand-over that lapses is told as unclaimed, to the waiter and to viewers", () => {
    const lapsed = run([{ type: "lock.expired", index: 4, appointmentId: "a1", previous: claimed(3), serverTime: T }], run(handOver(3), queued()));
    expect(lapsed.loss).toEqual({ kind: "unclaimed", fencingToken: 3, claimWindowMs: 60_000 });
    expect(lapsed.announcement?.text).toBe("You did not start in time: the lock passed on.");
    const bobs = { ...lock(bob, 7, "2026-01-01T00:01:00Z"), claimBy: "2026-01-01T00:01:00Z" };
    const watching = run([
      snapshot(1, null),
      { type: "lock.acquired", index: 2, appointmentId: "a1", lock: bobs, serverTime: T },
    ]);
    expect(watching.announcement?.text).toBe("Handed to Bob: waiting for them to start.");
    const passed = run([{ type: "lock.expired", index: 3, appointmentId: "a1", previous: bobs, serverTime: T }], watching);
    expect(passed.loss).toBeNull();
    expect(passed.announcement?.text).toBe("Bob did not start in time: the lock passed on.");
  });

  it("measures the claim window from the hand-over", () => {
    expect(claimWindowMs({ acquiredAt: T, claimBy: "2026-01-01T00:00:42Z" })).toBe(42_000);
    expect(claimWindowMs({ acquiredAt: T, claimBy: null })).toBe(0);
  });
});

describe("reduceRoom, the same person in another tab", () => {
  const otherTab: Person = { ...alice, sessionId: "tab-other" };
  const mine = { ...me, userId: "alice" };

  it("knows the lock is this person's in another tab, not a stranger's", () => {
    const state = run([snapshot(1, lock(otherTab, 4))]);
    expect(heldInOtherTab(state, mine)).toBe(true);
    expect(heldInOtherTab(state, { ...mine, userId: "bob" })).toBe(false);
    expect(heldInOtherTab(run([snapshot(1, lock(alice, 4))]), mine)).toBe(false);
  });

  it("the tab the lock moved from is told it continued elsewhere; the new tab holds it", () => {
    const moved: AppointmentMessage = { type: "lock.moved", index: 2, appointmentId: "a1", lock: lock(otherTab, 5), previous: lock(alice, 4), serverTime: T };
    const from = reduceRoom(run([snapshot(1, lock(alice, 4))]), moved, mine);
    expect(from.loss).toEqual({ kind: "moved", fencingToken: 4 });
    expect(from.announcement?.text).toBe("You continued in another tab.");
    expect(myRole(from, me.sessionId)).toBe("viewer");
    expect(from.lock?.fencingToken).toBe(5);
    // Someone watching: Alice moved from one of her tabs to another.
    const third: Person = { ...otherTab, sessionId: "tab-third" };
    const watching = run([snapshot(1, lock(otherTab, 4)), { ...moved, previous: lock(otherTab, 4), lock: lock(third, 5) }]);
    expect(watching.announcement?.text).toBe("Alice continued in another tab.");
    expect(watching.loss).toBeNull();
  });

  it("a move seen only in the resync snapshot is still a move", () => {
    const state = [snapshot(1, lock(alice, 4)), snapshot(9, lock(otherTab, 5))].reduce((s, m) => reduceRoom(s, m, mine), emptyRoom);
    expect(state.loss).toEqual({ kind: "moved", fencingToken: 4 });
  });
});

describe("holderAway", () => {
  it("says the holder's connection dropped when their tab left the presence, not before it is known", () => {
    const held = run([snapshot(1, lock(bob, 2), [viewer(alice), viewer(bob)])]);
    expect(holderAway(held, me.sessionId)).toBe(false);
    const gone = reduceRoom(held, { type: "presence", appointmentId: "a1", viewers: [viewer(alice)] }, me);
    expect(holderAway(gone, me.sessionId)).toBe(true);
    // Presence not known yet (this tab is not listed), or this tab is the holder: no claim.
    expect(holderAway(run([snapshot(1, lock(bob, 2), [])]), me.sessionId)).toBe(false);
    expect(holderAway(run([snapshot(1, lock(alice, 2), [viewer(bob)])]), me.sessionId)).toBe(false);
    expect(holderAway({ ...gone, synced: false }, me.sessionId)).toBe(false);
  });
});

describe("newerLock", () => {
  it("prefers the later grant, then the later renewal", () => {
    expect(newerLock(lock(bob, 4), lock(alice, 3)).fencingToken).toBe(4);
    expect(newerLock(lock(bob, 4), lock(alice, 5)).fencingToken).toBe(5);
    expect(newerLock(lock(bob, 4, "2026-01-01T00:06:00Z"), lock(bob, 4)).expiresAt).toBe("2026-01-01T00:06:00Z");
    expect(newerLock(null, lock(bob, 1)).fencingToken).toBe(1);
  });
});
