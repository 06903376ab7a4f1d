import { describe, expect, it } from "vitest";
import { fieldOfProblem, fieldsOf, newAppointmentValues, toFields, toForm, updateBody, validateForm, validateId } from "./form";

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

  it("starts a new appointment at the next whole hour, for half an hour", () => {
    const values = newAppointmentValues(new Date(2026, 2, 1, 9, 41, 7));
    expect(values).toMatchObject({ title: "", startsAt: "2026-03-01T10:00", endsAt: "2026-03-01T10:30" });
    expect(newAppointmentValues(new Date(2026, 2, 1, 23, 5)).startsAt).toBe("2026-03-02T00:00");
    expect(validateForm({ ...values, title: "x" })).toEqual({});
  });

  it("checks an id as the server does, an empty one being the server's to make up", () => {
    expect(validateId("")).toBeNull();
    expect(validateId("dentist-2026.03@room:1")).toBeNull();
    expect(validateId("two words")).toMatch(/no spaces/);
    expect(validateId("..")).toBe("Not only dots.");
    expect(validateId("x".repeat(65))).toBe("At most 64 characters.");
  });

  it("finds the field a server problem is about", () => {
    expect(fieldOfProblem("title holds an invisible formatting or line-separator character (U+202E); remove it")).toBe("title");
    expect(fieldOfProblem("endsAt must be after startsAt")).toBe("endsAt");
    expect(fieldOfProblem("appointment id must not be only dots")).toBe("id");
    expect(fieldOfProblem("unknown field `colour`")).toBeNull();
  });

  it("sends the status back with every update, when the server keeps one", () => {
    expect(updateBody(fields, undefined)).toEqual(fields);
    expect(updateBody(fields, "cancelled")).toEqual({ ...fields, status: "cancelled" });
    const saved = { ...fields, id: "a", version: 3, updatedBy: "x", updatedAt: "t", status: "scheduled" as const };
    expect(fieldsOf(saved)).toEqual(fields);
  });
});
