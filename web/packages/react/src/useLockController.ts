import { useMemo } from "react";
import type { EditLock } from "@lockd/client";
import { useLockdClient } from "./context";

/** The framework-free `EditLock` of `appointmentId` (its room is `controller.room`), for calls
 * of the app's own: a leave with a draft, a renewal by a save. Connects nothing by itself. */
export function useLockController(appointmentId: string): EditLock {
  const client = useLockdClient();
  return useMemo(() => client.lock(appointmentId), [client, appointmentId]);
}
