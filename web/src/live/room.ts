// The live state of one appointment as this tab sees it, built only from the server's
// messages: a snapshot, then events tagged with the log index they were applied at.
// `reduceRoom` is pure so the rules (ignore replays, resync on snapshot, notice when this tab
// loses the lock) are tested without a socket.

import type { Appointment, AppointmentMessage, Lock, Person, Viewer, Waiter } from "../api/types";

export interface RemotePointer {
  userId: string;
  sessionId: string;
  name: string;
  x: number;
  y: number;
  /** Local time of the last move, to fade idle pointers. */
  movedAtMs: number;
}

/** Why this tab stopped holding the lock, shown as a blocking notice. */
export type LossNotice =
  | { kind: "taken_over"; by: Person; reason: string; fencingToken: number }
  | { kind: "expired"; fencingToken: number }
  | { kind: "released_elsewhere"; reason: string; fencingToken: number };

/** Something worth announcing to screen readers and in the activity line. */
export interface Announcement {
  index: number;
  text: string;
}

export interface RoomState {
  /** The log index of the last snapshot: events at or below it are already in it. */
  snapshotIndex: number;
  /** The log index of the last event applied. One log entry may carry several events (a
   * release and the hand-over to the next waiter), all with the same index. */
  index: number;
  synced: boolean;
  appointment: Appointment | null;
  lock: Lock | null;
  queue: Waiter[];
  viewers: Viewer[];
  pointers: Record<string, RemotePointer>;
  loss: LossNotice | null;
  announcement: Announcement | null;
}

export const emptyRoom: RoomState = {
  snapshotIndex: 0,
  index: 0,
  synced: false,
  appointment: null,
  lock: null,
  queue: [],
  viewers: [],
  pointers: {},
  loss: null,
  announcement: null,
};

export interface RoomContext {
  sessionId: string;
  nowMs: number;
}

export function reduceRoom(state: RoomState, message: AppointmentMessage, me: RoomContext): RoomState {
  switch (message.type) {
    case "snapshot": {
      const viewers = message.viewers ?? state.viewers;
      // A snapshot after a gap may hide a lost lock: say so if we held it and no longer do.
      const heldBefore = state.lock?.holder.sessionId === me.sessionId ? state.lock : null;
      const holdsNow = message.lock?.holder.sessionId === me.sessionId;
      const loss =
        heldBefore && !holdsNow && message.lock?.fencingToken !== heldBefore.fencingToken
          ? lossFromNewLock(heldBefore, message.lock)
          : state.loss;
      return {
        ...state,
        snapshotIndex: message.index,
        index: message.index,
        synced: true,
        appointment: message.appointment,
        lock: message.lock,
        queue: message.queue,
        viewers,
        pointers: pointersFromViewers(viewers, me),
        loss,
      };
    }
    case "presence":
      return { ...state, viewers: message.viewers, pointers: keepPresent(state.pointers, message.viewers) };
    case "pointer": {
      if (message.sessionId === me.sessionId) return state;
      const { sessionId } = message;
      const others = Object.fromEntries(Object.entries(state.pointers).filter(([id]) => id !== sessionId));
      if (message.x === null || message.y === null) return { ...state, pointers: others };
      const moved: RemotePointer = { userId: message.userId, sessionId, name: message.name, x: message.x, y: message.y, movedAtMs: me.nowMs };
      return { ...state, pointers: { ...others, [sessionId]: moved } };
    }
    case "pong":
    case "error":
      return state;
    default:
      break;
  }
  // A log event: skip what the snapshot already holds, and anything older than what we applied.
  if (message.index <= state.snapshotIndex || message.index < state.index) return state;
  const next = { ...state, index: message.index };
  const announce = (text: string): Announcement => ({ index: message.index, text });
  switch (message.type) {
    case "lock.acquired": {
      const mine = message.lock.holder.sessionId === me.sessionId;
      return {
        ...next,
        lock: message.lock,
        queue: next.queue.filter((w) => w.person.sessionId !== message.lock.holder.sessionId),
        announcement: announce(mine ? "You are editing now." : `${message.lock.holder.name} is editing.`),
      };
    }
    case "lock.renewed":
      return { ...next, lock: message.lock };
    case "lock.released":
    case "lock.expired": {
      // A hand-over comes as the release and the next grant at the same index, release first:
      // only clear the lock this event is about.
      const lock = next.lock?.fencingToken === message.previous.fencingToken ? null : next.lock;
      const wasMine = message.previous.holder.sessionId === me.sessionId;
      let loss = next.loss;
      if (wasMine && message.type === "lock.expired") loss = { kind: "expired", fencingToken: message.previous.fencingToken };
      if (wasMine && message.type === "lock.released" && message.reason !== "released") {
        loss = { kind: "released_elsewhere", reason: message.reason, fencingToken: message.previous.fencingToken };
      }
      const who = wasMine ? "Your" : `${message.previous.holder.name}'s`;
      const text = message.type === "lock.expired" ? `${who} lock expired. The appointment is free.` : "The appointment is free to edit.";
      return { ...next, lock, loss, announcement: announce(text) };
    }
    case "lock.taken_over": {
      const wasMine = message.previous.holder.sessionId === me.sessionId;
      const loss: LossNotice | null = wasMine
        ? { kind: "taken_over", by: message.lock.holder, reason: message.reason, fencingToken: message.previous.fencingToken }
        : next.loss;
      return {
        ...next,
        lock: message.lock,
        loss,
        announcement: announce(`${message.lock.holder.name} took control from ${wasMine ? "you" : message.previous.holder.name}.`),
      };
    }
    case "lock.queued":
      return { ...next, queue: message.queue };
    case "appointment.updated":
      return {
        ...next,
        appointment: message.appointment,
        announcement: announce(`Saved by ${message.appointment.updatedBy} (version ${message.appointment.version}).`),
      };
  }
}

