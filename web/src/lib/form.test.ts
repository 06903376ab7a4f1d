import { describe, expect, it } from "vitest";
import { toFields, toForm, validateForm } from "./form";

const fields = {
  title: "Check-up",
  startsAt: "2026-03-01T09:00:00.000Z",
  endsAt: "2026-03-01T09:45:00.000Z",
  client: "Maria",
  location: "Room 1",
  notes: "",
};

describe("form", () => {
  it("round-trips the API's fields through the inputs", () => {
    expect(toFields(toForm(fields))).toEqual(fields);
  });

  it("checks the server's limits before sending", () => {
    const form = toForm(fields);
    expect(validateForm(form)).toEqual({});
    expect(validateForm({ ...form, title: "  " }).title).toBeDefined();
    expect(validateForm({ ...form, title: "x".repeat(201) }).title).toBeDefined();
    expect(validateForm({ ...form, notes: "x".repeat(5_001) }).notes).toBeDefined();
    expect(validateForm({ ...form, endsAt: form.startsAt }).endsAt).toBe("The end must be after the start.");
  });
});
