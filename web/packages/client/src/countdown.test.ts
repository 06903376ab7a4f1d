import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatRemaining, remainingMs, startCountdown } from "./countdown";
import { ServerClock } from "./serverClock";

describe("formatRemaining", () => {
  it("shows minutes and zero-padded seconds, rounding up", () => {
    expect(formatRemaining(300_000)).toBe("5:00");
    expect(formatRemaining(299_001)).toBe("5:00");
    expect(formatRemaining(299_000)).toBe("4:59");
    expect(formatRemaining(61_000)).toBe("1:01");
    expect(formatRemaining(1)).toBe("0:01");
    expect(formatRemaining(0)).toBe("0:00");
    expect(formatRemaining(-5)).toBe("0:00");
  });
});

describe("remainingMs", () => {
  it("never goes negative and treats a bad time as expired", () => {
    expect(remainingMs("1970-01-01T00:00:10Z", 4_000)).toBe(6_000);
    expect(remainingMs("1970-01-01T00:00:10Z", 12_000)).toBe(0);
    expect(remainingMs("garbage", 0)).toBe(0);
  });
});

describe("startCountdown", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T12:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("counts against the cluster clock, not the browser's", () => {
    // The browser is 2 minutes slow: a countdown on local time would show 7:00.
    const clock = new ServerClock();
    const local = Date.now();
    clock.observe(new Date(local + 120_000).toISOString(), local, local);
    const expiresAt = new Date(local + 120_000 + 300_000).toISOString();
    const ticks: string[] = [];
    const stop = startCountdown({ expiresAt, serverNow: () => clock.now(), onTick: (ms) => ticks.push(formatRemaining(ms)) });
    expect(ticks).toEqual(["5:00"]);
    // It wakes a few ms after the displayed second changes.
    vi.advanceTimersByTime(1_010);
    expect(ticks.at(-1)).toBe("4:59");
    vi.advanceTimersByTime(59_000);
    expect(ticks.at(-1)).toBe("4:00");
    stop();
    vi.advanceTimersByTime(10_000);
    expect(ticks.at(-1)).toBe("4:00");
  });

  it("ticks once per displayed second and stops at zero", () => {
    const start = Date.now();
    const expiresAt = new Date(start + 3_500).toISOString();
    const ticks: number[] = [];
    startCountdown({ expiresAt, serverNow: () => Date.now(), onTick: (ms) => ticks.push(ms) });
    vi.advanceTimersByTime(10_000);
    expect(ticks.map(formatRemaining)).toEqual(["0:04", "0:03", "0:02", "0:01", "0:00"]);
    expect(ticks.at(-1)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
