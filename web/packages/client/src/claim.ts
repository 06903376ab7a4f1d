// The claim window of a lock handed over from the queue, as the panel counts it down: until
// its holder starts, the lock's deadline is `claimBy`, not the lease.

import type { Lock } from "./types";

/** The instant the lock lapses without activity: the end of the claim window while one is
 * open, else the lease's end. */
export function lockDeadline(lock: Pick<Lock, "claimBy" | "expiresAt"> | null): string | null {
  if (!lock) return null;
  return lock.claimBy ?? lock.expiresAt;
}

/** What the countdown counts to, under its digits. */
export function countdownCaption(holding: boolean, handed: boolean): string {
  if (handed) return holding ? "to start, or it passes on" : "to start";
  return holding ? "until your lock lapses" : "left without activity";
}
