import { describe, expect, it } from "vitest";
import { formatDuration, leaseTtlMs, promptBeforeExpiryMs, renewIntervalMs } from "./lease";

const lock = (ttlMs: number, lastActivityAt: string, expiresAt: string) => ({ ttlMs, lastActivityAt, expiresAt });

describe("lease timing", () => {
  it("takes the lease length from the lock, or from its last activity to its expiry", () => {
    expect(leaseTtlMs(lock(30_000, "2026-01-01T10:00:00Z", "2026-01-01T10:00:30Z"))).toBe(30_000);
    expect(leaseTtlMs(lock(0, "2026-01-01T10:00:00Z", "2026-01-01T10:05:00Z"))).toBe(300_000);
  });

  it("renews a short lease every quarter, a long one at most every 30 s", () => {
    expect(renewIntervalMs(30_000)).toBe(7_500);
    expect(renewIntervalMs(300_000)).toBe(30_000);
  });

  it("asks a quarter of a short lease before it lapses, at most a minute before", () => {
    expect(promptBeforeExpiryMs(30_000)).toBe(7_500);
    expect(promptBeforeExpiryMs(70_000)).toBe(17_500);
    expect(promptBeforeExpiryMs(300_000)).toBe(60_000);
    // While activity renews every quarter, the lease never gets as short as the prompt.
    for (const ttl of [10_000, 30_000, 120_000, 300_000, 3_600_000]) {
      expect(ttl - renewIntervalMs(ttl)).toBeGreaterThan(promptBeforeExpiryMs(ttl));
    }
  });

  it("says the duration in words", () => {
    expect(formatDuration(30_000)).toBe("30 seconds");
    expect(formatDuration(300_000)).toBe("5 minutes");
    expect(formatDuration(60_000)).toBe("1 minute");
    expect(formatDuration(90_000)).toBe("1 minute 30 seconds");
    expect(formatDuration(1_000)).toBe("1 second");
  });
});
