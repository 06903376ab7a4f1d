// The shapes of the lockd contract. The REST bodies are the OpenAPI document's schemas
// (`generated/openapi.ts`, from `openapi.json` by openapi-typescript), named here once; the
// WebSocket messages, which OpenAPI has no vocabulary for, are typed by hand from docs/api.md
// ("Live updates") on top of them. Times are RFC 3339 strings.

import type { components } from "./generated/openapi";

type Schemas = components["schemas"];

export type Person = Schemas["Person"];
export type Role = Person["role"];
export type Lock = Schemas["Lock"];
export type Waiter = Schemas["Waiter"];
export type Appointment = Schemas["Appointment"];
export type AppointmentStatus = Schemas["StatusInput"];
/** The six fields a person edits. */
export type AppointmentFields = Pick<Appointment, "title" | "startsAt" | "endsAt" | "client" | "location" | "notes">;
export type AppointmentWithLock = Schemas["AppointmentWithLock"];
export type AppointmentList = Schemas["AppointmentList"];
/** `POST /appointments`, and `PUT /appointments/{id}` (without `id`): an update replaces every field. */
export type NewAppointment = Schemas["AppointmentInput"];
export type AppointmentUpdate = Omit<NewAppointment, "id">;
export type AuditRecord = Schemas["AuditRecord"];
export type AuditAction = "granted" | "released" | "disconnected" | "expired" | "taken_over" | "unclaimed" | "moved";
export type AuditTrail = Schemas["AuditTrail"];
export type AuditSearch = Schemas["RecentAudit"];
export type LockStatus = Schemas["LockStatus"];
export type LockGranted = Schemas["LockGranted"];
export type Queued = Schemas["Queued"];
/** A draft's text: the form exactly as typed, valid or not. */
export type DraftFields = Schemas["DraftText"];
/** `PUT /appointments/{id}/draft`: the text, the version it started from and that version's values. */
export type DraftBody = Schemas["DraftInput"];
export type Draft = Schemas["Draft"];
export type Me = Schemas["Me"];
export type AuthConfig = Schemas["AuthConfig"];
export type ProblemDoc = Schemas["ProblemDoc"];

// --- WebSocket messages (docs/api.md, "Live updates")

/** A tab viewing an appointment, on any node (`snapshot.viewers`, `presence`). */
export interface Viewer {
  userId: string;
  sessionId: string;
  name: string;
  email: string;
  role: Role;
  nodeId: number;
  pointer: { x: number; y: number } | null;
}

/** One appointment's lock summary on `/updates`. */
export interface AppointmentSummary {
  id: string;
  title: string;
  version: number;
  lock: Lock | null;
  queueLength: number;
  viewers?: number;
  status?: Appointment["status"];
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

/** Messages on `/updates` (every appointment's lock summary, for the list). */
export type ListMessage =
  | { type: "snapshot"; index: number; appointments: AppointmentSummary[]; serverTime?: string }
  /** How many tabs view each appointment now (rooms with none are left out). */
  | { type: "viewers"; counts: Record<string, number> }
  | Exclude<AppointmentMessage, { type: "snapshot" }>;
