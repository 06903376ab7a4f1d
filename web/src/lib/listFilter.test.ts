import { describe, expect, it } from "vitest";
import { dayKey, dayOptions, filterFromSearch, matchesFilter, noFilter, searchOfFilter } from "./listFilter";

const local = (day: number, hour: number) => new Date(2026, 11, day, hour, 0).toISOString();
const checkUp = { title: "Annual check-up", client: "Zoë Lopez", location: "Room 1", startsAt: local(4, 9) };
const dental = { title: "Dental cleaning", client: "James Chen", location: "Room 3", startsAt: local(5, 23) };

describe("list filter", () => {
  it("finds every word in the title, client or location, in any case and without accents", () => {
    expect(matchesFilter(checkUp, noFilter)).toBe(true);
    expect(matchesFilter(checkUp, { ...noFilter, query: "zoe" })).toBe(true);
    expect(matchesFilter(checkUp, { ...noFilter, query: "  CHECK room  " })).toBe(true);
    expect(matchesFilter(checkUp, { ...noFilter, query: "check chen" })).toBe(false);
    expect(matchesFilter(dental, { ...noFilter, query: "room 3" })).toBe(true);
  });

  it("filters by the local day an appointment starts on", () => {
    expect(dayKey(dental.startsAt)).toBe("2026-12-05");
    expect(matchesFilter(dental, { query: "", day: "2026-12-05" })).toBe(true);
    expect(matchesFilter(checkUp, { query: "", day: "2026-12-05" })).toBe(false);
    expect(matchesFilter(dental, { query: "dental", day: "2026-12-04" })).toBe(false);
  });

  it("offers the days there are, in order, with their counts", () => {
    const days = dayOptions([dental, checkUp, { startsAt: local(5, 8) }, { startsAt: "not a time" }]);
    expect(days.map(({ day, count }) => [day, count])).toEqual([
      ["2026-12-04", 1],
      ["2026-12-05", 2],
    ]);
  });

  it("keeps the filter in the address", () => {
    expect(searchOfFilter(noFilter)).toBe("");
    const search = searchOfFilter({ query: "room 1", day: "2026-12-04" });
    expect(filterFromSearch(search)).toEqual({ query: "room 1", day: "2026-12-04" });
  });
});
