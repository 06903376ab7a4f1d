import { describe, expect, it } from "vitest";
import { badgedTitle, unbadgedTitle } from "./titleBadge";

describe("title badge", () => {
  it("goes in front of the title, replaces itself, and comes off cleanly", () => {
    const badged = badgedTitle("lockd · appointments", "Your turn");
    expect(badged).toBe("● Your turn · lockd · appointments");
    expect(badgedTitle(badged, "Missed")).toBe("● Missed · lockd · appointments");
    expect(unbadgedTitle(badged)).toBe("lockd · appointments");
    expect(unbadgedTitle("lockd · appointments")).toBe("lockd · appointments");
  });
});
