// A WebSocket that stays connected: reconnects with backoff, keeps the tab present with
// heartbeats, measures the cluster clock with pings, and refreshes its token on 4401.
// The server sends a fresh `snapshot` on every connect, so a reconnect is also a resync.

import { Backoff } from "./backoff";
import { SOCKET_HEARTBEAT_MS, SOCKET_PING_DEADLINE_MS, SOCKET_PING_MS } from "./constants";
import { ServerClock } from "./serverClock";

/** "offline": the browser says it has no network; no attempt is made until it is back. */
export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "offline" | "stopped";

export interface ConnectionState {
  status: ConnectionStatus;
  /** Failed attempts since the last good connection. */
  attempts: number;
  /** When `reconnecting`: the local time of the next attempt. */
  retryAtMs: number | null;
}

/** The part of the browser's WebSocket this class uses (a fake one in tests). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export interface LiveSocketOptions<M> {
  /** Asked before each attempt: the node may have changed (`nodes.ts`). */
  url: () => string;
  /** Asked before each attempt, so a renewed token is used; may wait for it. */
  protocols: () => string[] | Promise<string[]>;
  onMessage: (message: M) => void;
  onStatus?: (state: ConnectionState) => void;
  /** Called when the server closed with 4401 (token expired), before reconnecting. */
  onAuthExpired?: () => Promise<void>;
  /** The attempt at `url` ended before its socket opened: the node may be down. */
  onUnreachable?: (url: string) => void;
  factory?: SocketFactory;
  backoff?: Backoff;
  clock?: ServerClock;
  /** Presence heartbeat; the server drops a silent socket after 90 s. */
  heartbeatMs?: number;
  /** Clock probe and liveness check. */
  pingMs?: number;
  /** Nothing received this long after a ping: the socket is dead though not closed. */
  pingDeadlineMs?: number;
  /** The local clock, in ms since the epoch (a fake one in tests). */
  now?: () => number;
}

const OPEN = 1;
export const CLOSE_TOKEN_EXPIRED = 4401;

export class LiveSocket<M extends { type: string }> {
  private socket: SocketLike | null = null;
  private stopped = true;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pingSentAtMs: number | null = null;
  private pingDeadlineTimer: ReturnType<typeof setTimeout> | undefined;
  private state: ConnectionState = { status: "stopped", attempts: 0, retryAtMs: null };
  /** Bumped by every attempt and teardown: an attempt still waiting for its token knows it
   * was overtaken. */
  private attemptId = 0;
  private readonly options: Required<Omit<LiveSocketOptions<M>, "onAuthExpired" | "onStatus" | "onUnreachable">> &
    Pick<LiveSocketOptions<M>, "onAuthExpired" | "onStatus" | "onUnreachable">;

  constructor(options: LiveSocketOptions<M>) {
    this.options = {
      factory: (url, protocols) => new WebSocket(url, protocols),
      backoff: new Backoff(),
      clock: new ServerClock(),
      now: Date.now,
      heartbeatMs: SOCKET_HEARTBEAT_MS,
      pingMs: SOCKET_PING_MS,
      pingDeadlineMs: SOCKET_PING_DEADLINE_MS,
      ...options,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect("connecting");
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.teardown();
    this.setState({ status: "stopped", attempts: 0, retryAtMs: null });
  }

  /** The browser lost its network (`offline`): the socket cannot work, whatever it says. Say so
   * at once and wait for `reconnectNow` (the `online` event). */
  offline(): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.teardown();
    this.setState({ status: "offline", attempts: this.state.attempts, retryAtMs: null });
  }

  /** Try now instead of waiting out the backoff (the browser came back online, or from bfcache). */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.socket && this.state.status === "open") return;
    clearTimeout(this.reconnectTimer);
    this.teardown();
    this.connect("connecting");
  }

  /** Sends when open; a message sent while disconnected is dropped (all of ours are ephemeral). */
  send(message: object): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  get connection(): ConnectionState {
    return this.state;
  }

  private connect(status: ConnectionStatus): void {
    this.setState({ ...this.state, status, retryAtMs: null });
    const attempt = ++this.attemptId;
    let protocols: string[] | Promise<string[]>;
    try {
      protocols = this.options.protocols();
    } catch {
      this.scheduleReconnect();
      return;
    }
    // A token at hand opens at once; one being fetched is waited for (unless stopped meanwhile).
    if (Array.isArray(protocols)) {
      this.open(protocols);
      return;
    }
    protocols.then(
      (ready) => {
        if (attempt === this.attemptId && !this.stopped) this.open(ready);
      },
      () => {
        if (attempt === this.attemptId && !this.stopped) this.scheduleReconnect();
      },
    );
  }

  private open(protocols: string[]): void {
    const url = this.options.url();
    let socket: SocketLike;
    try {
      socket = this.options.factory(url, protocols);
    } catch {
      this.options.onUnreachable?.(url);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      opened = true;
      this.setState({ status: "open", attempts: this.state.attempts, retryAtMs: null });
      this.heartbeatTimer = setInterval(() => this.send({ type: "heartbeat" }), this.options.heartbeatMs);
      this.ping();
      this.pingTimer = setInterval(() => this.ping(), this.options.pingMs);
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket || typeof event.data !== "string") return;
      let message: M & { serverTime?: unknown };
      try {
        message = JSON.parse(event.data) as M & { serverTime?: unknown };
      } catch {
        return;
      }
      const receivedAt = this.options.now();
      // Anything from the server proves the connection alive.
      clearTimeout(this.pingDeadlineTimer);
      this.pingDeadlineTimer = undefined;
      if (message.type === "snapshot") {
        // The server answered with its state: this connection works.
        this.options.backoff.reset();
        if (this.state.attempts !== 0) this.setState({ ...this.state, attempts: 0 });
      }
      if (typeof message.serverTime === "string") {
        const sentAt = message.type === "pong" && this.pingSentAtMs !== null ? this.pingSentAtMs : undefined;
        this.options.clock.observe(message.serverTime, receivedAt, sentAt);
        if (message.type === "pong") this.pingSentAtMs = null;
      }
      this.options.onMessage(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.teardown();
      if (this.stopped) return;
      if (!opened) this.options.onUnreachable?.(url);
      if (event.code === CLOSE_TOKEN_EXPIRED && this.options.onAuthExpired) {
        this.options.onAuthExpired().then(
          () => this.scheduleReconnect(),
          () => this.scheduleReconnect(),
        );
        return;
      }
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  private ping(): void {
    if (!this.send({ type: "ping" })) return;
    this.pingSentAtMs = this.options.now();
    if (this.pingDeadlineTimer === undefined) {
      const socket = this.socket;
      this.pingDeadlineTimer = setTimeout(() => {
        this.pingDeadlineTimer = undefined;
        if (this.socket !== socket || this.stopped) return;
        // Silent: replace it (its close may never come).
        this.teardown();
        this.scheduleReconnect();
      }, this.options.pingDeadlineMs);
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.options.backoff.next();
    this.setState({ status: "reconnecting", attempts: this.state.attempts + 1, retryAtMs: this.options.now() + delay });
    this.reconnectTimer = setTimeout(() => this.connect("reconnecting"), delay);
  }

  private teardown(): void {
    this.attemptId++;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pingDeadlineTimer);
    this.pingDeadlineTimer = undefined;
    this.pingSentAtMs = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      if (socket.readyState <= OPEN) socket.close(1000, "client closed");
    }
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.options.onStatus?.(state);
  }
}
