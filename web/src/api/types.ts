// The shapes of the lockd HTTP and WebSocket contract (docs/api.md). Times are RFC 3339 strings.

export type Role = "user" | "admin";

export interface Person {
  userId: string;
  sessionId: string;
  name: string;
  email: string;
  role: Role;
}

export interface Lock {
  appointmentId: string;
  holder: Person;
  fencingToken: number;
  acquiredAt: string;
  lastActivityAt: string;
  expiresAt: string;
  ttlMs: number;
  /** Set when the lock was handed from the queue to a waiter who has not confirmed yet: the
   * holder must act (heartbeat, acquire or save) before this instant or the lock passes on.
   * Absent from servers without claim windows. */
  claimBy?: string | null;
}

export interface Waiter {
  person: Person;
  position: number;
  enqueuedAt: string;
  expiresAt: string;
}

export interface AppointmentFields {
  title: string;
  startsAt: string;
  endsAt: string;
  client: string;
  location: string;
  notes: string;
}

export type AppointmentStatus = "scheduled" | "cancelled";

export interface Appointment extends AppointmentFields {
  id: string;
  version: number;
  /** The user id of the last saver. */
  updatedBy: string;
  /** The last saver's name (absent from older servers). */
  updatedByName?: string;
  updatedAt: string;
  /** Absent from servers that cannot cancel: those know only scheduled appointments. */
  status?: AppointmentStatus;
}

export interface AppointmentWithLock extends Appointment {
  lock: Lock | null;
  queueLength: number;
  /** Tabs viewing the appointment now (absent from older servers). */
  viewers?: number;
}

/** `PUT /appointments/{id}`: every field (an update replaces them all), with the status when
 * the server keeps one. */
export interface AppointmentUpdate extends AppointmentFields {
  status?: AppointmentStatus;
}

/** `POST /appointments`: the fields, and optionally the id to create it under. */
export interface NewAppointment extends AppointmentFields {
  id?: string;
  status?: AppointmentStatus;
}

/** A lock event of the audit trail (`GET /appointments/{id}/audit`, `GET /audit`). */
export type AuditAction = "granted" | "released" | "disconnected" | "expired" | "taken_over" | "unclaimed" | "moved";

export interface AuditRecord {
  seq: number;
  at: string;
  /** Present on every record of `GET /audit`; older servers leave it out per appointment. */
  appointmentId?: string;
  /** Known actions, or one a newer server added. */
  action: AuditAction | (string & {});
  /** Who acted: the new holder of a grant, takeover or move; who released. */
  by: Person | null;
  /** Whose lock it was: released, lapsed, taken over or moved from. */
  from: Person | null;
  fromFencingToken: number | null;
  fencingToken: number | null;
  reason: string;
}

export interface AuditTrail {
  appointmentId: string;
  records: AuditRecord[];
}

export interface AuditSearch {
  records: AuditRecord[];
}

export interface AppointmentList {
  appointments: AppointmentWithLock[];
  serverTime: string;
}

export interface LockStatus {
  locked: boolean;
  lock: Lock | null;
  queue: Waiter[];
  appliedIndex: number;
  serverTime: string;
}

export interface LockGranted {
  lock: Lock;
  fencingToken: number;
  expiresAt: string;
  renewed: boolean;
  serverTime: string;
}

export interface Queued {
  queued: true;
  position: number;
  queue: Waiter[];
  serverTime: string;
}

/** What a draft holds: the form's text exactly as typed, valid or not (an empty title, a
 * cleared or half-typed time, times as the inputs hold them); checked by the server only for
 * length and control characters, validated as an appointment only when saved. */
export interface DraftFields {
  title: string;
  startsAt: string;
  endsAt: string;
  client: string;
  location: string;
  notes: string;
}

/** `PUT /appointments/{id}/draft`: the text, the version it started from and, when known, that
 * version's values (`base`), so the edits can later be merged field by field. */
export interface DraftBody extends DraftFields {
  baseVersion: number;
  base?: DraftFields;
}

export interface Draft extends DraftFields {
  appointmentId: string;
  baseVersion: number;
  savedAt: string;
  /** Null (or absent, from an older server) when the draft was kept without its base. */
  base?: DraftFields | null;
}

export interface Viewer {
  userId: string;
  sessionId: string;
  name: string;
  email: string;
  role: Role;
  nodeId: number;
  pointer: { x: number; y: number } | null;
}

/** `GET /auth/me`: the caller as the node reads their token. */
export interface Me {
  userId: string;
  name: string;
  email: string;
  role: Role;
}

export interface ClusterStatus {
  nodeId: number;
  leaderId: number | null;
  term: number;
}

/** Messages on `/appointments/{id}/updates`. */
export type AppointmentMessage =
  | {
      type: "snapshot";
      index: number;
      appointment: Appointment;
      lock: Lock | null;
      queue: Waiter[];
      viewers?: Viewer[];
      serverTime: string;
    }
  | { type: "lock.acquired"; index: number; appointmentId: string; lock: Lock; serverTime: string }
  | { type: "lock.renewed"; index: number; appointmentId: string; lock: Lock; serverTime: string }
  | { type: "lock.released"; index: number; appointmentId: string; previous: Lock; reason: string; serverTime: string }
  | { type: "lock.expired"; index: number; appointmentId: string; previous: Lock; serverTime: string }
  | {
      type: "lock.taken_over";
      index: number;
      appointmentId: string;
      lock: Lock;
      previous: Lock;
      reason: string;
      serverTime: string;
    }
  | { type: "lock.queued"; index: number; appointmentId: string; queue: Waiter[]; serverTime: string }
  /** The same person continued in another tab: the lock moved there, with a new token. */
  | { type: "lock.moved"; index: number; appointmentId: string; lock: Lock; previous: Lock; serverTime: string }
  | { type: "appointment.updated"; index: number; appointmentId: string; appointment: Appointment; serverTime: string }
  | { type: "presence"; appointmentId: string; viewers: Viewer[] }
  | {
      type: "pointer";
      appointmentId: string;
      userId: string;
      sessionId: string;
      name: string;
      x: number | null;
      y: number | null;
    }
  | { type: "pong"; serverTime: string }
  | { type: "error"; code: string; detail?: string };

export interface AppointmentSummary {
  id: string;
  title: string;
  version: number;
  lock: Lock | null;
  queueLength: number;
  viewers?: number;
  status?: AppointmentStatus;
}

/** Messages on `/updates` (every appointment's lock summary, for the list). */
export type ListMessage =
  | { type: "snapshot"; index: number; appointments: AppointmentSummary[]; serverTime?: string }
  /** How many tabs view each appointment now (rooms with none are left out). */
  | { type: "viewers"; counts: Record<string, number> }
  | Exclude<AppointmentMessage, { type: "snapshot" }>;
