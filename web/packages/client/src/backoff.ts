// Reconnect delays: exponential with jitter, capped, so a restarted node is not hit by every
// tab at the same instant, and a tab never waits long once the cluster is back.

import { RECONNECT_DELAY_MS_BASE, RECONNECT_DELAY_MS_MAX } from "./constants";

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor({ baseMs = RECONNECT_DELAY_MS_BASE, maxMs = RECONNECT_DELAY_MS_MAX, random = Math.random }: BackoffOptions = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  /** The delay before the next attempt: half to all of min(max, base·2^attempt). */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** A connection worked: start again from the base delay. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
