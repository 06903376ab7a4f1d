import { describe, expect, it } from "vitest";
import { appointmentPath, matchRoute } from "./router";

describe("matchRoute", () => {
  it("knows every page, with or without a trailing slash", () => {
    expect(matchRoute("/")).toEqual({ page: "list" });
    expect(matchRoute("/new")).toEqual({ page: "new" });
    expect(matchRoute("/takeovers/")).toEqual({ page: "takeovers" });
    expect(matchRoute(appointmentPath("demo 1"))).toEqual({ page: "appointment", id: "demo 1" });
    expect(matchRoute(`${appointmentPath("a:b")}/`)).toEqual({ page: "appointment", id: "a:b" });
    expect(matchRoute("/appointment/x/other")).toEqual({ page: "missing" });
  });
});

describe("the identity provider's way back", () => {
  it("is a page of the app", () => {
    expect(matchRoute("/auth/callback")).toEqual({ page: "callback" });
  });
});
