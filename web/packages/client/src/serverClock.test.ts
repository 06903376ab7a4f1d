import { describe, expect, it } from "vitest";
import { ServerClock } from "./serverClock";

describe("ServerClock", () => {
  it("is the local clock until it observes the server", () => {
    const clock = new ServerClock(() => 1_000);
    expect(clock.offsetMs()).toBe(0);
    expect(clock.now()).toBe(1_000);
  });

  it("takes the midpoint of a round trip as the moment the server read its time", () => {
    let local = 10_000;
    const clock = new ServerClock(() => local);
    // Sent at 10 000, answered at 10 200 (local); the server said 70 100 ms since the epoch.
    clock.observe(new Date(70_100).toISOString(), 10_200, 10_000);
    expect(clock.offsetMs()).toBe(60_000);
    local = 11_000;
    expect(clock.now()).toBe(71_000);
  });

  it("trusts the tightest round trip over slower ones and over pushed events", () => {
    const clock = new ServerClock(() => 0);
    clock.observe(new Date(5_000 + 500).toISOString(), 1_000, 0); // rtt 1000: offset 5000
    clock.observe(new Date(2_000 + 3_010).toISOString(), 2_020, 2_000); // rtt 20: offset 3000
    clock.observe(new Date(9_000).toISOString(), 3_000); // pushed: unknown delay
    expect(clock.offsetMs()).toBe(3_000);
  });

  it("forgets old samples so drift is followed", () => {
    const clock = new ServerClock(() => 0);
    clock.observe(new Date(1_000).toISOString(), 0, 0); // rtt 0, offset 1000
    for (let i = 0; i < 8; i++) clock.observe(new Date(2_000 + 10 * i + 5).toISOString(), 10 * i + 10, 10 * i);
    expect(clock.offsetMs()).toBe(2_000);
  });

  it("ignores a time it cannot parse", () => {
    const clock = new ServerClock(() => 0);
    clock.observe("not a time", 0, 0);
    expect(clock.offsetMs()).toBe(0);
  });
});
