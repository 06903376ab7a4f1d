// One appointment's live room: its state (`room.ts`'s reducer over a store), the socket that
// feeds it, and this tab's own answers dispatched through the same reducer. Started while
// anything looks at it (`retain`), stopped when the last one lets go.

import type { ConnectionState, LiveSocket } from "./socket";
import { emptyRoom, reduceRoom, type LocalAction, type RoomContext, type RoomState } from "./room";
import { createStore, type Store } from "./store";
import type { AppointmentMessage } from "./types";

/** The window's events where there is one (not in Node, nor in a worker without them). */
const browser = globalThis as Partial<Pick<Window, "addEventListener" | "removeEventListener">>;

export interface RoomOptions {
  appointmentId: string;
  /** Opens the room's socket (`LockdClient.openSocket`), feeding it `onMessage`. */
  openSocket: (handlers: { onMessage: (message: AppointmentMessage) => void; onStatus: (state: ConnectionState) => void }) => LiveSocket<AppointmentMessage>;
  /** Who this tab is, read at each input: the reducer tells this tab's lock from others'. */
  me: () => RoomContext;
  /** Called when the room starts being held (again). */
  onRetained?: () => void;
  /** Called once the last holder lets go (the client forgets the room). */
  onIdle?: () => void;
}

export class LiveRoom {
  readonly appointmentId: string;
  readonly store: Store<RoomState>;
  /** The socket's connection, for an indicator. */
  readonly connection: Store<ConnectionState>;
  readonly socket: LiveSocket<AppointmentMessage>;
  private holders = 0;
  private readonly options: RoomOptions;
  private readonly online = () => this.socket.reconnectNow();
  private readonly offline = () => this.socket.offline();

  constructor(options: RoomOptions) {
    this.options = options;
    this.appointmentId = options.appointmentId;
    this.store = createStore<RoomState>(emptyRoom);
    this.connection = createStore<ConnectionState>({ status: "stopped", attempts: 0, retryAtMs: null });
    this.socket = options.openSocket({
      onMessage: (message) => this.apply(message),
      onStatus: (state) => {
        this.connection.setState(state);
        // Disconnected: what we show may be stale until the next snapshot.
        const current = this.store.getState();
        if (state.status !== "open" && current.synced) this.store.setState({ ...current, synced: false });
      },
    });
  }

  /** Applies what this tab learnt from its own HTTP answers, through the same reducer. */
  dispatch(action: LocalAction): void {
    this.apply(action);
  }

  /** Keeps the room live until the returned function is called (each call once). */
  retain(): () => void {
    this.holders++;
    if (this.holders === 1) {
      this.options.onRetained?.();
      this.start();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      if (this.holders === 0) {
        this.stop();
        this.options.onIdle?.();
      }
    };
  }

  /** Whether anything holds the room now. */
  get retained(): boolean {
    return this.holders > 0;
  }

  private apply(input: AppointmentMessage | LocalAction): void {
    this.store.setState(reduceRoom(this.store.getState(), input, this.options.me()));
  }

  private start(): void {
    this.socket.start();
    // The browser knows first when the network goes: say so at once, not after a ping deadline.
    browser.addEventListener?.("online", this.online);
    browser.addEventListener?.("offline", this.offline);
  }

  private stop(): void {
    browser.removeEventListener?.("online", this.online);
    browser.removeEventListener?.("offline", this.offline);
    this.socket.stop();
  }
}
