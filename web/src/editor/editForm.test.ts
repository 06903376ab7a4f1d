import { describe, expect, it } from "vitest";
import type { Appointment } from "@lockd/client";
import { toForm } from "../lib/form";
import { change, dirtyFields, draftOf, mergeOnConflict, newerDraft, offeredFromServer, worthRestoring, rebaseOnSave, formFromDraft, startEdit, type EditForm, type OfferedDraft } from "./editForm";

const v1: Appointment = {
  id: "demo-1",
  version: 1,
  status: "scheduled",
  updatedBy: "alice",
  updatedByName: "Alice Martin",
  updatedAt: "2026-03-01T08:00:00.000Z",
  title: "Check-up",
  startsAt: "2026-03-01T09:00:00.000Z",
  endsAt: "2026-03-01T09:45:00.000Z",
  client: "Maria",
  location: "Room 1",
  notes: "",
};

const typed = (form: EditForm, values: Partial<EditForm["values"]>) => change(form, { ...form.values, ...values });

describe("the edit form", () => {
  it("knows which fields were changed since the base", () => {
    const form = typed(startEdit(v1), { notes: "fasting" });
    expect(dirtyFields(form)).toEqual(["notes"]);
    expect(dirtyFields(typed(form, { notes: "" }))).toEqual([]);
  });

  it("keeps what was typed during a slow save and makes the saved version the base", () => {
    const before = typed(startEdit(v1), { notes: "Bring the letter." });
    const sent = before.values;
    // Typed while the save was on its way: more notes, and a location.
    const during = typed(before, { notes: "Bring the letter. And the card.", location: "Room 9" });
    const saved: Appointment = { ...v1, version: 2, notes: "Bring the letter." };
    const after = rebaseOnSave(during, sent, saved);
    expect(after.base.version).toBe(2);
    expect(after.values.notes).toBe("Bring the letter. And the card.");
    expect(after.values.location).toBe("Room 9");
    expect(dirtyFields(after)).toEqual(["location", "notes"]);
  });

  it("takes the saved value of a field untouched since it was sent (the server trims)", () => {
    const before = typed(startEdit(v1), { client: "  Maria Lopez " });
    const after = rebaseOnSave(before, before.values, { ...v1, version: 2, client: "Maria Lopez" });
    expect(after.values.client).toBe("Maria Lopez");
    expect(dirtyFields(after)).toEqual([]);
  });

  it("keeps only my changed fields over theirs after a conflict", () => {
    const mine = typed(startEdit(v1), { notes: "Alice: fasting." });
    const theirs: Appointment = { ...v1, version: 2, updatedBy: "carol", location: "Room 12" };
    const { form, clashes } = mergeOnConflict(mine, theirs);
    expect(clashes).toEqual([]);
    expect(form.values.location).toBe("Room 12");
    expect(form.values.notes).toBe("Alice: fasting.");
    expect(form.base).toEqual({ version: 2, values: toForm(theirs), exact: true });
    expect(dirtyFields(form)).toEqual(["notes"]);
  });

  it("lists a field both changed differently, keeping mine until I choose", () => {
    const mine = typed(startEdit(v1), { notes: "mine", location: "Room 5" });
    const theirs: Appointment = { ...v1, version: 2, notes: "theirs", location: "Room 5" };
    const { form, clashes } = mergeOnConflict(mine, theirs);
    expect(clashes).toEqual([{ field: "notes", mine: "mine", theirs: "theirs" }]);
    expect(form.values.notes).toBe("mine");
    expect(form.values.location).toBe("Room 5");
  });

  it("asks about every differing field when the base version's values are unknown", () => {
    const draft: EditForm = { base: { version: 1, values: toForm({ ...v1, location: "Room 12" }), exact: false }, values: toForm({ ...v1, notes: "mine" }), errors: {} };
    const { clashes } = mergeOnConflict(draft, { ...v1, version: 2, location: "Room 12" });
    expect(clashes.map((c) => c.field)).toEqual(["location", "notes"]);
  });

  it("clears a field's error once fixed, and judges no other field while typing", () => {
    const form: EditForm = { ...startEdit(v1), errors: { title: "A title is required." } };
    const fixed = typed(form, { title: "Check-up", endsAt: "" });
    expect(fixed.errors).toEqual({});
    expect(typed(form, { title: " " }).errors).toEqual({ title: "A title is required." });
  });
});

