import { describe, expect, it } from "vitest";
import { RenewalThrottle } from "./renewal";

describe("RenewalThrottle", () => {
  it("renews on the first activity, then at most once per interval", () => {
    let now = 0;
    const throttle = new RenewalThrottle(30_000, () => now);
    expect(throttle.activity()).toBe(true);
    now = 29_999;
    expect(throttle.activity()).toBe(false);
    now = 30_000;
    expect(throttle.activity()).toBe(true);
    now = 45_000;
    expect(throttle.activity()).toBe(false);
  });

  it("counts renewals made another way (a save, an acquire)", () => {
    let now = 100_000;
    const throttle = new RenewalThrottle(30_000, () => now);
    throttle.renewed();
    now = 110_000;
    expect(throttle.activity()).toBe(false);
    throttle.reset();
    expect(throttle.activity()).toBe(true);
  });

  it("takes the interval of the lease at hand", () => {
    let now = 0;
    const throttle = new RenewalThrottle(30_000, () => now);
    expect(throttle.activity(7_500)).toBe(true);
    now = 7_499;
    expect(throttle.activity(7_500)).toBe(false);
    now = 7_500;
    expect(throttle.activity(7_500)).toBe(true);
  });
});
