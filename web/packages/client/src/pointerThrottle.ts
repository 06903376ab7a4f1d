// Sends this tab's pointer at most every `intervalMs` (~30 Hz), only when it moved, and always
// ends on the latest position: a trailing send carries the last move of a burst.

import { POINTER_SEND_MS_MIN } from "./constants";

export interface PointerSink {
  move(x: number, y: number): void;
  leave(): void;
}

export class PointerThrottle {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private sent: { x: number; y: number } | null = null;
  private pending: { x: number; y: number } | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly sink: PointerSink;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(sink: PointerSink, intervalMs = POINTER_SEND_MS_MIN, now: () => number = () => performance.now()) {
    this.sink = sink;
    this.intervalMs = intervalMs;
    this.now = now;
  }

  /** A position normalised to the form, each coordinate in 0..1 (clamped). */
  move(x: number, y: number): void {
    const next = { x: round(clamp01(x)), y: round(clamp01(y)) };
    if (this.sent && next.x === this.sent.x && next.y === this.sent.y && !this.pending) return;
    const wait = this.lastSentAt + this.intervalMs - this.now();
    if (wait <= 0) {
      this.send(next);
      return;
    }
    this.pending = next;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const latest = this.pending;
      this.pending = null;
      if (latest && !(this.sent && latest.x === this.sent.x && latest.y === this.sent.y)) this.send(latest);
    }, wait);
  }

  /** The pointer left the form: drop any pending move and say so once. */
  leave(): void {
    this.cancel();
    if (this.sent === null) return;
    this.sent = null;
    this.sink.leave();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = null;
  }

  private send(position: { x: number; y: number }): void {
    this.sent = position;
    this.lastSentAt = this.now();
    this.sink.move(position.x, position.y);
  }
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

/** Four decimals: finer than any screen, and it keeps frames small. */
function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
