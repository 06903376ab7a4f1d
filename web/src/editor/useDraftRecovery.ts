// What happens to unsaved work when the lock goes (takeover, expiry, a release elsewhere): the
// form is sent as this person's draft with the version it started from, the person is told
// whether that worked, and the draft is offered back (`draft`) once they edit again.

import { useCallback, useEffect, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { getDraft, saveDraft } from "../api/endpoints";
import { queryKeys } from "../api/queryKeys";
import { toFields } from "../lib/form";
import type { LossNotice } from "../live/room";
import type { Room } from "../live/useRoom";
import { dirtyFields, type EditForm } from "./editForm";

/** "none": nothing was unsaved; "saving", then "kept" or "failed": the draft's fate. */
export type DraftFate = "none" | "saving" | "kept" | "failed";

export interface LossReport {
  notice: LossNotice;
  draft: DraftFate;
}

export function useDraftRecovery(appointmentId: string, room: Room, lastForm: () => EditForm | null) {
  const queryClient = useQueryClient();
  const [lossReport, setLossReport] = useState<LossReport | null>(null);
  const draftQuery = useQuery({ queryKey: queryKeys.draft(appointmentId), queryFn: () => getDraft(appointmentId), retry: false });

  // Lost the lock: keep what was typed. The room's notice is taken once (`local.loss_seen`).
  useEffect(
    () =>
      room.store.subscribe((state) => {
        const notice = state.loss;
        if (!notice) return;
        room.dispatch({ type: "local.loss_seen" });
        const form = lastForm();
        const unsaved = form !== null && dirtyFields(form).length > 0;
        setLossReport({ notice, draft: unsaved ? "saving" : "none" });
        if (!form || !unsaved) return;
        const settle = (draft: DraftFate) => setLossReport((report) => (report?.notice === notice ? { ...report, draft } : report));
        saveDraft(appointmentId, toFields(form.values), form.base.version).then(
          () => {
            settle("kept");
            void queryClient.invalidateQueries({ queryKey: queryKeys.draft(appointmentId) });
          },
          () => settle("failed"),
        );
      }),
    [room, appointmentId, queryClient, lastForm],
  );

  const refreshDraft = useCallback(() => void queryClient.invalidateQueries({ queryKey: queryKeys.draft(appointmentId) }), [queryClient, appointmentId]);

  return {
    draft: draftQuery.data ?? null,
    lossReport,
    dismissLoss: () => setLossReport(null),
    /** The draft changed on the server (kept on a conflict, or back from the bfcache). */
    refreshDraft,
  };
}
