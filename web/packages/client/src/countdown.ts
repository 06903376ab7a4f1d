// Time left on a lease, against the cluster clock.

export function remainingMs(expiresAt: string, serverNowMs: number): number {
  const expiresMs = Date.parse(expiresAt);
  if (Number.isNaN(expiresMs)) return 0;
  return Math.max(0, expiresMs - serverNowMs);
}

/** `4:59`, rounding up so the display reads 0:00 only once the lease has run out. */
export function formatRemaining(ms: number): string {
  const totalSeconds = Math.ceil(Math.max(0, ms) / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  return `${minutes}:${seconds.toString().padStart(2, "0")}`;
}

export interface CountdownOptions {
  expiresAt: string;
  serverNow: () => number;
  onTick: (remainingMs: number) => void;
}

/**
 * Calls `onTick` now and then at each whole second of remaining time until it reaches 0 (so
 * the display changes exactly when the text would). Returns a function that stops it.
 */
export function startCountdown({ expiresAt, serverNow, onTick }: CountdownOptions): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    const left = remainingMs(expiresAt, serverNow());
    onTick(left);
    if (left <= 0) return;
    // Wake just after the displayed second changes.
    const untilNextSecond = left % 1000 || 1000;
    timer = setTimeout(tick, untilNextSecond + 5);
  };
  tick();
  return () => clearTimeout(timer);
}