describe("a draft", () => {
  const carolsV2: Appointment = { ...v1, version: 2, updatedBy: "carol", location: "Room 12" };
  /** Alice's draft of version 1, kept with its base: she changed only Notes. */
  const alices: OfferedDraft = {
    source: "server",
    baseVersion: 1,
    savedAt: "2026-03-01T08:05:00.000Z",
    values: { ...toForm(v1), notes: "Alice: fasting." },
    base: toForm(v1),
  };

  it("is the text exactly as typed, valid or not, with its base version's values", () => {
    const form = typed(startEdit(v1), { title: "  Check-up  ", startsAt: "", notes: "half a sentence" });
    const body = draftOf(form);
    expect(body).toEqual({ ...toForm(v1), title: "  Check-up  ", startsAt: "", notes: "half a sentence", baseVersion: 1, base: toForm(v1) });
    // Only the six fields and the two draft keys: the server refuses anything else.
    expect(Object.keys(body).sort()).toEqual(["base", "baseVersion", "client", "endsAt", "location", "notes", "startsAt", "title"]);
  });

  it("carries no base when this form's base values are not its version's", () => {
    const form: EditForm = { base: { version: 1, values: toForm(v1), exact: false }, values: toForm(v1), errors: {} };
    expect("base" in draftOf(form)).toBe(false);
  });

  it("restored with its base, counts only what the person changed, so Keep mine leaves their Location", () => {
    // The tab never saw version 1 (a reload): the draft's own base says what Alice changed.
    const form = formFromDraft(alices, carolsV2, undefined);
    expect(form.base).toEqual({ version: 1, values: toForm(v1), exact: true });
    expect(dirtyFields(form)).toEqual(["notes"]);
    const { form: merged, clashes } = mergeOnConflict(form, carolsV2);
    expect(clashes).toEqual([]);
    expect(merged.values.location).toBe("Room 12");
    expect(merged.values.notes).toBe("Alice: fasting.");
  });

  it("restored with its base, still asks about a field both changed", () => {
    const theirs: Appointment = { ...carolsV2, notes: "Carol: moved." };
    const { clashes } = mergeOnConflict(formFromDraft(alices, theirs, undefined), theirs);
    expect(clashes).toEqual([{ field: "notes", mine: "Alice: fasting.", theirs: "Carol: moved." }]);
  });

  it("without a base, takes the base from a version this tab saw, else asks about every differing field", () => {
    const bare: OfferedDraft = { ...alices, base: null };
    expect(formFromDraft(bare, carolsV2, v1).base).toEqual({ version: 1, values: toForm(v1), exact: true });
    const blind = formFromDraft(bare, carolsV2, undefined);
    expect(blind.base.exact).toBe(false);
    expect(mergeOnConflict(blind, carolsV2).clashes.map((c) => c.field)).toEqual(["location", "notes"]);
  });

  it("from the server keeps its raw text; a time kept by an older app as RFC 3339 becomes the input's local text", () => {
    const offered = offeredFromServer({
      appointmentId: "demo-1",
      baseVersion: 1,
      savedAt: "2026-03-01T08:05:00.000Z",
      ...toForm(v1),
      title: " typed ",
      startsAt: "",
      endsAt: v1.endsAt,
      base: null,
    });
    expect(offered.values.title).toBe(" typed ");
    expect(offered.values.startsAt).toBe("");
    expect(offered.values.endsAt).toBe(toForm(v1).endsAt);
    expect(offered.base).toBeNull();
    expect(offered.source).toBe("server");
  });

  it("is not offered when it is the appointment as it is now", () => {
    expect(worthRestoring(alices, v1)).toBe(true);
    expect(worthRestoring(alices, { ...v1, version: 2, notes: "Alice: fasting." })).toBe(false);
  });

  it("offered back is the newer of the server's and the browser's", () => {
    const browser: OfferedDraft = { ...alices, source: "browser", savedAt: "2026-03-01T08:06:00.000Z" };
    expect(newerDraft(alices, browser)).toBe(browser);
    expect(newerDraft({ ...alices, savedAt: "2026-03-01T08:07:00.000Z" }, browser)?.source).toBe("server");
    expect(newerDraft(null, browser)).toBe(browser);
    expect(newerDraft(alices, null)).toBe(alices);
    expect(newerDraft(null, null)).toBeNull();
  });
});
