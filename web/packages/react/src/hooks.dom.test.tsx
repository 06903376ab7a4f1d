// @vitest-environment happy-dom
// The hooks mounted in a DOM (happy-dom, through @testing-library/react), against a fake
// cluster given to the provider: the client's `fetch` answers as a node would, and its
// `webSocket` factory hands out sockets that the test opens and speaks for. Vitest's fake
// clock drives every timer (countdown, pings, keep-alives), so nothing waits on real time.

import type { ReactNode } from "react";
import { act, cleanup, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLockdClient, formatRemaining, type AppointmentMessage, type Lock, type LockGranted, type Person, type SocketLike, type Viewer } from "@lockd/client";
import { LockdProvider } from "./context";
import { useEditLock } from "./useEditLock";
import { useLockActions } from "./useLockActions";
import { usePresence } from "./usePresence";

// The browser's clock; the cluster's runs two minutes ahead of it.
const LOCAL_NOW = "2026-01-01T10:00:00Z";
const CLUSTER_NOW = "2026-01-01T10:02:00Z";
const at = (iso: string, plusMs: number) => new Date(Date.parse(iso) + plusMs).toISOString();

const me: Person = { userId: "alice", sessionId: "tab-me", name: "Alice", email: "a@x", role: "user" };
const bob: Person = { userId: "bob", sessionId: "tab-bob", name: "Bob", email: "b@x", role: "user" };
const carol: Person = { userId: "carol", sessionId: "tab-carol", name: "Carol", email: "c@x", role: "admin" };

/** A grant of `holder`'s with a 40 s lease, its expiry on the cluster's clock. */
function lock(holder: Person, fencingToken: number, expiresAt = at(CLUSTER_NOW, 40_000)): Lock {
  return { appointmentId: "a1", holder, fencingToken, acquiredAt: CLUSTER_NOW, lastActivityAt: CLUSTER_NOW, expiresAt, ttlMs: 40_000, claimBy: null };
}

const appointment = {
  id: "a1",
  title: "Dentist",
  startsAt: "2026-01-02T09:00:00Z",
  endsAt: "2026-01-02T09:30:00Z",
  client: "",
  location: "",
  notes: "",
  status: "scheduled" as const,
  version: 1,
  updatedAt: CLUSTER_NOW,
  updatedBy: "bob",
  updatedByName: "Bob",
};

function viewer(person: Person, nodeId = 1): Viewer {
  return { userId: person.userId, sessionId: person.sessionId, name: person.name, email: person.email, role: person.role, nodeId, pointer: null };
}

/** A socket the test opens and speaks for; what the hooks send is kept, parsed. */
class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: { type: string }[] = [];
  closed = false;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as { type: string });
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  receive(message: AppointmentMessage): void {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }
}

interface Request {
  method: string;
  url: string;
  headers: Headers;
  body: unknown;
  keepalive: boolean;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });
const granted = (l: Lock): LockGranted => ({ lock: l, fencingToken: l.fencingToken, expiresAt: l.expiresAt, renewed: false, serverTime: CLUSTER_NOW });

