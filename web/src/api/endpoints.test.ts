import { describe, expect, it } from "vitest";
import { ApiError, describeError, type Me } from "@lockd/client";
import { parseMe, whoAmI } from "./endpoints";

describe("who the server takes the token for (GET /auth/me)", () => {
  const refused = (status: number, code: string, detail?: string) => () => Promise.reject(new ApiError({ status, code, ...(detail ? { detail } : {}) }));
  const alice = { userId: "alice", name: "Alice Admin", email: "alice@example.com", role: "admin" as const };

  it("is a member with the server's name and role, or someone without a lockd role who has no access", async () => {
    const asked: string[] = [];
    const me = (answer: Me) => (token?: string) => {
      asked.push(token ?? "");
      return Promise.resolve(answer);
    };
    await expect(whoAmI("t", { me: me(alice) })).resolves.toEqual({ kind: "member", profile: alice });
    await expect(whoAmI("t2", { me: me({ ...alice, userId: "bob", name: "Bob User", role: "user" }) })).resolves.toEqual({
      kind: "member",
      profile: { ...alice, userId: "bob", name: "Bob User", role: "user" },
    });
    await expect(whoAmI("t", { me: refused(403, "no_access", "your account has neither role") })).resolves.toEqual({ kind: "no-access", detail: "your account has neither role" });
    expect(asked).toEqual(["t", "t2"]);
  });

  it("passes on a refused token and an identity provider the server cannot reach, in words", async () => {
    await expect(whoAmI("t", { me: refused(401, "unauthenticated") })).rejects.toMatchObject({ status: 401 });
    const error: unknown = await whoAmI("t", { me: refused(503, "identity_provider_unavailable") }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(describeError(error)).toMatch(/identity provider right now/);
  });

  it("must name someone with a known role; an empty name is the user id", () => {
    expect(parseMe({ ...alice, name: " " })).toEqual({ ...alice, name: "alice" });
    expect(parseMe({ userId: "u1", name: "U", role: "user" })).toEqual({ userId: "u1", name: "U", email: "", role: "user" });
    expect(() => parseMe({ ...alice, role: "owner" })).toThrow(/not readable/);
    expect(() => parseMe({ ...alice, userId: "" })).toThrow(/not readable/);
    expect(() => parseMe(null)).toThrow(/not readable/);
  });
});
