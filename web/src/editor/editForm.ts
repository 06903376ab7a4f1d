// The form of an edit, as pure functions: what the person typed, the version it started from
// (the base) and that version's values, so each field knows whether it was changed here. A
// save's answer and a version conflict are folded in field by field, so nothing typed in the
// meantime, and nothing someone else saved in a field this person never touched, is lost.

import type { Appointment } from "../api/types";
import { toForm, validateForm, type FormValues } from "../lib/form";

export type FieldName = keyof FormValues;
export type FieldErrors = Partial<Record<FieldName, string>>;

export const FIELD_NAMES: readonly FieldName[] = ["title", "startsAt", "endsAt", "client", "location", "notes"];

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
