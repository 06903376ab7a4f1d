import { describe, expect, it } from "vitest";
import type { AppointmentWithLock, Lock } from "./types";
import { emptyList, mergeRow, reduceList, viewersOf } from "./list";

const T = "2026-01-01T00:00:00Z";
const row = (id: string, version = 1): AppointmentWithLock => ({
  id,
  title: id,
  startsAt: T,
  endsAt: T,
  client: "Maria",
  location: "Room 1",
  notes: "",
  version,
  status: "scheduled",
  updatedBy: "x",
  updatedByName: "X",
  updatedAt: T,
  lock: null,
  queueLength: 0,
  viewers: 0,
});
/** A row of a server that counts no viewers (older than the document, which requires them). */
const uncounted = (id: string): AppointmentWithLock => {
  const rest: Partial<AppointmentWithLock> = row(id);
  delete rest.viewers;
  return rest as AppointmentWithLock;
};
const lock = (id: string, token: number): Lock => ({
  appointmentId: id,
  holder: { userId: "bob", sessionId: "s", name: "Bob", email: "b@x", role: "user" },
  fencingToken: token,
  acquiredAt: T,
  lastActivityAt: T,
  expiresAt: T,
  ttlMs: 1,
});

describe("reduceList", () => {
  it("keeps live lock badges and clears them on release of that grant only", () => {
    let state = reduceList(emptyList, { type: "snapshot", index: 5, appointments: [{ id: "a", title: "A", version: 2, lock: lock("a", 1), queueLength: 1 }] });
    expect(mergeRow(row("a"), state.rows.a)).toMatchObject({ title: "A", queueLength: 1, lock: { fencingToken: 1 } });
    state = reduceList(state, { type: "lock.acquired", index: 6, appointmentId: "b", lock: lock("b", 7), serverTime: T });
    expect(state.rows.b?.lock?.fencingToken).toBe(7);
    state = reduceList(state, { type: "lock.released", index: 7, appointmentId: "a", previous: lock("a", 0), reason: "released", serverTime: T });
    expect(state.rows.a?.lock?.fencingToken).toBe(1);
    state = reduceList(state, { type: "lock.released", index: 8, appointmentId: "a", previous: lock("a", 1), reason: "released", serverTime: T });
    expect(state.rows.a?.lock).toBeNull();
  });

  it("ignores events the snapshot holds", () => {
    let state = reduceList(emptyList, { type: "snapshot", index: 5, appointments: [{ id: "a", title: "A", version: 1, lock: null, queueLength: 0 }] });
    state = reduceList(state, { type: "lock.acquired", index: 5, appointmentId: "a", lock: lock("a", 1), serverTime: T });
    expect(state.rows.a?.lock).toBeNull();
  });

  it("shows a save's fields over an older REST row, never an older save over a newer row", () => {
    const state = reduceList(reduceList(emptyList, { type: "snapshot", index: 1, appointments: [] }), {
      type: "appointment.updated",
      index: 2,
      appointmentId: "a",
      appointment: { ...row("a", 3), title: "Moved", client: "Tom" },
      serverTime: T,
    });
    expect(mergeRow(row("a", 2), state.rows.a)).toMatchObject({ title: "Moved", client: "Tom", version: 3 });
    expect(mergeRow({ ...row("a", 4), client: "Newer" }, state.rows.a).client).toBe("Newer");
  });

  it("leaves a row the socket has not seen as REST gave it", () => {
    const rest = { ...row("z"), lock: lock("z", 9) };
    expect(mergeRow(rest, emptyList.rows.z)).toBe(rest);
  });

  it("counts viewers from the snapshot, then from each count message; none from an older server", () => {
    expect(viewersOf(uncounted("a"), reduceList(emptyList, { type: "snapshot", index: 1, appointments: [{ id: "a", title: "A", version: 1, lock: null, queueLength: 0 }] }))).toBeUndefined();
    let state = reduceList(emptyList, { type: "snapshot", index: 1, appointments: [{ id: "a", title: "A", version: 1, lock: null, queueLength: 0, viewers: 2 }] });
    expect(viewersOf(row("a"), state)).toBe(2);
    state = reduceList(state, { type: "viewers", counts: { b: 1 } });
    expect(viewersOf(row("a"), state)).toBe(0);
    expect(viewersOf(row("b"), state)).toBe(1);
    expect(viewersOf({ ...row("c"), viewers: 4 }, emptyList)).toBe(4);
  });

  it("follows a lock moved to another tab", () => {
    let state = reduceList(emptyList, { type: "snapshot", index: 1, appointments: [{ id: "a", title: "A", version: 1, lock: lock("a", 1), queueLength: 0 }] });
    state = reduceList(state, { type: "lock.moved", index: 2, appointmentId: "a", lock: lock("a", 2), previous: lock("a", 1), serverTime: T });
    expect(state.rows.a?.lock?.fencingToken).toBe(2);
  });

  it("learns the names of lock holders, for a saver named only by id", () => {
    let state = reduceList(emptyList, { type: "snapshot", index: 1, appointments: [{ id: "a", title: "A", version: 1, lock: null, queueLength: 0 }] });
    expect(state.names).toEqual({});
    state = reduceList(state, { type: "lock.acquired", index: 2, appointmentId: "a", lock: lock("a", 1), serverTime: T });
    state = reduceList(state, { type: "lock.released", index: 3, appointmentId: "a", previous: lock("a", 1), reason: "released", serverTime: T });
    expect(state.names).toEqual({ bob: "Bob" });
  });

  it("marks a cancellation seen live, and takes the snapshot's status over an older REST row", () => {
    let state = reduceList(emptyList, { type: "snapshot", index: 1, appointments: [{ id: "a", title: "A", version: 2, lock: null, queueLength: 0, status: "cancelled" }] });
    expect(mergeRow({ ...row("a", 1), status: "scheduled" }, state.rows.a).status).toBe("cancelled");
    expect(mergeRow({ ...row("a", 3), status: "scheduled" }, state.rows.a).status).toBe("scheduled");
    state = reduceList(state, { type: "appointment.updated", index: 2, appointmentId: "a", appointment: { ...row("a", 4), status: "scheduled" }, serverTime: T });
    expect(mergeRow({ ...row("a", 3), status: "cancelled" }, state.rows.a).status).toBe("scheduled");
  });
});
