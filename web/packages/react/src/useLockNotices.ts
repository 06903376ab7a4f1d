// What this tab must tell the person about its lock, each until it is taken up: why the lock
// was lost (taken over, lapsed, passed on, moved to another tab, released elsewhere) and that
// it came to this tab from the queue. Both live in the room, so every component of the page
// sees the same notice, and taking it up there clears it for all.

import { useMemo } from "react";
import type { HandOver, LossNotice } from "@lockd/client";
import type { LockRoomOptions } from "./useLockState";
import { useRoom } from "./useRoom";
import { useStoreValue } from "./useStoreValue";

export interface LockNotices {
  /** Why this tab lost the lock, until `dismissLoss`. */
  loss: LossNotice | null;
  dismissLoss: () => void;
  /** The lock came to this tab from the queue, until `seenHandOver`. */
  handOver: HandOver | null;
  seenHandOver: () => void;
}

export function useLockNotices(appointmentId: string, { enabled = true }: LockRoomOptions = {}): LockNotices {
  const room = useRoom(appointmentId, { enabled });
  const loss = useStoreValue(room.store, (s) => s.loss);
  const handOver = useStoreValue(room.store, (s) => s.handOver);
  const taken = useMemo(
    () => ({
      dismissLoss: () => room.dispatch({ type: "local.loss_seen" }),
      seenHandOver: () => room.dispatch({ type: "local.handover_seen" }),
    }),
    [room],
  );
  return { loss, handOver, ...taken };
}
