import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EditLock, type LockCalls } from "./editLock";
import { LiveRoom } from "./liveRoom";
import { ApiError } from "./problem";
import { LiveSocket, type SocketLike } from "./socket";
import type { AppointmentMessage, DraftBody, Lock, LockGranted, Person, Waiter } from "./types";

const T = "2026-01-01T00:00:00Z";
const me: Person = { userId: "alice", sessionId: "tab-me", name: "Alice", email: "a@x", role: "user" };
const bob: Person = { userId: "bob", sessionId: "tab-bob", name: "Bob", email: "b@x", role: "admin" };

function lock(holder: Person, fencingToken: number, extra: Partial<Lock> = {}): Lock {
  return { appointmentId: "a1", holder, fencingToken, acquiredAt: T, lastActivityAt: T, expiresAt: "2026-01-01T00:00:40Z", ttlMs: 40_000, claimBy: null, ...extra };
}
const grant = (l: Lock): LockGranted => ({ lock: l, fencingToken: l.fencingToken, expiresAt: l.expiresAt, renewed: false, serverTime: T });

/** A socket that never connects: the tests drive the room through its reducer. */
const idleSocket = (): SocketLike => ({ readyState: 0, send: () => {}, close: () => {}, onopen: null, onmessage: null, onclose: null, onerror: null });

function harness(calls: Partial<LockCalls> = {}) {
  let nowMs = 0;
  const log: string[] = [];
  const fake: LockCalls = {
    acquireLock: (_id, wait) => {
      log.push(`acquire wait=${wait}`);
      return Promise.resolve(grant(lock(me, 7)));
    },
    heartbeat: (_id, options) => {
      log.push(`heartbeat${options?.waiting ? " waiting" : ""}`);
      return Promise.resolve(grant(lock(me, 7)));
    },
    releaseLock: (_id, token) => {
      log.push(`release ${token}`);
      return Promise.resolve();
    },
    takeover: () => Promise.reject(new Error("not in this test")),
    continueHere: () => Promise.reject(new Error("not in this test")),
    leaveOnPageHide: (_id, token, draft) => log.push(`leave ${token} ${draft ? "with draft" : "no draft"}`),
    ...calls,
  };
  const room = new LiveRoom({
    appointmentId: "a1",
    openSocket: (handlers) => new LiveSocket<AppointmentMessage>({ url: () => "ws://n", protocols: () => [], factory: idleSocket, ...handlers }),
    me: () => ({ sessionId: me.sessionId, nowMs, userId: me.userId }),
  });
  const editLock = new EditLock({ room, calls: fake, sessionId: me.sessionId, now: () => nowMs, queueRenewMs: 25_000 });
  const snapshot = (l: Lock | null, queue: Waiter[] = []) =>
    room.store.setState({ ...room.store.getState(), lock: l, queue, synced: true });
  return { room, editLock, log, snapshot, advance: (ms: number) => (nowMs += ms) };
}

