import { describe, expect, it } from "vitest";
import { ApiError } from "@lockd/client";
import { problemOf } from "./useNewAppointment";

describe("a refused create, at its field", () => {
  it("an id that exists is the ID's problem", () => {
    const error = new ApiError({ status: 409, code: "already_exists", detail: "appointment demo-1 already exists" });
    expect(problemOf(error, "demo-1")).toEqual({ field: "id", message: "An appointment with the ID “demo-1” exists already. Choose another ID, or leave it empty." });
  });

  it("a 400 is the problem of the field its detail names, else of the form", () => {
    const title = new ApiError({ status: 400, code: "invalid_input", detail: "title holds an invisible formatting or line-separator character (U+202E); remove it" });
    expect(problemOf(title, "")).toMatchObject({ field: "title", message: expect.stringContaining("The server refused it: title holds") as string });
    const unknown = new ApiError({ status: 400, code: "invalid_input", detail: "malformed JSON body" });
    expect(problemOf(unknown, "")).toEqual({ field: null, message: "Check the form: malformed JSON body" });
  });

  it("anything else is said as it is, at no field", () => {
    const offline = new ApiError({ status: 0, code: "network", detail: "The server could not be reached. Check your connection." });
    expect(problemOf(offline, "")).toEqual({ field: null, message: "The server could not be reached. Check your connection." });
  });
});
