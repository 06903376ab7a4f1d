// Timing that follows the lease: how often activity renews it, when the holder is asked
// "Still editing?", and the lease's length in words. A cluster may run any lease length
// (`--lock-ttl-ms`); fixed numbers made a 30 s lease impossible to keep while typing.

import type { Lock } from "./types";
import { PROMPT_BEFORE_EXPIRY_MS_MAX, RENEW_INTERVAL_MS_MAX } from "./constants";

/** The lease length of `lock`: its `ttlMs`, or (should that be missing) the time from the last
 * activity to the expiry, which a renewal sets to exactly the lease. */
export function leaseTtlMs(lock: Pick<Lock, "ttlMs" | "lastActivityAt" | "expiresAt">): number {
  if (Number.isFinite(lock.ttlMs) && lock.ttlMs > 0) return lock.ttlMs;
  const derived = Date.parse(lock.expiresAt) - Date.parse(lock.lastActivityAt);
  return Number.isFinite(derived) && derived > 0 ? derived : RENEW_INTERVAL_MS_MAX * 10;
}

/** Activity renews at most this often: a quarter of the lease (capped), so a typist's lease
 * never runs below three quarters of its length. */
export function renewIntervalMs(ttlMs: number): number {
  return Math.min(RENEW_INTERVAL_MS_MAX, ttlMs / 4);
}

/** The prompt opens this long before the lapse: a quarter of the lease (capped), which is
 * never reached while activity renews every quarter. */
export function promptBeforeExpiryMs(ttlMs: number): number {
  return Math.min(PROMPT_BEFORE_EXPIRY_MS_MAX, ttlMs / 4);
}

/** "30 seconds", "5 minutes", "1 minute 30 seconds". */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(1, Math.round(ms / 1000));
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (minutes === 0) return unit(seconds, "second");
  return seconds === 0 ? unit(minutes, "minute") : `${unit(minutes, "minute")} ${unit(seconds, "second")}`;
}
