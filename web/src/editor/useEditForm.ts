// The form of this tab's edit: started from the appointment when a grant arrives (one form per
// grant, by fencing token), changed by typing, rebased by saves and merged after conflicts
// through the pure functions of `editForm.ts`. Viewers see the live appointment instead.

import { useCallback, useEffect, useRef, useState } from "react";
import type { Appointment, Lock } from "@lockd/client";
import { emptyForm, toForm, type FormValues } from "../lib/form";
import { change, dirtyFields, startEdit, type EditForm } from "./editForm";

interface Held {
  /** The grant this form belongs to. */
  fencingToken: number;
  form: EditForm;
}

export function useEditForm(appointment: Appointment | null, lock: Lock | null, holding: boolean) {
  const [held, setHeld] = useState<Held | null>(null);
  // A new grant starts a new form from the appointment as it is (state adjusted while
  // rendering, as React advises for state that follows a prop).
  const token = holding && lock ? lock.fencingToken : null;
  if (token !== null && appointment && held?.fencingToken !== token) {
    setHeld({ fencingToken: token, form: startEdit(appointment) });
  }
  const edit = token !== null && held?.fencingToken === token ? held.form : null;
  const values: FormValues = edit ? edit.values : appointment ? toForm(appointment) : emptyForm;
  const dirty = edit ? dirtyFields(edit) : [];

  // The last form this tab edited, kept after the lock is gone: what a lost lock's draft holds.
  const latest = useRef<EditForm | null>(null);
  useEffect(() => {
    latest.current = held?.form ?? null;
  });

  const lastForm = useCallback(() => latest.current, []);

  /** Applies `next` to the form of the grant it is still about (a late answer for an old grant
   * changes nothing). */
  const update = useCallback((fencingToken: number, next: (form: EditForm) => EditForm) => {
    setHeld((current) => (current?.fencingToken === fencingToken ? { fencingToken, form: next(current.form) } : current));
  }, []);

  return {
    /** The held form, while this tab holds the lock. */
    edit,
    values,
    dirty,
    isDirty: dirty.length > 0,
    update,
    setValues: (next: FormValues) => {
      if (token !== null) update(token, (form) => change(form, next));
    },
    /** The last edited form, for handlers outside render (a loss, leaving the page). */
    latest: lastForm,
  };
}

export type EditFormState = ReturnType<typeof useEditForm>;
