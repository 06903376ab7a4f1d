// The live state of one appointment as this tab sees it, built from the server's messages (a
// snapshot, then events tagged with the log index they were applied at) and from this tab's
// own HTTP answers (local actions: granted, released, queued, queue left, saved). Every change
// goes through `reduceRoom`, which is pure, so the rules (ignore replays, resync on snapshot,
// never roll a lock back, notice when this tab loses the lock) are tested without a socket.

import { leaseTtlMs } from "./lease";
import type { Appointment, AppointmentFields, AppointmentMessage, Lock, Person, Viewer, Waiter } from "./types";

/** How many versions of the appointment the room remembers, newest first: a draft or an edit
 * based on one of them can then be merged field by field after a conflict. */
export const VERSIONS_KEPT_MAX = 16;

/** What this tab learnt from its own HTTP answers, applied like the server's events. */
export type LocalAction =
  /** An acquire, heartbeat or takeover answered with this grant (or a takeover was refused
   * naming it). Merged with `newerLock`: the socket may already have shown a newer one. */
  | { type: "local.granted"; lock: Lock }
  /** This tab released its grant `fencingToken` (Done). */
  | { type: "local.released"; fencingToken: number }
  /** The acquire answered with the queue this tab joined. */
  | { type: "local.queued"; queue: Waiter[] }
  /** This tab left the queue. */
  | { type: "local.queue_left"; sessionId: string }
  /** This tab saved this version. */
  | { type: "local.saved"; appointment: Appointment }
  /** The loss notice was taken up by the editor (it keeps the draft and tells the person). */
  | { type: "local.loss_seen" }
  /** The person saw that the lock was handed to them (acted, dismissed it, or came back). */
  | { type: "local.handover_seen" };

export type RoomInput = AppointmentMessage | LocalAction;

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
  | { kind: "expired"; fencingToken: number; ttlMs: number }
  /** Handed from the queue, not confirmed within the claim window: it passed on. */
  | { kind: "unclaimed"; fencingToken: number; claimWindowMs: number }
  /** The same person continued in another tab. */
  | { kind: "moved"; fencingToken: number }
  | { kind: "released_elsewhere"; reason: string; fencingToken: number };

/** The lock came to this tab from the queue, while the person may be looking elsewhere: they
 * are told (toast, title, notification) until they act, dismiss it or come back. */
export interface HandOver {
  fencingToken: number;
}

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
  handOver: HandOver | null;
  announcement: Announcement | null;
  /** Versions of the appointment seen, by version number (at most `VERSIONS_KEPT_MAX`). */
  versions: Record<number, AppointmentFields>;
  /** Names of the people seen, by user id: events name a saver only by id. */
  names: Record<string, string>;
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
  handOver: null,
  announcement: null,
  versions: {},
  names: {},
};

export interface RoomContext {
  sessionId: string;
  nowMs: number;
  /** The person of this tab: a lock of theirs in another tab is theirs to move here. */
  userId?: string | null;
}

export function reduceRoom(state: RoomState, input: RoomInput, me: RoomContext): RoomState {
  const next = withHandOver(state, reduce(state, input, me), me);
  if (next === state) return state;
  const appointment = next.appointment;
  const versions = appointment && !(appointment.version in next.versions) ? keepVersion(next.versions, appointment) : next.versions;
  const names = learnNames(next.names, next, input);
  return versions === next.versions && names === next.names ? next : { ...next, versions, names };
}

/** The name of user `userId` as seen in this room, else the id. */
export function nameOf(state: Pick<RoomState, "names">, userId: string): string {
  return state.names[userId] ?? userId;
}

