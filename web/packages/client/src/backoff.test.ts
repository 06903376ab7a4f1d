import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff";

describe("Backoff", () => {
  it("doubles up to the cap, with jitter between half and all of the step", () => {
    const high = new Backoff({ baseMs: 250, maxMs: 8_000, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6, 7].map(() => high.next())).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 8_000]);
    const low = new Backoff({ baseMs: 250, maxMs: 8_000, random: () => 0 });
    expect([1, 2, 3].map(() => low.next())).toEqual([125, 250, 500]);
  });

  it("starts over after a reset", () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 1_000, random: () => 1 });
    backoff.next();
    backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});
