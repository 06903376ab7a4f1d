import { describe, expect, it } from "vitest";
import { countdownCaption, lockDeadline } from "./claim";
import { formatRemaining, remainingMs } from "./countdown";

describe("the claim window's countdown", () => {
  const handed = { claimBy: "2026-01-01T00:01:00Z", expiresAt: "2026-01-01T00:05:00Z" };

  it("counts to claimBy while the holder has not started, to the lease's end after", () => {
    expect(lockDeadline(handed)).toBe("2026-01-01T00:01:00Z");
    expect(lockDeadline({ ...handed, claimBy: null })).toBe("2026-01-01T00:05:00Z");
    expect(lockDeadline({ expiresAt: "2026-01-01T00:05:00Z" })).toBe("2026-01-01T00:05:00Z");
    expect(lockDeadline(null)).toBeNull();
  });

  it("reads 0:42 with 42 s left on the cluster clock, and says what it counts to", () => {
    const left = remainingMs(handed.claimBy, Date.parse("2026-01-01T00:00:18Z"));
    expect(formatRemaining(left)).toBe("0:42");
    expect(countdownCaption(true, true)).toBe("to start, or it passes on");
    expect(countdownCaption(false, true)).toBe("to start");
    expect(countdownCaption(true, false)).toBe("until your lock lapses");
  });
});
