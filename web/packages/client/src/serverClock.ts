// The cluster's clock as seen from this tab. Lock expiry is decided by the leader's log, so a
// countdown must run against the cluster time, not the browser's (which may be minutes off).

/** How many recent round trips to remember; the tightest one gives the best offset. */
const WINDOW = 8;

interface Sample {
  offsetMs: number;
  rttMs: number;
}

export class ServerClock {
  private samples: Sample[] = [];
  private readonly localNow: () => number;

  constructor(localNow: () => number = Date.now) {
    this.localNow = localNow;
  }

  /**
   * A server time read between `sentAtMs` and `receivedAtMs` (local clock). The server read it
   * somewhere inside that window, so the midpoint is the best guess and half the round trip
   * bounds the error. Without a request time (a pushed event) the round trip is unknown.
   */
  observe(serverTime: string, receivedAtMs: number = this.localNow(), sentAtMs?: number): void {
    const serverMs = Date.parse(serverTime);
    if (Number.isNaN(serverMs)) return;
    const sent = sentAtMs ?? receivedAtMs;
    // A pushed event may have waited in buffers: rank it behind any measured round trip.
    const rttMs = sentAtMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, receivedAtMs - sent);
    this.samples.push({ offsetMs: serverMs - (sent + receivedAtMs) / 2, rttMs });
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  /** Cluster time minus local time, in ms (0 until anything is observed). */
  offsetMs(): number {
    let best: Sample | undefined;
    for (const sample of this.samples) {
      // Ties go to the newest sample: clocks drift.
      if (!best || sample.rttMs <= best.rttMs) best = sample;
    }
    return best?.offsetMs ?? 0;
  }

  /** The cluster's current time, in ms since the epoch. */
  now(): number {
    return this.localNow() + this.offsetMs();
  }
}
