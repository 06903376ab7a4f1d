// The lock came to this tab from the queue ("Notify me and take it when free"). The person may
// be looking elsewhere, so they are told three ways: an in-page notice (until they act on it or
// dismiss it), and while they look away a badge in the tab's title and a system notification
// where they allowed them; those two go as soon as they come back.

import { useEffect, useRef } from "react";
import { claimWindowMs, formatDuration, type LiveRoom } from "@lockd/client";
import type { LockNotices } from "@lockd/react";
import { isLooking, onComeBack } from "../lib/attention";
import { showSystemNotice } from "../lib/systemNotification";
import { setTitleBadge } from "../lib/titleBadge";

export const TURN_BADGE = "Your turn";

export function useHandOver(room: LiveRoom, notices: Pick<LockNotices, "handOver" | "seenHandOver">, appointmentTitle: string, onNoticeClick: () => void) {
  const { handOver, seenHandOver: seen } = notices;
  const { appointmentId } = room;
  const token = handOver?.fencingToken ?? null;

  // The latest words and click handler, for an effect that runs once per hand-over.
  const latest = useRef({ appointmentTitle, onNoticeClick });
  useEffect(() => {
    latest.current = { appointmentTitle, onNoticeClick };
  });

  useEffect(() => {
    if (token === null) return;
    let closeNotice: (() => void) | null = null;
    const clearAway = () => {
      setTitleBadge(null);
      closeNotice?.();
      closeNotice = null;
    };
    if (!isLooking()) {
      setTitleBadge(TURN_BADGE);
      const lock = room.store.getState().lock;
      const windowMs = lock ? claimWindowMs(lock) : 0;
      closeNotice = showSystemNotice({
        title: `Your turn: ${latest.current.appointmentTitle}`,
        body:
          windowMs > 0
            ? `The lock is yours. Click to start editing within ${formatDuration(windowMs)}, or it passes to the next person in line.`
            : "The lock is yours: you can edit the appointment now.",
        tag: `lockd-turn-${appointmentId}`,
        onClick: () => latest.current.onNoticeClick(),
      });
    }
    const stop = onComeBack(clearAway);
    return () => {
      stop();
      clearAway();
    };
  }, [token, room, appointmentId]);

  // `seen`: the person acted on it, dismissed it, or the page goes: the notice is done.
  return { handOver, seen };
}
