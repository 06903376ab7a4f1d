// The appointment form's values: what the inputs hold, and the conversion to the API's fields.

import type { AppointmentFields, AppointmentStatus, AppointmentUpdate } from "@lockd/client";
import { NEW_APPOINTMENT_MINUTES } from "./constants";
import { fromLocalInput, toLocalInput } from "./format";

export interface FormValues {
  title: string;
  startsAt: string; // datetime-local
  endsAt: string; // datetime-local
  client: string;
  location: string;
  notes: string;
}

export const emptyForm: FormValues = { title: "", startsAt: "", endsAt: "", client: "", location: "", notes: "" };

export function toForm(fields: AppointmentFields): FormValues {
  return {
    title: fields.title,
    startsAt: toLocalInput(fields.startsAt),
    endsAt: toLocalInput(fields.endsAt),
    client: fields.client,
    location: fields.location,
    notes: fields.notes,
  };
}

export function toFields(form: FormValues): AppointmentFields {
  return {
    title: form.title.trim(),
    startsAt: fromLocalInput(form.startsAt),
    endsAt: fromLocalInput(form.endsAt),
    client: form.client.trim(),
    location: form.location.trim(),
    notes: form.notes,
  };
}

/** The six fields of an appointment (or anything that has them), and nothing else. */
export function fieldsOf(appointment: AppointmentFields): AppointmentFields {
  const { title, startsAt, endsAt, client, location, notes } = appointment;
  return { title, startsAt, endsAt, client, location, notes };
}

/** An update's body: every field, and the status when the server keeps one (an update replaces
 * them all, so the status is sent back as it is; a server without one refuses the field). The
 * appointment's `status` is a string in the document; only the two an update takes are sent. */
export function updateBody(fields: AppointmentFields, status: string | undefined): AppointmentUpdate {
  return isStatus(status) ? { ...fields, status } : fields;
}

function isStatus(status: string | undefined): status is AppointmentStatus {
  return status === "scheduled" || status === "cancelled";
}

/** A time kept as text (a draft) as the value of a datetime-local input: the input's own text
 * stays as it is; an RFC 3339 instant (a draft kept by an older app) becomes local time;
 * anything else is no time the input can hold, so it is empty. */
export function timeInputOf(text: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(text)) return text;
  return toLocalInput(text);
}

export function sameForm(a: FormValues, b: FormValues): boolean {
  return (Object.keys(a) as (keyof FormValues)[]).every((key) => a[key] === b[key]);
}

/** The limits the server enforces (docs/api.md), checked first so the user sees them at once. */
export function validateForm(form: FormValues): Partial<Record<keyof FormValues, string>> {
  const errors: Partial<Record<keyof FormValues, string>> = {};
  const title = form.title.trim();
  if (title.length === 0) errors.title = "A title is required.";
  else if (title.length > 200) errors.title = "At most 200 characters.";
  if (form.client.trim().length > 200) errors.client = "At most 200 characters.";
  if (form.location.trim().length > 200) errors.location = "At most 200 characters.";
  if (form.notes.length > 5000) errors.notes = "At most 5,000 characters.";
  const start = Date.parse(form.startsAt);
  const end = Date.parse(form.endsAt);
  if (Number.isNaN(start)) errors.startsAt = "Pick a start time.";
  if (Number.isNaN(end)) errors.endsAt = "Pick an end time.";
  else if (!Number.isNaN(start) && end <= start) errors.endsAt = "The end must be after the start.";
  return errors;
}

/** A new appointment's form: empty text, starting at the next whole hour (local time). */
export function newAppointmentValues(now: Date): FormValues {
  const start = new Date(now);
  start.setMinutes(0, 0, 0);
  start.setHours(start.getHours() + 1);
  const end = new Date(start.getTime() + NEW_APPOINTMENT_MINUTES * 60_000);
  return { ...emptyForm, startsAt: toLocalInput(start.toISOString()), endsAt: toLocalInput(end.toISOString()) };
}

/** An id the server takes (docs/api.md): empty (it makes one up), or 1–64 of `A-Za-z0-9-_.@:`,
 * never only dots. The error in words, or null. */
export function validateId(id: string): string | null {
  if (id === "") return null;
  if (id.length > 64) return "At most 64 characters.";
  if (!/^[A-Za-z0-9\-_.@:]+$/.test(id)) return "Only letters, digits and - _ . @ : (no spaces).";
  if (/^\.+$/.test(id)) return "Not only dots.";
  return null;
}

/** The field a server's `invalid_input` detail is about: its messages start with the field's
 * name ("title holds…", "endsAt must be after startsAt", "appointment id …"). */
export function fieldOfProblem(detail: string): keyof FormValues | "id" | null {
  const match = /^(title|startsAt|endsAt|client|location|notes|appointment id)\b/.exec(detail);
  if (!match?.[1]) return null;
  return match[1] === "appointment id" ? "id" : (match[1] as keyof FormValues);
}
