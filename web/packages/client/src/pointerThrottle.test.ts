import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PointerThrottle } from "./pointerThrottle";

function recorder() {
  const sent: string[] = [];
  return { sent, sink: { move: (x: number, y: number) => sent.push(`${x},${y}`), leave: () => sent.push("leave") } };
}

describe("PointerThrottle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends at most once per interval and ends on the latest position", () => {
    const { sent, sink } = recorder();
    const throttle = new PointerThrottle(sink, 33, () => Date.now());
    throttle.move(0.1, 0.1);
    throttle.move(0.2, 0.2);
    throttle.move(0.3, 0.3);
    expect(sent).toEqual(["0.1,0.1"]);
    vi.advanceTimersByTime(33);
    expect(sent).toEqual(["0.1,0.1", "0.3,0.3"]);
    vi.advanceTimersByTime(1_000);
    expect(sent).toHaveLength(2);
  });

  it("holds 60 moves a second to about 30 frames", () => {
    const { sent, sink } = recorder();
    const throttle = new PointerThrottle(sink, 33, () => Date.now());
    for (let i = 0; i < 60; i++) {
      throttle.move(i / 100, 0.5);
      vi.advanceTimersByTime(1000 / 60);
    }
    vi.advanceTimersByTime(100);
    expect(sent.length).toBeGreaterThanOrEqual(28);
    expect(sent.length).toBeLessThanOrEqual(31);
    expect(sent.at(-1)).toBe("0.59,0.5");
  });

  it("does not send a pointer that did not move", () => {
    const { sent, sink } = recorder();
    const throttle = new PointerThrottle(sink, 33, () => Date.now());
    throttle.move(0.5, 0.5);
    vi.advanceTimersByTime(100);
    throttle.move(0.5, 0.5);
    throttle.move(0.50001, 0.5); // rounds to the same position
    vi.advanceTimersByTime(100);
    expect(sent).toEqual(["0.5,0.5"]);
  });

  it("clamps to the form and says leave once, dropping a pending move", () => {
    const { sent, sink } = recorder();
    const throttle = new PointerThrottle(sink, 33, () => Date.now());
    throttle.move(-0.2, 1.7);
    throttle.move(0.4, 0.4);
    throttle.leave();
    throttle.leave();
    vi.advanceTimersByTime(100);
    expect(sent).toEqual(["0,1", "leave"]);
  });

  it("says nothing on leave when nothing was sent", () => {
    const { sent, sink } = recorder();
    new PointerThrottle(sink, 33, () => Date.now()).leave();
    expect(sent).toEqual([]);
  });
});