/** One node, as the provider's client reaches it: requests answered by `answer`, sockets kept. */
function fakeCluster() {
  const sockets: FakeSocket[] = [];
  const requests: Request[] = [];
  let answer: (request: Request) => Response | Promise<Response> = () => json(500, { code: "unexpected", status: 500 });
  const fetch = ((url: string, init: RequestInit = {}) => {
    const body = typeof init.body === "string" ? init.body : init.body ? new TextDecoder().decode(init.body as ArrayBuffer) : "";
    const request: Request = { method: init.method ?? "GET", url, headers: new Headers(init.headers), body: body ? JSON.parse(body) : null, keepalive: init.keepalive === true };
    requests.push(request);
    return Promise.resolve(answer(request));
  }) as typeof globalThis.fetch;
  const client = createLockdClient({
    nodes: ["http://node-1"],
    sessionId: me.sessionId,
    currentUserId: () => me.userId,
    getToken: () => "jwt",
    fetch,
    webSocket: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    now: () => Date.now(),
  });
  const wrapper = ({ children }: { children: ReactNode }) => <LockdProvider client={client}>{children}</LockdProvider>;
  return {
    client,
    wrapper,
    sockets,
    requests,
    answer: (next: typeof answer) => (answer = next),
    /** The room's socket, opened, then the server's snapshot on it. */
    connect: (snapshot: { lock: Lock | null; viewers?: Viewer[] }) => {
      act(() => {
        const socket = sockets.at(-1);
        if (!socket) throw new Error("no socket was opened");
        socket.open();
        socket.receive({ type: "snapshot", index: 1, appointment, queue: [], serverTime: CLUSTER_NOW, ...snapshot });
      });
    },
    /** A message from the server on the room's socket. */
    event: (message: AppointmentMessage) => {
      act(() => {
        sockets.at(-1)?.receive(message);
      });
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(LOCAL_NOW);
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("useEditLock in a DOM", () => {
  it("acquires a free lock: busy while the node answers, then this tab holds it and may type", async () => {
    const cluster = fakeCluster();
    let answerAcquire: (response: Response) => void = () => {};
    const answered = new Promise<Response>((resolve) => (answerAcquire = resolve));
    cluster.answer(() => answered);
    const { result } = renderHook(() => useEditLock("a1"), { wrapper: cluster.wrapper });
    cluster.connect({ lock: null });
    expect(result.current.state).toMatchObject({ role: "viewer", editing: false, lock: null, synced: true });

    let acquiring = Promise.resolve();
    act(() => {
      acquiring = result.current.actions.acquire();
    });
    expect(result.current.actions.busy).toBe("acquire");
    expect(result.current.state.role).toBe("viewer");
    await act(async () => {
      answerAcquire(json(200, granted(lock(me, 7))));
      await acquiring;
    });

    expect(result.current.state).toMatchObject({ role: "holder", editing: true, claiming: false });
    expect(result.current.state.lock?.fencingToken).toBe(7);
    expect(result.current.actions.busy).toBeNull();
    expect(result.current.actions.error).toBeNull();
    // One request: the grant counts as a renewal, so no heartbeat follows it at once.
    expect(cluster.requests).toHaveLength(1);
    const [sent] = cluster.requests;
    expect(sent).toMatchObject({ method: "POST", url: "http://node-1/appointments/a1/acquire-lock", body: { wait: false } });
    expect(sent?.headers.get("X-Session-Id")).toBe("tab-me");
    expect(sent?.headers.get("Authorization")).toBe("Bearer jwt");
  });

  it("shows another's lock as theirs; an acquire refused by the node says who edits, and changes nothing", async () => {
    const cluster = fakeCluster();
    const bobs = lock(bob, 3);
    cluster.answer(() => json(409, { status: 409, code: "lock_held", lock: bobs }));
    const { result } = renderHook(() => useEditLock("a1"), { wrapper: cluster.wrapper });
    cluster.connect({ lock: bobs });
    expect(result.current.state).toMatchObject({ role: "viewer", editing: false });
    expect(result.current.state.lock?.holder.name).toBe("Bob");

    await act(() => result.current.actions.acquire());

    expect(result.current.actions.error).toBe("Bob (b@x) is editing this appointment.");
    expect(result.current.state.role).toBe("viewer");
    expect(result.current.state.lock?.fencingToken).toBe(3);
    expect(result.current.notices.loss).toBeNull();
    act(() => result.current.actions.clearError());
    expect(result.current.actions.error).toBeNull();
  });

  it("tells this tab its lock was taken over, by whom and why, until the notice is dismissed", () => {
    const cluster = fakeCluster();
    const mine = lock(me, 7);
    const { result } = renderHook(() => useEditLock("a1"), { wrapper: cluster.wrapper });
    cluster.connect({ lock: mine });
    expect(result.current.state.editing).toBe(true);
    expect(result.current.notices.loss).toBeNull();

    cluster.event({ type: "lock.taken_over", index: 2, appointmentId: "a1", lock: lock(carol, 8), previous: mine, reason: "the client called", serverTime: CLUSTER_NOW });

    expect(result.current.state).toMatchObject({ role: "viewer", editing: false });
    expect(result.current.state.lock?.holder.name).toBe("Carol");
    expect(result.current.notices.loss).toEqual({ kind: "taken_over", by: carol, reason: "the client called", fencingToken: 7 });
    act(() => result.current.notices.dismissLoss());
    expect(result.current.notices.loss).toBeNull();
    expect(result.current.state.lock?.holder.name).toBe("Carol");
  });

  it("counts down on the cluster's clock, not the browser's, second by second, and starts again on a renewal", async () => {
    const cluster = fakeCluster();
    const { result } = renderHook(() => useEditLock("a1"), { wrapper: cluster.wrapper });
    const seconds = () => formatRemaining(result.current.state.remainingMs ?? Number.NaN);
    expect(result.current.state.remainingMs).toBeNull();
    // The snapshot says the cluster's time: two minutes ahead of this browser.
    cluster.connect({ lock: lock(bob, 3) });
    // 40 s left of the lease by the cluster (by the browser's clock it would be 2:40).
    expect(seconds()).toBe("0:40");
    expect(result.current.state.ttlMs).toBe(40_000);

    await act(() => vi.advanceTimersByTimeAsync(1_005));
    expect(seconds()).toBe("0:39");
    await act(() => vi.advanceTimersByTimeAsync(10_000));
    expect(seconds()).toBe("0:29");

    // Renewed: the new lease's time, never the old one's.
    cluster.event({ type: "lock.renewed", index: 2, appointmentId: "a1", lock: lock(bob, 3, at(CLUSTER_NOW, 51_000)), serverTime: at(CLUSTER_NOW, 11_000) });
    expect(seconds()).toBe("0:40");
  });
});

describe("useLockActions in a DOM", () => {
  it("leaves once when the page goes, however many components act on the lock, and not after they unmount", () => {
    const cluster = fakeCluster();
    cluster.answer(() => new Response(null, { status: 204 }));
    const form = renderHook(() => useLockActions("a1"), { wrapper: cluster.wrapper });
    const panel = renderHook(() => useLockActions("a1"), { wrapper: cluster.wrapper });
    cluster.connect({ lock: lock(me, 7) });

    act(() => {
      window.dispatchEvent(new Event("pagehide"));
    });
    const leaves = () => cluster.requests.filter((r) => r.keepalive);
    expect(leaves().map((r) => [r.method, r.url, r.headers.get("X-Fencing-Token")])).toEqual([["DELETE", "http://node-1/appointments/a1/release-lock", "7"]]);

    form.unmount();
    panel.unmount();
    act(() => {
      window.dispatchEvent(new Event("pagehide"));
    });
    expect(leaves()).toHaveLength(1);
  });
});

describe("usePresence in a DOM", () => {
  it("lists every tab viewing, as the snapshot and then the presence events say, over the provider's socket", () => {
    const cluster = fakeCluster();
    const { result, unmount } = renderHook(() => usePresence("a1"), { wrapper: cluster.wrapper });
    expect(result.current).toEqual({ viewers: [], sessionId: "tab-me" });
    const [socket] = cluster.sockets;
    expect(socket?.url).toBe("ws://node-1/appointments/a1/updates?sessionId=tab-me");
    expect(socket?.protocols).toEqual(["lockd", "bearer.jwt"]);

    cluster.connect({ lock: null, viewers: [viewer(me), viewer(bob, 2)] });
    expect(result.current.viewers.map((v) => v.sessionId)).toEqual(["tab-me", "tab-bob"]);

    cluster.event({ type: "presence", appointmentId: "a1", viewers: [viewer(me), viewer(bob, 2), viewer(carol, 3)] });
    expect(result.current.viewers.map((v) => v.name)).toEqual(["Alice", "Bob", "Carol"]);
    cluster.event({ type: "presence", appointmentId: "a1", viewers: [viewer(carol, 3)] });
    expect(result.current.viewers.map((v) => v.name)).toEqual(["Carol"]);

    // One socket for the page, closed once nothing shows the appointment.
    expect(cluster.sockets).toHaveLength(1);
    unmount();
    expect(socket?.closed).toBe(true);
  });
});
