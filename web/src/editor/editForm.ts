// The form of an edit, as pure functions: what the person typed, the version it started from
// (the base) and that version's values, so each field knows whether it was changed here. A
// save's answer and a version conflict are folded in field by field, so nothing typed in the
// meantime, and nothing someone else saved in a field this person never touched, is lost.

import type { Appointment, AppointmentFields, Draft, DraftBody, DraftFields } from "@lockd/client";
import { timeInputOf, toForm, validateForm, type FormValues } from "../lib/form";

export type FieldName = keyof FormValues;
export type FieldErrors = Partial<Record<FieldName, string>>;

export const FIELD_NAMES: readonly FieldName[] = ["title", "startsAt", "endsAt", "client", "location", "notes"];
/** Each field's name for people, as the form labels it. */
export const FIELD_LABELS: Readonly<Record<FieldName, string>> = { title: "Title", startsAt: "Starts", endsAt: "Ends", client: "Client", location: "Location", notes: "Notes" };

/** What an edit started from: the version a save must match (`If-Match`) and its values. */
export interface Base {
  version: number;
  values: FormValues;
  /** False when `values` are not that version's (a draft of a version this tab never saw):
   * then no field can be told unchanged, and a conflict asks about every differing field. */
  exact: boolean;
}

export interface EditForm {
  base: Base;
  values: FormValues;
  errors: FieldErrors;
}

/** The fields whose value differs between `a` and `b`. */
export function changedFields(a: FormValues, b: FormValues): FieldName[] {
  return FIELD_NAMES.filter((name) => a[name] !== b[name]);
}

/** A fresh edit of the appointment as it is. */
export function startEdit(appointment: Appointment): EditForm {
  const values = toForm(appointment);
  return { base: { version: appointment.version, values, exact: true }, values, errors: {} };
}

/** The fields changed here since the base. */
export function dirtyFields(form: EditForm): FieldName[] {
  return changedFields(form.base.values, form.values);
}

/** The person typed: new values. A field's error is re-checked as it changes and goes once
 * fixed; fields without an error are not judged while typing. */
export function change(form: EditForm, values: FormValues): EditForm {
  const shown = Object.keys(form.errors) as FieldName[];
  if (shown.length === 0) return { ...form, values };
  const now = validateForm(values);
  const errors: FieldErrors = {};
  for (const name of shown) if (now[name] !== undefined) errors[name] = now[name];
  return { ...form, values, errors };
}

/**
 * A save answered with version `saved`, sent with the values `sent`: the saved version is the
 * new base. A field still as it was sent takes the saved value (the server may have trimmed
 * it); a field typed in since the save began keeps what was typed, and so stays dirty.
 */
export function rebaseOnSave(form: EditForm, sent: FormValues, saved: Appointment): EditForm {
  const savedValues = toForm(saved);
  const values = { ...form.values };
  for (const name of FIELD_NAMES) if (form.values[name] === sent[name]) values[name] = savedValues[name];
  return { base: { version: saved.version, values: savedValues, exact: true }, values, errors: {} };
}

/** A field both sides changed, differently: the person chooses. */
export interface FieldClash {
  field: FieldName;
  mine: string;
  theirs: string;
}

/**
 * "Keep mine" after a version conflict with `theirs`: per field against the base, take theirs
 * where only they changed, mine where only I changed, and list where both changed differently
 * (mine stays in the form until the person chooses). The result is based on their version, so
 * the next save goes over it.
 */
export function mergeOnConflict(form: EditForm, theirs: Appointment): { form: EditForm; clashes: FieldClash[] } {
  const theirValues = toForm(theirs);
  const values = { ...form.values };
  const clashes: FieldClash[] = [];
  for (const name of FIELD_NAMES) {
    const mine = form.values[name];
    const base = form.base.values[name];
    const their = theirValues[name];
    if (mine === their) continue;
    if (form.base.exact && mine === base) values[name] = their;
    else if (form.base.exact && their === base) continue;
    else clashes.push({ field: name, mine, theirs: their });
  }
  return { form: { base: { version: theirs.version, values: theirValues, exact: true }, values, errors: {} }, clashes };
}

/** The six fields of `values` and nothing else (the server refuses unknown fields); a field a
 * draft leaves out (the document makes each optional) is empty. */
function textOf(values: DraftFields): FormValues {
  const { title = "", startsAt = "", endsAt = "", client = "", location = "", notes = "" } = values;
  return { title, startsAt, endsAt, client, location, notes };
}

/**
 * The draft of this form: the text exactly as typed, valid or not (a draft is what the person
 * typed; only a save validates), the version it started from and, when known, that version's
 * values, so a later restore can tell what this person changed.
 */
export function draftOf(form: EditForm): DraftBody {
  const body: DraftBody = { ...textOf(form.values), baseVersion: form.base.version };
  if (form.base.exact) body.base = textOf(form.base.values);
  return body;
}

/** A draft offered back to restore: kept by the server, or in this browser when the server
 * could not be reached. */
export interface OfferedDraft {
  source: "server" | "browser";
  baseVersion: number;
  /** On the cluster's clock (a browser copy reads it through `serverClock`). */
  savedAt: string;
  values: FormValues;
  /** The base version's values, or null when the draft was kept without them. */
  base: FormValues | null;
}

/** The form's values of a draft's text: text as it is, times as the inputs can hold them. */
function formOfText(text: DraftFields): FormValues {
  const values = textOf(text);
  return { ...values, startsAt: timeInputOf(values.startsAt), endsAt: timeInputOf(values.endsAt) };
}

export function offeredFromServer(draft: Draft): OfferedDraft {
  return {
    source: "server",
    baseVersion: draft.baseVersion,
    savedAt: draft.savedAt,
    values: formOfText(draft),
    base: draft.base ? formOfText(draft.base) : null,
  };
}

/** The draft to offer: the newer by `savedAt` (the server's on a tie). */
export function newerDraft(server: OfferedDraft | null, browser: OfferedDraft | null): OfferedDraft | null {
  if (!server || !browser) return server ?? browser;
  return Date.parse(browser.savedAt) > Date.parse(server.savedAt) ? browser : server;
}

/** Whether `draft` has anything to restore over `current`: one identical to the appointment as
 * it is now (a browser's copy left behind by a save from elsewhere) has not. */
export function worthRestoring(draft: OfferedDraft, current: Appointment): boolean {
  return changedFields(draft.values, toForm(current)).length > 0;
}

/**
 * The form of a restored draft over the appointment as it is now (`current`). Its base is the
 * draft's own base values when it carries them; else the values of its version if this tab saw
 * it (`seen`); else unknown, and every field that differs counts as changed (a conflict asks
 * about each, never a silent overwrite).
 */
export function formFromDraft(draft: OfferedDraft, current: Appointment, seen: AppointmentFields | undefined): EditForm {
  const version = draft.baseVersion;
  const base: Base = draft.base
    ? { version, values: draft.base, exact: true }
    : seen
      ? { version, values: toForm(seen), exact: true }
      : { version, values: toForm(current), exact: false };
  return { base, values: draft.values, errors: {} };
}
