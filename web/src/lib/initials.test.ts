import { describe, expect, it } from "vitest";
import { initials } from "./initials";

describe("initials", () => {
  it("takes the first letters of the first and last words", () => {
    expect(initials("Alice Martin")).toBe("AM");
    expect(initials("  bob  ")).toBe("B");
    expect(initials("")).toBe("?");
  });

  it("keeps whole emoji and accented letters (graphemes, not UTF-16 halves)", () => {
    expect(initials("🦊 Fox")).toBe("🦊F");
    expect(initials("👩‍💻 Dev")).toBe("👩‍💻D");
    expect(initials("Zoë 👍🏽")).toBe("Z👍🏽");
    expect(initials("e\u0301mile")).toBe("E\u0301");
  });
});
