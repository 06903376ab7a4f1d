// What happens to unsaved work: while the person types, the form is kept in this browser
// (`localDrafts.ts`); when the lock goes (takeover, expiry, a release elsewhere, a loss seen
// on reconnecting) the form is sent as this person's draft exactly as typed, with its base
// version and that version's values. The person is told what really happened: kept on the
// server, kept only in this browser (the server could not be reached), or not kept at all.
// The newer of the server's and this browser's drafts is offered back (`draft`).

import { useCallback, useEffect, useMemo, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { LiveRoom, LossNotice } from "@lockd/client";
import { queryKeys } from "../api/queryKeys";
import { lockd } from "../lockd";
import { dirtyFields, draftOf, newerDraft, offeredFromServer, type EditForm, type FieldName, type OfferedDraft } from "./editForm";
import { browserStorage, dropLocalDraft, keepLocalDraft, keyOf, readLocalDraft, type LocalDraft } from "./localDrafts";

/** "none": nothing was unsaved; "saving", then "kept" (on the server), "local" (only in this
 * browser: the server could not be reached, or refused it) or "failed" (nowhere): the draft's fate. */
export type DraftFate = "none" | "saving" | "kept" | "local" | "failed";

export interface LossReport {
  notice: LossNotice;
  draft: DraftFate;
  /** The fields changed and their text: once the lock is gone the form shows the appointment,
   * so when the draft was kept nowhere the dialog holds this text for the person to copy. */
  unsaved: { field: FieldName; text: string }[];
}

const offeredFromBrowser = (draft: LocalDraft | null): OfferedDraft | null =>
  draft && { source: "browser", baseVersion: draft.baseVersion, savedAt: draft.savedAt, values: draft.values, base: draft.base };

export function useDraftRecovery(appointmentId: string, userId: string | null, room: LiveRoom, lastForm: () => EditForm | null) {
  const queryClient = useQueryClient();
  const [lossReport, setLossReport] = useState<LossReport | null>(null);
  const draftQuery = useQuery({ queryKey: queryKeys.draft(appointmentId), queryFn: () => lockd.api.getDraft(appointmentId), retry: false });
  // The copy this browser held when the page opened, or kept when a loss's draft could not
  // reach the server: offered back like a server draft. (Not the copy kept while typing now,
  // which is the form itself.)
  const [browserDraft, setBrowserDraft] = useState(() => (userId ? offeredFromBrowser(readLocalDraft(browserStorage(), userId, appointmentId)) : null));

  /** Keeps `form` in this browser; the copy kept, or null if the browser refused it. */
  const keepLocally = useCallback(
    (form: EditForm): LocalDraft | null => {
      if (!userId) return null;
      const draft: LocalDraft = {
        userId,
        appointmentId,
        baseVersion: form.base.version,
        savedAt: new Date(lockd.clock.now()).toISOString(),
        values: form.values,
        base: form.base.exact ? form.base.values : null,
      };
      return keepLocalDraft(browserStorage(), draft) ? draft : null;
    },
    [userId, appointmentId],
  );

  /** The edit was saved or discarded (or the server holds its draft): this browser's copy goes. */
  const dropLocal = useCallback(() => {
    if (userId) dropLocalDraft(browserStorage(), userId, appointmentId);
    setBrowserDraft(null);
  }, [userId, appointmentId]);

  // Lost the lock: keep what was typed. The room's notice is taken once (`local.loss_seen`).
  useEffect(
    () =>
      room.store.subscribe((state) => {
        const notice = state.loss;
        if (!notice) return;
        room.dispatch({ type: "local.loss_seen" });
        const form = lastForm();
        const changed = form ? dirtyFields(form).map((field) => ({ field, text: form.values[field] })) : [];
        setLossReport({ notice, draft: changed.length > 0 ? "saving" : "none", unsaved: changed });
        if (!form || changed.length === 0) return;
        const settle = (draft: DraftFate) => setLossReport((report) => (report?.notice === notice ? { ...report, draft } : report));
        // This browser first: it cannot fail for want of a network.
        const local = keepLocally(form);
        lockd.api.saveDraft(appointmentId, draftOf(form)).then(
          () => {
            dropLocal();
            settle("kept");
            void queryClient.invalidateQueries({ queryKey: queryKeys.draft(appointmentId) });
          },
          () => {
            setBrowserDraft(offeredFromBrowser(local));
            settle(local ? "local" : "failed");
          },
        );
      }),
    [room, appointmentId, queryClient, lastForm, keepLocally, dropLocal],
  );

  const refreshDraft = useCallback(() => void queryClient.invalidateQueries({ queryKey: queryKeys.draft(appointmentId) }), [queryClient, appointmentId]);

  // Another tab of this person dropped its copy: saved, discarded, or its draft reached the
  // server (the lock moved here from it, say). Read the server's draft again.
  useEffect(() => {
    if (!userId) return;
    const key = keyOf(userId, appointmentId);
    const onStorage = (event: StorageEvent) => {
      if (event.key !== key || event.newValue !== null) return;
      setBrowserDraft(null);
      refreshDraft();
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, [userId, appointmentId, refreshDraft]);

  const serverDraft = useMemo(() => (draftQuery.data ? offeredFromServer(draftQuery.data) : null), [draftQuery.data]);

  /** The person throws the offered draft away: the server's and this browser's copy both, so
   * neither comes back on the next visit. */
  const discard = useCallback(async () => {
    await lockd.api.deleteDraft(appointmentId);
    dropLocal();
    queryClient.setQueryData(queryKeys.draft(appointmentId), null);
  }, [appointmentId, dropLocal, queryClient]);

  return {
    /** The draft to offer back: the newer of the server's and this browser's. */
    draft: newerDraft(serverDraft, browserDraft),
    lossReport,
    dismissLoss: () => setLossReport(null),
    /** The draft changed on the server (kept on a conflict, a save cleared it, back from the bfcache). */
    refreshDraft,
    keepLocally,
    dropLocal,
    discard,
  };
}
