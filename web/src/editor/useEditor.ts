// The editing session of this tab, composed of three parts: the lock (@lockd/react's `useEditLock`:
// its state, actions and notices), the form (`useEditForm`, pure rules in `editForm.ts`) and draft recovery (`useDraftRecovery`).
// What joins them lives here: saving (a save's answer rebases the form), the conflict (merge
// per field), restoring a draft, and leaving the page.

import { useCallback, useEffect, useState } from "react";
import { ApiError, type Appointment, type AppointmentStatus } from "@lockd/client";
import { useEditLock, useStoreValue } from "@lockd/react";
import { useAuth } from "../auth";
import { fieldsOf, toFields, toForm, updateBody, validateForm } from "../lib/form";
import { lockd } from "../lockd";
import { dirtyFields, draftOf, formFromDraft, mergeOnConflict, rebaseOnSave, type EditForm, type FieldClash, type FieldName, type OfferedDraft } from "./editForm";
import { useDraftRecovery } from "./useDraftRecovery";
import { useEditForm } from "./useEditForm";

export type { LossReport } from "./useDraftRecovery";

/** A save met a newer version: theirs, and once "keep mine" ran, the fields both changed. */
export interface Conflict {
  theirs: Appointment;
  clashes: FieldClash[] | null;
}

export function useEditor(appointmentId: string) {
  // The page's own leave (below) keeps unsaved text as a draft before the release.
  const session = useEditLock(appointmentId, { leaveOnPageHide: false });
  const { controller } = session;
  const { room } = controller;
  const appointment = useStoreValue(room.store, (s) => s.appointment);
  const { lock } = session.state;
  const holding = session.state.role === "holder";
  const form = useEditForm(appointment, lock, holding);
  const userId = useAuth((s) => s.auth?.profile.userId ?? null);
  const drafts = useDraftRecovery(appointmentId, userId, room, form.latest);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  /** Bumped when a save was refused for invalid fields: the page focuses the first one. */
  const [invalidAttempt, setInvalidAttempt] = useState(0);
  const { run, clearError } = session.actions;
  const { dropLocal, refreshDraft, keepLocally } = drafts;

  // A lock lost or changed ends the conflict and the errors of the old grant.
  const fencingToken = holding && lock ? lock.fencingToken : null;
  const [conflictToken, setConflictToken] = useState(fencingToken);
  if (conflictToken !== fencingToken) {
    setConflictToken(fencingToken);
    setConflict(null);
    clearError();
  }

  /** Sends `edit` (if anything changed) under grant `token`; then, with `thenRelease`, releases. */
  const saveEdit = useCallback(
    (edit: EditForm, token: number, thenRelease: boolean) =>
      run(
        thenRelease ? "done" : "save",
        async () => {
          if (dirtyFields(edit).length > 0) {
            const errors = validateForm(edit.values);
            if (Object.keys(errors).length > 0) {
              form.update(token, (current) => ({ ...current, errors }));
              setInvalidAttempt((n) => n + 1);
              throw new Error("Check the highlighted fields.");
            }
            const sent = edit.values;
            try {
              const status = room.store.getState().appointment?.status;
              const saved = await lockd.api.saveAppointment(appointmentId, updateBody(toFields(sent), status), edit.base.version, token);
              room.dispatch({ type: "local.saved", appointment: saved });
              // Typed meanwhile stays: the saved version is the new base.
              form.update(token, (current) => rebaseOnSave(current, sent, saved));
              // Saved: the server dropped its draft, and this browser drops its copy (kept
              // again at once if text typed meanwhile is still unsaved).
              dropLocal();
              refreshDraft();
              setConflict(null);
              controller.renewed();
            } catch (e) {
              if (e instanceof ApiError && e.code === "version_conflict" && e.problem.current) {
                setConflict({ theirs: e.problem.current, clashes: null });
              }
              throw e;
            }
          }
          if (thenRelease) await controller.release(token);
        },
        // The conflict panel says it; one message is enough.
        (e) => e instanceof ApiError && e.code === "version_conflict" && e.problem.current !== undefined,
      ),
    [appointmentId, form, room, run, controller, dropLocal, refreshDraft],
  );

  const save = (thenRelease: boolean) => {
    if (!form.edit || fencingToken === null) return Promise.resolve();
    return saveEdit(form.edit, fencingToken, thenRelease);
  };

  /** Cancels or reinstates the appointment: a fenced save of the version as it is, with only
   * its status changed. Fields typed meanwhile stay in the form, unsaved. */
  const setStatus = (status: AppointmentStatus) =>
    run(
      "status",
      async () => {
        const current = room.store.getState().appointment;
        const token = fencingToken;
        if (!current || token === null) return;
        try {
          const saved = await lockd.api.saveAppointment(appointmentId, updateBody(fieldsOf(current), status), current.version, token);
          room.dispatch({ type: "local.saved", appointment: saved });
          form.update(token, (f) => rebaseOnSave(f, f.base.values, saved));
          controller.renewed();
        } catch (e) {
          if (e instanceof ApiError && e.code === "version_conflict" && e.problem.current) setConflict({ theirs: e.problem.current, clashes: null });
          throw e;
        }
      },
      (e) => e instanceof ApiError && e.code === "version_conflict" && e.problem.current !== undefined,
    );

  const discardChanges = () => {
    if (fencingToken === null) return;
    form.update(fencingToken, (current) => ({ ...current, values: current.base.values, errors: {} }));
    dropLocal();
    clearError();
  };

  /** The draft of version `draft.baseVersion`, merged later against its own base values when
   * it carries them, else against that version if this room saw it (`formFromDraft`). */
  const restoreDraft = (draft: OfferedDraft) => {
    if (!appointment || fencingToken === null) return;
    const seen = room.store.getState().versions[draft.baseVersion];
    form.update(fencingToken, () => formFromDraft(draft, appointment, seen));
  };

  const conflictLoadLatest = () =>
    run("save", async () => {
      const edit = form.edit;
      if (!conflict || !edit || fencingToken === null) return;
      // What was typed stays findable as the draft.
      await lockd.api.saveDraft(appointmentId, draftOf(edit));
      refreshDraft();
      const values = toForm(conflict.theirs);
      form.update(fencingToken, () => ({ base: { version: conflict.theirs.version, values, exact: true }, values, errors: {} }));
      setConflict(null);
    });

  /** Keep my changed fields over their version; save at once unless a field both changed. */
  const conflictKeepMine = () => {
    const edit = form.edit;
    if (!conflict || !edit || fencingToken === null) return;
    const merged = mergeOnConflict(edit, conflict.theirs);
    form.update(fencingToken, () => merged.form);
    if (merged.clashes.length > 0) {
      setConflict({ ...conflict, clashes: merged.clashes });
      return;
    }
    setConflict(null);
    void saveEdit(merged.form, fencingToken, false);
  };

  /** For a field both changed: take theirs or mine. */
  const chooseField = (field: FieldName, value: string) => {
    if (fencingToken === null) return;
    form.update(fencingToken, (current) => ({ ...current, values: { ...current.values, [field]: value } }));
  };

  /** The clashes are decided: save the form as it is now. */
  const saveChosen = () => {
    setConflict(null);
    return save(false);
  };

  // Every change of a dirty form is kept in this browser too, for when the server cannot be
  // reached (a loss while offline, a crash, a reload before the draft got through).
  const { edit, isDirty } = form;
  useEffect(() => {
    if (edit && isDirty) keepLocally(edit);
  }, [edit, isDirty, keepLocally]);

  // Leaving: release this tab's grant (only that grant: the token fences it) and keep unsaved
  // edits as a draft. On pagehide the requests must outlive the page (keepalive).
  const { latest: lastForm } = form;
  useEffect(() => {
    const leave = () => {
      const edit = lastForm();
      const unsaved = edit !== null && dirtyFields(edit).length > 0;
      controller.leave(unsaved ? draftOf(edit) : null);
    };
    const onPageHide = () => {
      leave();
      room.socket.stop();
    };
    const onPageShow = (event: PageTransitionEvent) => {
      if (!event.persisted) return;
      // Back from the back/forward cache: the lock may have changed meanwhile. A fresh socket
      // starts with a snapshot, which replaces everything we showed.
      room.socket.start();
      refreshDraft();
    };
    window.addEventListener("pagehide", onPageHide);
    window.addEventListener("pageshow", onPageShow);
    return () => {
      window.removeEventListener("pagehide", onPageHide);
      window.removeEventListener("pageshow", onPageShow);
      leave();
    };
  }, [controller, room, lastForm, refreshDraft]);

  return { session, room, form, drafts, appointment, conflict, invalidAttempt, save, setStatus, discardChanges, restoreDraft, conflictLoadLatest, conflictKeepMine, chooseField, saveChosen };
}

export type Editor = ReturnType<typeof useEditor>;
