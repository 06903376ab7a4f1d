// Activity renews the lease, but at most once per `minIntervalMs`: typing would otherwise
// send a write through the Raft log on every key press.

import { RENEW_INTERVAL_MS_MAX } from "./constants";

export class RenewalThrottle {
  private lastRenewedAt = Number.NEGATIVE_INFINITY;
  private readonly minIntervalMs: number;
  private readonly now: () => number;

  constructor(minIntervalMs = RENEW_INTERVAL_MS_MAX, now: () => number = Date.now) {
    this.minIntervalMs = minIntervalMs;
    this.now = now;
  }

  /** Activity happened: true when a renewal should be sent now (and counts it as sent). The
   * interval may be given per call: it follows the lease (`lib/lease.ts`). */
  activity(minIntervalMs = this.minIntervalMs): boolean {
    const now = this.now();
    if (now - this.lastRenewedAt < minIntervalMs) return false;
    this.lastRenewedAt = now;
    return true;
  }

  /** The lease was renewed another way (acquire, save, an explicit "keep editing"). */
  renewed(): void {
    this.lastRenewedAt = this.now();
  }

  reset(): void {
    this.lastRenewedAt = Number.NEGATIVE_INFINITY;
  }
}
