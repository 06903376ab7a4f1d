// What the lock of one appointment is now, as this tab sees it: who holds it, this tab's role,
// the queue, and the countdown on the cluster clock. Read-only: it keeps the room live while
// mounted, and nothing else (acting on the lock is `useLockActions`).

import { claimPending, leaseTtlMs, lockDeadline, myRole, type Lock, type MyLockRole, type Waiter } from "@lockd/client";
import { useLockdClient } from "./context";
import { useRemaining } from "./useRemaining";
import { useRoom } from "./useRoom";
import { useStoreValue } from "./useStoreValue";

export interface LockState {
  /** This tab: holder, queued or viewer. */
  role: MyLockRole;
  /** This tab holds the lock and may type: held, and not a hand-over still to be started. */
  editing: boolean;
  /** Handed to this tab from the queue and not started yet (`confirmClaim` or `typed` starts it). */
  claiming: boolean;
  lock: Lock | null;
  queue: Waiter[];
  /** The lease's length, while there is a lock. */
  ttlMs: number | null;
  /** Until the lock lapses without activity (the claim window while one is open), on the
   * cluster clock, updated each second; null without a lock. */
  remainingMs: number | null;
  /** The room shows the server's state (false while reconnecting). */
  synced: boolean;
}

export interface LockRoomOptions {
  /** Connect to the room (default true). */
  enabled?: boolean;
}

export function useLockState(appointmentId: string, { enabled = true }: LockRoomOptions = {}): LockState {
  const { sessionId } = useLockdClient();
  const room = useRoom(appointmentId, { enabled });
  const lock = useStoreValue(room.store, (s) => s.lock);
  const queue = useStoreValue(room.store, (s) => s.queue);
  const synced = useStoreValue(room.store, (s) => s.synced);
  const remainingMs = useRemaining(lockDeadline(lock));
  const role = myRole({ lock, queue }, sessionId);
  const claiming = role === "holder" && claimPending(lock);
  return {
    role,
    editing: role === "holder" && !claiming,
    claiming,
    lock,
    queue,
    ttlMs: lock ? leaseTtlMs(lock) : null,
    remainingMs,
    synced,
  };
}
