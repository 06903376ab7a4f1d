import type { Viewer } from "@lockd/client";
import { useLockdClient } from "./context";
import { useRoom } from "./useRoom";
import { useStoreValue } from "./useStoreValue";

export interface Presence {
  /** Every tab that has the appointment open, on any node (one entry per tab). */
  viewers: Viewer[];
  /** This tab's session id: the viewer with it is "you". */
  sessionId: string;
}

/** Who has `appointmentId` open now: presence is relayed between the nodes and never enters
 * the log, so it is live but not kept. */
export function usePresence(appointmentId: string): Presence {
  const client = useLockdClient();
  const room = useRoom(appointmentId);
  const viewers = useStoreValue(room.store, (s) => s.viewers);
  return { viewers, sessionId: client.sessionId };
}