function reduce(state: RoomState, message: RoomInput, me: RoomContext): RoomState {
  switch (message.type) {
    case "local.granted": {
      const lock = newerLock(state.lock, message.lock);
      return { ...state, lock, queue: state.queue.filter((w) => w.person.sessionId !== lock.holder.sessionId) };
    }
    case "local.released":
      return state.lock?.fencingToken === message.fencingToken ? { ...state, lock: null } : state;
    case "local.queued":
      return { ...state, queue: message.queue };
    case "local.queue_left":
      return { ...state, queue: state.queue.filter((w) => w.person.sessionId !== message.sessionId) };
    case "local.saved":
      return state.appointment && state.appointment.version >= message.appointment.version ? state : { ...state, appointment: message.appointment };
    case "local.loss_seen":
      return state.loss === null ? state : { ...state, loss: null };
    case "local.handover_seen":
      return state.handOver === null ? state : { ...state, handOver: null };
    case "snapshot": {
      const viewers = message.viewers ?? state.viewers;
      // A snapshot after a gap may hide a lost lock: say so if we held it and no longer do.
      const heldBefore = state.lock?.holder.sessionId === me.sessionId ? state.lock : null;
      const holdsNow = message.lock?.holder.sessionId === me.sessionId;
      const loss =
        heldBefore && !holdsNow && message.lock?.fencingToken !== heldBefore.fencingToken
          ? lossFromNewLock(heldBefore, message.lock, me)
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
      const name = message.lock.holder.name;
      const text = message.lock.claimBy
        ? mine
          ? "The lock is yours: start editing before it passes on."
          : `Handed to ${name}: waiting for them to start.`
        : mine
          ? "You are editing now."
          : `${name} is editing.`;
      return {
        ...next,
        lock: message.lock,
        queue: next.queue.filter((w) => w.person.sessionId !== message.lock.holder.sessionId),
        announcement: announce(text),
      };
    }
    case "lock.renewed":
      return { ...next, lock: message.lock };
    case "lock.released":
    case "lock.expired": {
      // A hand-over comes as the release and the next grant at the same index, release first:
      // only clear the lock this event is about.
      const lock = next.lock?.fencingToken === message.previous.fencingToken ? null : next.lock;
      const { previous } = message;
      const wasMine = previous.holder.sessionId === me.sessionId;
      // An expiry of a hand-over never confirmed: the waiter did not start in time.
      const unclaimed = message.type === "lock.expired" && Boolean(previous.claimBy);
      let loss = next.loss;
      if (wasMine && message.type === "lock.expired") {
        loss = unclaimed
          ? { kind: "unclaimed", fencingToken: previous.fencingToken, claimWindowMs: claimWindowMs(previous) }
          : { kind: "expired", fencingToken: previous.fencingToken, ttlMs: leaseTtlMs(previous) };
      }
      if (wasMine && message.type === "lock.released" && message.reason !== "released") {
        loss = { kind: "released_elsewhere", reason: message.reason, fencingToken: previous.fencingToken };
      }
      const who = wasMine ? "Your" : `${previous.holder.name}'s`;
      let text = "The appointment is free to edit.";
      if (unclaimed) text = wasMine ? "You did not start in time: the lock passed on." : `${previous.holder.name} did not start in time: the lock passed on.`;
      else if (message.type === "lock.expired") text = `${who} lock expired. The appointment is free.`;
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
    case "lock.moved": {
      const wasMine = message.previous.holder.sessionId === me.sessionId;
      const mine = message.lock.holder.sessionId === me.sessionId;
      const loss: LossNotice | null = wasMine ? { kind: "moved", fencingToken: message.previous.fencingToken } : next.loss;
      const text = wasMine ? "You continued in another tab." : mine ? "You are editing here now." : `${message.lock.holder.name} continued in another tab.`;
      return { ...next, lock: newerLock(next.lock, message.lock), loss, announcement: announce(text) };
    }
    case "lock.queued":
      return { ...next, queue: message.queue };
    case "appointment.updated":
      return {
        ...next,
        appointment: message.appointment,
        announcement: announce(`Saved by ${nameOf(state, message.appointment.updatedBy)} (version ${message.appointment.version}).`),
      };
  }
}

function keepVersion(versions: Record<number, AppointmentFields>, appointment: Appointment): Record<number, AppointmentFields> {
  const { title, startsAt, endsAt, client, location, notes } = appointment;
  const kept: Record<number, AppointmentFields> = { [appointment.version]: { title, startsAt, endsAt, client, location, notes } };
  const older = Object.keys(versions)
    .map(Number)
    .sort((a, b) => b - a)
    .slice(0, VERSIONS_KEPT_MAX - 1);
  for (const version of older) {
    const fields = versions[version];
    if (fields) kept[version] = fields;
  }
  return kept;
}

/** Remember the names of the people in the room (bounded by the people the server lists). */
function learnNames(names: Record<string, string>, state: RoomState, input: RoomInput): Record<string, string> {
  const people: { userId: string; name: string }[] = [...state.viewers, ...state.queue.map((w) => w.person)];
  if (state.lock) people.push(state.lock.holder);
  if ("previous" in input) people.push(input.previous.holder);
  if (people.every((p) => names[p.userId] === p.name)) return names;
  const learnt = { ...names };
  for (const p of people) learnt[p.userId] = p.name;
  return learnt;
}

/** The reason of a loss seen only in the snapshot after a reconnect: the lock went meanwhile. */
export const LOST_WHILE_DISCONNECTED = "lost while disconnected";

function lossFromNewLock(previous: Lock, current: Lock | null, me: RoomContext): LossNotice {
  if (current && me.userId && current.holder.userId === me.userId) {
    return { kind: "moved", fencingToken: previous.fencingToken };
  }
  if (current && current.holder.role === "admin") {
    return { kind: "taken_over", by: current.holder, reason: "", fencingToken: previous.fencingToken };
  }
  return { kind: "released_elsewhere", reason: LOST_WHILE_DISCONNECTED, fencingToken: previous.fencingToken };
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

/**
 * The hand-over notice follows the lock: set when the lock becomes this tab's while it waited
 * in the queue (by an event, a resync snapshot or its own answer alike), dropped once that grant
 * is no longer this tab's.
 */
function withHandOver(before: RoomState, after: RoomState, me: RoomContext): RoomState {
  const lock = after.lock;
  const mine = lock?.holder.sessionId === me.sessionId;
  if (mine && myRole(before, me.sessionId) === "queued" && before.lock?.fencingToken !== lock.fencingToken) {
    return { ...after, handOver: { fencingToken: lock.fencingToken } };
  }
  if (after.handOver && !(mine && lock.fencingToken === after.handOver.fencingToken)) return { ...after, handOver: null };
  return after;
}

/** How long the holder of a handed-over grant had to confirm it: from the hand-over (its
 * `acquiredAt`) to `claimBy`. */
export function claimWindowMs(lock: Pick<Lock, "acquiredAt" | "claimBy">): number {
  const window = Date.parse(lock.claimBy ?? "") - Date.parse(lock.acquiredAt);
  return Number.isFinite(window) && window > 0 ? window : 0;
}

/** Whether `lock` was handed over from the queue and its holder has not confirmed yet. */
export function claimPending(lock: Lock | null): boolean {
  return Boolean(lock?.claimBy);
}

/** The lock is this person's, held by another of their tabs: they may continue here. */
export function heldInOtherTab(state: Pick<RoomState, "lock">, me: { sessionId: string; userId: string | null | undefined }): boolean {
  const holder = state.lock?.holder;
  return Boolean(holder && me.userId && holder.userId === me.userId && holder.sessionId !== me.sessionId);
}

/**
 * The holder's tab has no socket here any more (it left the room's presence) while the lock is
 * still theirs: their connection dropped, and the server frees the lock after its grace unless
 * they come back. Only judged once the presence list is known (it lists this tab itself).
 */
export function holderAway(state: Pick<RoomState, "lock" | "viewers" | "synced">, sessionId: string): boolean {
  const { lock, viewers } = state;
  if (!state.synced || !lock || lock.holder.sessionId === sessionId) return false;
  if (!viewers.some((v) => v.sessionId === sessionId)) return false;
  return !viewers.some((v) => v.sessionId === lock.holder.sessionId);
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
