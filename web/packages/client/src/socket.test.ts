import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Backoff } from "./backoff";
import { ServerClock } from "./serverClock";
import { LiveSocket, type ConnectionState, type SocketLike } from "./socket";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closedWith: number | null = null;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}
  send(data: string) {
    this.sent.push(data);
  }
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // What the server does:
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  receive(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

function harness(options: { onAuthExpired?: () => Promise<void>; pingDeadlineMs?: number; onUnreachable?: (url: string) => void; protocols?: () => string[] | Promise<string[]> } = {}) {
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const messages: unknown[] = [];
  let token = "t1";
  const live = new LiveSocket<{ type: string }>({
    url: () => "ws://node/updates",
    protocols: () => ["lockd", `bearer.${token}`],
    onMessage: (m) => messages.push(m),
    onStatus: (s) => states.push(s),
    factory: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    backoff: new Backoff({ baseMs: 100, maxMs: 1_000, random: () => 1 }),
    clock: new ServerClock(),
    heartbeatMs: 20_000,
    pingMs: 15_000,
    pingDeadlineMs: 60_000,
    ...options,
  });
  /** The `i`th socket the class opened (throws if it has not opened that many). */
  const socket = (i: number): FakeSocket => {
    const opened = sockets[i];
    if (!opened) throw new Error(`socket ${i} was never opened (${sockets.length} were)`);
    return opened;
  };
  return { live, sockets, socket, states, messages, setToken: (t: string) => (token = t) };
}

describe("LiveSocket", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reconnects with growing delays until the server answers, then starts over", () => {
    const { live, sockets, socket, states } = harness();
    live.start();
    socket(0).drop();
    expect(states.at(-1)).toMatchObject({ status: "reconnecting", attempts: 1 });
    vi.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    socket(1).drop();
    vi.advanceTimersByTime(199);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    // Connected and resynced: the next outage starts from the base delay again.
    socket(2).open();
    socket(2).receive({ type: "snapshot", index: 1 });
    expect(live.connection).toMatchObject({ status: "open", attempts: 0 });
    socket(2).drop();
    vi.advanceTimersByTime(100);
    expect(sockets).toHaveLength(4);
  });

  it("keeps the tab present and probes the clock while open", () => {
    const { live, socket } = harness();
    live.start();
    socket(0).open();
    expect(socket(0).sent).toEqual(['{"type":"ping"}']);
    vi.advanceTimersByTime(20_000);
    expect(socket(0).sent).toContain('{"type":"heartbeat"}');
    expect(socket(0).sent.filter((s) => s.includes("ping"))).toHaveLength(2);
  });

  it("gets a fresh token before reconnecting after 4401", async () => {
    const refreshed = vi.fn(async () => {});
    const { live, socket, setToken } = harness({
      onAuthExpired: async () => {
        setToken("t2");
        await refreshed();
      },
    });
    live.start();
    socket(0).open();
    socket(0).drop(4401);
    await vi.advanceTimersByTimeAsync(100);
    expect(refreshed).toHaveBeenCalledOnce();
    expect(socket(1).protocols).toEqual(["lockd", "bearer.t2"]);
  });

  it("stops for good when stopped, and reconnects at once when asked", () => {
    const { live, sockets, socket } = harness();
    live.start();
    socket(0).drop();
    live.reconnectNow();
    expect(sockets).toHaveLength(2);
    live.stop();
    expect(socket(1).closedWith).toBe(1000);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(2);
    expect(live.send({ type: "ping" })).toBe(false);
  });

  it("passes messages on and ignores frames that are not JSON", () => {
    const { live, socket, messages } = harness();
    live.start();
    socket(0).open();
    socket(0).onmessage?.({ data: "{oops" } as MessageEvent);
    socket(0).receive({ type: "presence", viewers: [] });
    expect(messages).toEqual([{ type: "presence", viewers: [] }]);
  });

  it("takes a socket that answers nothing after a ping for dead, and replaces it", () => {
    const { live, socket, states } = harness({ pingDeadlineMs: 3_000 });
    live.start();
    socket(0).open();
    socket(0).receive({ type: "snapshot", index: 1 });
    // The ping sent on open is answered: alive.
    vi.advanceTimersByTime(1_000);
    socket(0).receive({ type: "pong", serverTime: "2026-01-01T00:00:00Z" });
    vi.advanceTimersByTime(10_000);
    expect(live.connection.status).toBe("open");
    // The next ping (at 15 s) gets nothing back: 3 s later the tab says so and reconnects.
    vi.advanceTimersByTime(4_000 + 2_999);
    expect(live.connection.status).toBe("open");
    vi.advanceTimersByTime(1);
    expect(states.at(-1)).toMatchObject({ status: "reconnecting", attempts: 1 });
    expect(socket(0).closedWith).toBe(1000);
    vi.advanceTimersByTime(100);
    expect(socket(1).url).toBe("ws://node/updates");
  });

  it("says offline at once when the browser loses its network, and waits for it", () => {
    const { live, socket, states } = harness();
    live.start();
    socket(0).open();
    live.offline();
    expect(states.at(-1)).toMatchObject({ status: "offline" });
    vi.advanceTimersByTime(60_000);
    expect(live.connection.status).toBe("offline");
    live.reconnectNow();
    socket(1).open();
    expect(live.connection.status).toBe("open");
  });

  it("says which node could not be reached when an attempt ends before opening, not when an open socket drops", () => {
    const unreachable: string[] = [];
    const { live, socket } = harness({ onUnreachable: (url) => unreachable.push(url) });
    live.start();
    socket(0).drop();
    expect(unreachable).toEqual(["ws://node/updates"]);
    vi.advanceTimersByTime(100);
    socket(1).open();
    socket(1).drop();
    expect(unreachable).toHaveLength(1);
  });

  it("waits for a token being fetched; stopped meanwhile, it opens nothing", async () => {
    let give: (protocols: string[]) => void = () => {};
    const { live, sockets } = harness({ protocols: () => new Promise((resolve) => (give = resolve)) });
    live.start();
    expect(sockets).toHaveLength(0);
    give(["lockd", "bearer.late"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets.map((s) => s.protocols)).toEqual([["lockd", "bearer.late"]]);
    live.stop();
    live.start();
    live.stop();
    give(["lockd", "bearer.too-late"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sockets).toHaveLength(1);
  });
});
