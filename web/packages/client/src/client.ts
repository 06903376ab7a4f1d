// The one object an app makes: `createLockdClient({ nodes, getToken })`. It owns what a tab
// shares across pages: its session id (a lock belongs to a tab), the cluster clock every
// answer feeds, the node list with failover, the REST calls, and one live room per open
// appointment.

import { LockdApi } from "./api";
import { EditLock } from "./editLock";
import { LiveRoom } from "./liveRoom";
import { NodePool } from "./nodes";
import { randomId } from "./randomId";
import { ServerClock } from "./serverClock";
import { LiveSocket, type ConnectionState, type SocketFactory } from "./socket";
import { TokenSource, type GetToken } from "./token";
import type { AppointmentMessage } from "./types";

export interface LockdClientOptions {
  /** Base URLs of the cluster's nodes (`https://lockd-1.example.org`); any one serves all.
   * A web app served by lockd itself passes its own origin. */
  nodes: readonly string[];
  /** The bearer for every request and socket: an access token, or null while signed out.
   * Asked before each request, so a renewed token is used at once. */
  getToken?: GetToken;
  /** A token was refused: 401 on a request (`"request"`; true when a new one was got, and the
   * request is sent once more) or the server closed a socket for its age (`"socket"`, 4401;
   * it reconnects after). */
  onUnauthenticated?: (source: "request" | "socket") => Promise<boolean>;
  /** The tab's id (`X-Session-Id`): one per page load. A random `tab-…` by default. */
  sessionId?: string;
  /** The signed-in person's user id: their lock held in another tab is theirs to move here. */
  currentUserId?: () => string | null;
  fetch?: typeof fetch;
  /** Opens a WebSocket (the global one by default). */
  webSocket?: SocketFactory;
  /** The local clock, ms since the epoch (a fake one in tests). */
  now?: () => number;
}

export interface SocketHandlers<M> {
  onMessage: (message: M) => void;
  onStatus?: (state: ConnectionState) => void;
}

export class LockdClient {
  readonly sessionId: string;
  readonly nodes: NodePool;
  /** The cluster's time as this tab measures it: run countdowns against `clock.now()`. */
  readonly clock: ServerClock;
  readonly api: LockdApi;
  private readonly token: TokenSource;
  private readonly options: LockdClientOptions;
  private readonly now: () => number;
  private readonly rooms = new Map<string, { room: LiveRoom; lock: EditLock }>();

  constructor(options: LockdClientOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.sessionId = options.sessionId ?? `tab-${randomId()}`;
    this.nodes = new NodePool(options.nodes);
    this.clock = new ServerClock(this.now);
    this.token = new TokenSource(options.getToken ?? (() => null));
    const onUnauthenticated = options.onUnauthenticated;
    this.api = new LockdApi({
      pool: this.nodes,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      sessionId: this.sessionId,
      token: this.token,
      clock: this.clock,
      now: this.now,
      ...(onUnauthenticated ? { onUnauthenticated: () => onUnauthenticated("request") } : {}),
    });
  }

  /** The live room of `appointmentId`, shared by everything that shows it. It runs while
   * retained (`room.retain()`); once the last holder lets go it is forgotten, so opening the
   * appointment again starts from a fresh snapshot. */
  room(appointmentId: string): LiveRoom {
    return this.entry(appointmentId).room;
  }

  /** This tab's lock on `appointmentId` (its room's). */
  lock(appointmentId: string): EditLock {
    return this.entry(appointmentId).lock;
  }

  /** A socket on `path` (`/updates`, `/appointments/{id}/updates`) of the current node, with
   * this tab's session and token, moving to the next node when one cannot be reached. Call
   * `start()` on it. */
  openSocket<M extends { type: string }>(path: string, handlers: SocketHandlers<M>): LiveSocket<M> {
    const onUnauthenticated = this.options.onUnauthenticated;
    let url = "";
    return new LiveSocket<M>({
      url: () => {
        url = this.nodes.current();
        return socketUrl(url, path, { sessionId: this.sessionId });
      },
      protocols: () => {
        const token = this.token.read();
        return token instanceof Promise ? token.then(protocolsFor) : protocolsFor(token);
      },
      onMessage: handlers.onMessage,
      ...(handlers.onStatus ? { onStatus: handlers.onStatus } : {}),
      ...(onUnauthenticated ? { onAuthExpired: () => onUnauthenticated("socket").then(() => undefined) } : {}),
      onUnreachable: () => this.nodes.failed(url),
      clock: this.clock,
      now: this.now,
      ...(this.options.webSocket ? { factory: this.options.webSocket } : {}),
    });
  }

  private entry(appointmentId: string): { room: LiveRoom; lock: EditLock } {
    const known = this.rooms.get(appointmentId);
    if (known) return known;
    const room: LiveRoom = new LiveRoom({
      appointmentId,
      openSocket: (handlers) => this.openSocket<AppointmentMessage>(`/appointments/${encodeURIComponent(appointmentId)}/updates`, handlers),
      me: () => ({ sessionId: this.sessionId, nowMs: this.now(), userId: this.options.currentUserId?.() ?? null }),
      onRetained: () => {
        // Held again after it was let go (React runs effects twice in development): it is
        // the room again, unless another took its place meanwhile.
        if (!this.rooms.has(appointmentId)) this.rooms.set(appointmentId, entry);
      },
      onIdle: () => {
        if (this.rooms.get(appointmentId)?.room === room) this.rooms.delete(appointmentId);
      },
    });
    const entry = { room, lock: new EditLock({ room, calls: this.api, sessionId: this.sessionId, now: this.now }) };
    this.rooms.set(appointmentId, entry);
    return entry;
  }
}

export function createLockdClient(options: LockdClientOptions): LockdClient {
  return new LockdClient(options);
}

/** Browsers cannot set headers on a WebSocket: the token travels as a subprotocol. */
function protocolsFor(token: string | null): string[] {
  return token ? ["lockd", `bearer.${token}`] : ["lockd"];
}

/** `ws(s)://node/path?query` for a node's `http(s)://` base URL. */
export function socketUrl(nodeUrl: string, path: string, params: Record<string, string>): string {
  const url = new URL(path, nodeUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = new URLSearchParams(params).toString();
  return url.toString();
}
