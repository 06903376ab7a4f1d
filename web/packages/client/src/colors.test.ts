import { describe, expect, it } from "vitest";
import { userColor } from "./colors";

describe("userColor", () => {
  it("is the same for the same user, and another for another", () => {
    expect(userColor("alice")).toEqual(userColor("alice"));
    expect(userColor("alice").solid).not.toBe(userColor("bob").solid);
  });
});
