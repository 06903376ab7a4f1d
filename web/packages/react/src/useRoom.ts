import { useEffect, useMemo } from "react";
import type { LiveRoom } from "@lockd/client";
import { useLockdClient } from "./context";

/** The live room of `appointmentId`: its socket runs while the component is mounted (and
 * `enabled`), shared with every other component showing the same appointment. */
export function useRoom(appointmentId: string, { enabled = true }: { enabled?: boolean } = {}): LiveRoom {
  const client = useLockdClient();
  const room = useMemo(() => client.room(appointmentId), [client, appointmentId]);
  useEffect(() => (enabled ? room.retain() : undefined), [room, enabled]);
  return room;
}