describe("EditLock", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("puts a grant into the room: this tab is the holder", async () => {
    const { editLock, room, log } = harness();
    await editLock.acquire();
    expect(editLock.role()).toBe("holder");
    expect(room.store.getState().lock?.fencingToken).toBe(7);
    expect(log).toEqual(["acquire wait=false"]);
  });

  it("renews on activity at most every quarter of the lease, never right after a grant", async () => {
    const { editLock, log, advance } = harness();
    const stop = editLock.keepAlive();
    await editLock.acquire();
    editLock.activity();
    advance(9_999);
    editLock.activity();
    advance(1);
    editLock.activity();
    editLock.activity();
    await vi.runOnlyPendingTimersAsync();
    expect(log.filter((l) => l === "heartbeat")).toHaveLength(1);
    stop();
  });

  it("does not take activity for the start of a lock handed over and not confirmed", () => {
    const { editLock, snapshot, log, advance } = harness();
    snapshot(lock(me, 8, { claimBy: "2026-01-01T00:01:00Z" }));
    advance(60_000);
    editLock.activity();
    expect(editLock.claiming()).toBe(true);
    expect(log).toEqual([]);
  });

  it("confirms a hand-over once however often the person types meanwhile", async () => {
    let answer: (g: LockGranted) => void = () => {};
    const { editLock, snapshot } = harness({
      heartbeat: () =>
        new Promise((resolve) => {
          answer = resolve;
        }),
    });
    snapshot(lock(me, 8, { claimBy: "2026-01-01T00:01:00Z" }));
    const first = editLock.confirmClaim();
    const second = editLock.confirmClaim();
    expect(second).toBe(first);
    answer(grant(lock(me, 8)));
    await first;
    expect(editLock.claiming()).toBe(false);
  });

  it("keeps a place in the queue with heartbeats that say so, and stops once it is left", async () => {
    const { editLock, snapshot, log } = harness();
    const stop = editLock.keepAlive();
    snapshot(lock(bob, 3), [{ person: me, position: 1, enqueuedAt: T, expiresAt: T }]);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(log).toEqual(["heartbeat waiting", "heartbeat waiting"]);
    snapshot(lock(bob, 3), []);
    await vi.advanceTimersByTimeAsync(50_000);
    expect(log).toHaveLength(2);
    stop();
  });

  it("shows the winner of a takeover race and still fails the takeover", async () => {
    const winner = lock(bob, 9);
    const { editLock, room } = harness({ takeover: () => Promise.reject(new ApiError({ status: 409, code: "takeover_conflict", lock: winner })) });
    await expect(editLock.takeover(lock(bob, 3), "urgent")).rejects.toMatchObject({ code: "takeover_conflict" });
    expect(room.store.getState().lock?.fencingToken).toBe(9);
  });

  it("leaves as the page goes: the holder's grant fenced with its draft, a waiter's place, a viewer nothing", () => {
    const draft: DraftBody = { title: "t", startsAt: "", endsAt: "", client: "", location: "", notes: "", baseVersion: 1 };
    const { editLock, snapshot, log } = harness();
    editLock.leave(draft);
    snapshot(lock(me, 7));
    editLock.leave(draft);
    snapshot(lock(bob, 3), [{ person: me, position: 1, enqueuedAt: T, expiresAt: T }]);
    editLock.leave(draft);
    expect(log).toEqual(["leave 7 with draft", "leave null no draft"]);
  });

  it("keeps a queued place with one heartbeat however many parts of the page keep it alive", async () => {
    const { editLock, snapshot, log } = harness();
    const stopForm = editLock.keepAlive();
    const stopPanel = editLock.keepAlive();
    snapshot(lock(bob, 3), [{ person: me, position: 1, enqueuedAt: T, expiresAt: T }]);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(log).toEqual(["heartbeat waiting"]);
    stopForm();
    stopForm();
    await vi.advanceTimersByTimeAsync(25_000);
    expect(log).toEqual(["heartbeat waiting", "heartbeat waiting"]);
    stopPanel();
    await vi.advanceTimersByTimeAsync(50_000);
    expect(log).toHaveLength(2);
  });

  it("leaves once when the page goes, however many parts of it asked, until the last stops", () => {
    const { editLock, snapshot, log } = harness();
    const page = new EventTarget();
    snapshot(lock(me, 7));
    const stopForm = editLock.leaveOnPageHide(page);
    const stopPanel = editLock.leaveOnPageHide(page);
    page.dispatchEvent(new Event("pagehide"));
    expect(log).toEqual(["leave 7 no draft"]);
    stopForm();
    page.dispatchEvent(new Event("pagehide"));
    expect(log).toEqual(["leave 7 no draft", "leave 7 no draft"]);
    stopPanel();
    page.dispatchEvent(new Event("pagehide"));
    expect(log).toHaveLength(2);
    // Asked again after all let go: listening again.
    const again = editLock.leaveOnPageHide(page);
    page.dispatchEvent(new Event("pagehide"));
    expect(log).toHaveLength(3);
    again();
  });

  it("leaves when the page goes, until told to stop", () => {
    const { editLock, snapshot, log } = harness();
    const page = new EventTarget();
    snapshot(lock(me, 7));
    const stop = editLock.leaveOnPageHide(page);
    page.dispatchEvent(new Event("pagehide"));
    stop();
    page.dispatchEvent(new Event("pagehide"));
    expect(log).toEqual(["leave 7 no draft"]);
  });
});
