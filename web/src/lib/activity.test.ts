import { describe, expect, it } from "vitest";
import { atTime, clockTime, editingSince, formatIdle, lastSaved, saverName } from "./activity";

const at = (h: number, m: number, day = 3) => new Date(2026, 11, day, h, m).toISOString();
const nowMs = new Date(2026, 11, 3, 10, 45, 30).getTime();

describe("activity in words", () => {
  it("says since when a holder edits, and how long idle from a whole minute", () => {
    expect(editingSince({ acquiredAt: at(10, 42), lastActivityAt: at(10, 45) }, nowMs)).toBe(`Editing since ${clockTime(at(10, 42))}`);
    expect(editingSince({ acquiredAt: at(10, 30), lastActivityAt: at(10, 42) }, nowMs)).toBe(`Editing since ${clockTime(at(10, 30))} · idle 3 min`);
    expect(formatIdle(59_999)).toBeNull();
    expect(formatIdle(65 * 60_000)).toBe("1 h 5 min");
    expect(formatIdle(120 * 60_000)).toBe("2 h");
  });

  it("names the saver: the server's name, a name seen here, else the id", () => {
    expect(saverName({ updatedBy: "carol", updatedByName: "Carol Diaz" }, {})).toBe("Carol Diaz");
    expect(saverName({ updatedBy: "carol", updatedByName: "" }, { carol: "Carol D." })).toBe("Carol D.");
    expect(saverName({ updatedBy: "carol", updatedByName: "" }, {})).toBe("carol");
  });

  it("says when it was saved: the time today, the day too before", () => {
    const saved = { version: 2, updatedAt: at(10, 41), updatedBy: "carol", updatedByName: "Carol Diaz" };
    expect(lastSaved(saved, {}, nowMs)).toBe(`Last saved by Carol Diaz at ${clockTime(at(10, 41))}`);
    expect(lastSaved({ ...saved, version: 1 }, {}, nowMs)).toMatch(/^Created by Carol Diaz at /);
    expect(atTime(at(9, 0, 1), nowMs)).toMatch(/^on .+ at /);
  });
});
