import { describe, expect, it } from "vitest";
import { cellOf, fromWire, toWire, type Rect } from "./pointerAnchor";

const rect = (left: number, top: number, width: number, height: number): Rect => ({ left, top, width, height });

// A desktop's two columns and a phone's one column, as the app lays them out.
const desktopForm = rect(0, 0, 1000, 420);
const desktop = {
  title: rect(20, 20, 960, 60),
  startsAt: rect(20, 96, 472, 60),
  endsAt: rect(508, 96, 472, 60),
  client: rect(20, 172, 472, 60),
  location: rect(508, 172, 472, 60),
  notes: rect(20, 248, 960, 150),
};
const phoneForm = rect(16, 500, 358, 700);
const phone = {
  title: rect(36, 520, 318, 60),
  startsAt: rect(36, 596, 318, 60),
  endsAt: rect(36, 672, 318, 60),
  client: rect(36, 748, 318, 60),
  location: rect(36, 824, 318, 60),
  notes: rect(36, 900, 318, 150),
};

describe("pointer anchoring", () => {
  it("lands a pointer on the same field, at the same place within it, across layouts", () => {
    // Bob points at 30% across, halfway down Location on a desktop.
    const wire = toWire({ x: 508 + 0.3 * 472, y: 172 + 30 }, desktop);
    expect(wire).not.toBeNull();
    if (!wire) return;
    expect(cellOf(wire)).toBe("location");
    const landed = fromWire(wire, phone, phoneForm);
    expect(landed).not.toBeNull();
    if (!landed) return;
    const px = phoneForm.left + landed.x * phoneForm.width;
    const py = phoneForm.top + landed.y * phoneForm.height;
    expect(px).toBeCloseTo(36 + 0.3 * 318, 5);
    expect(py).toBeCloseTo(824 + 30, 5);
  });

  it("gives a point between fields to the nearest one, and keeps the wire in 0..1", () => {
    const gap = toWire({ x: 500, y: 120 }, desktop);
    expect(gap && cellOf(gap)).toBe("startsAt");
    const corner = toWire({ x: 999, y: 419 }, desktop);
    expect(corner).toEqual({ x: 1, y: 1 });
    expect(corner && cellOf(corner)).toBe("notes");
    for (const p of [{ x: -50, y: -50 }, { x: 5000, y: 5000 }]) {
      const w = toWire(p, desktop);
      expect(w && w.x >= 0 && w.x <= 1 && w.y >= 0 && w.y <= 1).toBe(true);
    }
  });

  it("never draws outside the form, and says nothing without fields", () => {
    const landed = fromWire({ x: 1, y: 0.5 }, desktop, rect(0, 0, 400, 100));
    expect(landed && landed.x <= 1 && landed.y <= 1).toBe(true);
    expect(toWire({ x: 1, y: 1 }, {})).toBeNull();
    expect(fromWire({ x: 0.5, y: 0.5 }, {}, desktopForm)).toBeNull();
  });

  it("tiles the unit square: every wire position has exactly its field", () => {
    expect(cellOf({ x: 0, y: 0 })).toBe("title");
    expect(cellOf({ x: 0.49, y: 0.3 })).toBe("startsAt");
    expect(cellOf({ x: 0.5, y: 0.3 })).toBe("endsAt");
    expect(cellOf({ x: 1, y: 0.5 })).toBe("location");
    expect(cellOf({ x: 1, y: 1 })).toBe("notes");
  });
});