function lossFromNewLock(previous: Lock, current: Lock | null): LossNotice {
  if (current && current.holder.role === "admin") {
    return { kind: "taken_over", by: current.holder, reason: "", fencingToken: previous.fencingToken };
  }
  return { kind: "released_elsewhere", reason: "lost while disconnected", fencingToken: previous.fencingToken };
}

function pointersFromViewers(viewers: Viewer[], me: RoomContext): Record<string, RemotePointer> {
  const pointers: Record<string, RemotePointer> = {};
  for (const v of viewers) {
    if (v.sessionId === me.sessionId || !v.pointer) continue;
    pointers[v.sessionId] = { userId: v.userId, sessionId: v.sessionId, name: v.name, ...v.pointer, movedAtMs: me.nowMs };
  }
  return pointers;
}

function keepPresent(pointers: Record<string, RemotePointer>, viewers: Viewer[]): Record<string, RemotePointer> {
  const present = new Set(viewers.map((v) => v.sessionId));
  const kept: Record<string, RemotePointer> = {};
  for (const [sessionId, pointer] of Object.entries(pointers)) {
    if (present.has(sessionId)) kept[sessionId] = pointer;
  }
  return kept;
}

/** This tab's role in the room. */
export type MyLockRole = "holder" | "queued" | "viewer";

export function myRole(state: Pick<RoomState, "lock" | "queue">, sessionId: string): MyLockRole {
  if (state.lock?.holder.sessionId === sessionId) return "holder";
  if (state.queue.some((w) => w.person.sessionId === sessionId)) return "queued";
  return "viewer";
}

/**
 * The newer of two views of one appointment's lock: a higher fencing token is a later grant;
 * for the same grant the later expiry is the later renewal. HTTP answers and socket events
 * race, and neither may roll the other back.
 */
export function newerLock(current: Lock | null, incoming: Lock): Lock {
  if (!current || incoming.fencingToken > current.fencingToken) return incoming;
  if (incoming.fencingToken < current.fencingToken) return current;
  return Date.parse(incoming.expiresAt) >= Date.parse(current.expiresAt) ? incoming : current;
}
