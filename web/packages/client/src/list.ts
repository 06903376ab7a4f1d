// The list's live lock badges, kept from `/updates` only. The REST list gives each row's
// fields; this state, when it has the row, overrides what changes live (lock, queue, title,
// saved fields). Two sources merged at render, so neither can overwrite the other mid-flight.

import type { Appointment, AppointmentSummary, AppointmentWithLock, ListMessage, Person } from "./types";

export interface LiveRow extends AppointmentSummary {
  /** The full appointment when a save was seen after the snapshot. */
  saved?: Appointment;
}

export interface ListState {
  rows: Record<string, LiveRow>;
  snapshotIndex: number;
  index: number;
  /** Tabs viewing each appointment, once the server told (older servers never do). */
  viewers: Record<string, number> | null;
  /** Names of the lock holders seen, by user id: an older server names a saver only by id. */
  names: Record<string, string>;
}

export const emptyList: ListState = { rows: {}, snapshotIndex: 0, index: 0, viewers: null, names: {} };

export function reduceList(state: ListState, message: ListMessage): ListState {
  const next = reduce(state, message);
  if (next === state) return state;
  const people: Person[] = [];
  for (const row of Object.values(next.rows)) if (row.lock) people.push(row.lock.holder);
  if ("previous" in message) people.push(message.previous.holder);
  const unknown = people.filter((p) => next.names[p.userId] !== p.name);
  if (unknown.length === 0) return next;
  return { ...next, names: { ...next.names, ...Object.fromEntries(unknown.map((p) => [p.userId, p.name])) } };
}

function reduce(state: ListState, message: ListMessage): ListState {
  if (message.type === "snapshot") {
    const counted = message.appointments.some((a) => a.viewers !== undefined);
    const viewers = counted ? Object.fromEntries(message.appointments.map((a) => [a.id, a.viewers ?? 0])) : null;
    return { ...state, rows: Object.fromEntries(message.appointments.map((a) => [a.id, a])), snapshotIndex: message.index, index: message.index, viewers };
  }
  // Not a log event: the whole count, rooms with none left out.
  if (message.type === "viewers") return { ...state, viewers: { ...message.counts } };
  if (!("index" in message)) return state;
  if (message.index <= state.snapshotIndex || message.index < state.index) return state;
  const id = message.appointmentId;
  const row: LiveRow = state.rows[id] ?? { id, title: "", version: 0, lock: null, queueLength: 0 };
  const put = (next: LiveRow): ListState => ({ ...state, index: message.index, rows: { ...state.rows, [id]: next } });
  switch (message.type) {
    case "lock.acquired":
    case "lock.renewed":
    case "lock.taken_over":
    case "lock.moved":
      return put({ ...row, lock: message.lock });
    case "lock.released":
    case "lock.expired":
      return put(row.lock?.fencingToken === message.previous.fencingToken ? { ...row, lock: null } : row);
    case "lock.queued":
      return put({ ...row, queueLength: message.queue.length });
    case "appointment.updated":
      return put({ ...row, title: message.appointment.title, version: message.appointment.version, saved: message.appointment, status: message.appointment.status });
  }
}

/** A REST row with what the socket knows about it laid over. */
export function mergeRow(rest: AppointmentWithLock, live: LiveRow | undefined): AppointmentWithLock {
  if (!live) return rest;
  const fields = live.saved && live.saved.version >= rest.version ? live.saved : rest;
  // The snapshot's status, when it is of a version at least as new as the fields shown.
  const status = live.status !== undefined && fields !== live.saved && live.version >= rest.version ? live.status : fields.status;
  return { ...rest, ...fields, title: live.title || fields.title, lock: live.lock, queueLength: live.queueLength, status };
}

/** How many tabs view appointment `id`: the socket's count once it gave one, else the REST
 * row's; undefined when the server counts no viewers. */
export function viewersOf(rest: AppointmentWithLock, state: Pick<ListState, "viewers">): number | undefined {
  if (state.viewers) return state.viewers[rest.id] ?? 0;
  return rest.viewers;
}
