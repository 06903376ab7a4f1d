import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, describeError, onSignedOut, setToken } from "./client";
import { acquireLock, deleteDraft, getDraft, heartbeat, leaveOnPageHide, parseMe, saveDraft, whoAmI } from "./endpoints";
import { sessionId } from "./session";

// A draft as typed: an untrimmed title and a cleared start, with its base version's values.
const base = { title: "t", startsAt: "2026-01-01T09:00", endsAt: "2026-01-01T10:00", client: "", location: "", notes: "" };
const draft = { ...base, title: " t ", startsAt: "", notes: "typed", baseVersion: 3, base };

afterEach(() => {
  vi.unstubAllGlobals();
  setToken(null);
});

describe("leaveOnPageHide", () => {
  it("sends the draft and a release fenced by this tab's token, both outliving the page", () => {
    const calls: [string, RequestInit][] = [];
    vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
      calls.push([url, init]);
      return Promise.resolve(new Response(null, { status: 204 }));
    });
    setToken("jwt");
    leaveOnPageHide("demo 1", 42, draft);
    expect(calls.map(([url, init]) => [url, init.method, init.keepalive])).toEqual([
      ["/appointments/demo%201/draft", "PUT", true],
      ["/appointments/demo%201/release-lock", "DELETE", true],
    ]);
    const [[, draftInit], [, release]] = calls as [[string, RequestInit], [string, RequestInit]];
    const releaseHeaders = release.headers as Record<string, string>;
    expect(releaseHeaders["X-Fencing-Token"]).toBe("42");
    expect(releaseHeaders["X-Session-Id"]).toBe(sessionId);
    expect(releaseHeaders.Authorization).toBe("Bearer jwt");
    expect(JSON.parse(draftInit.body as string)).toEqual(draft);
  });

  it("sends only the release when nothing is unsaved", () => {
    const urls: string[] = [];
    vi.stubGlobal("fetch", (url: string) => {
      urls.push(url);
      return Promise.resolve(new Response(null, { status: 204 }));
    });
    leaveOnPageHide("a", 7, null);
    expect(urls).toEqual(["/appointments/a/release-lock"]);
  });
});

describe("drafts", () => {
  it("are sent as typed, with their base", async () => {
    const bodies: unknown[] = [];
    vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(init.body as string));
      return Promise.resolve(new Response(null, { status: 204 }));
    });
    await saveDraft("a", draft);
    expect(bodies).toEqual([draft]);
  });

  it("are discarded with DELETE; an older server without the route has nothing more to do", async () => {
    const calls: string[] = [];
    vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
      calls.push(`${init.method ?? "GET"} ${url}`);
      return Promise.resolve(new Response(null, { status: 204 }));
    });
    await deleteDraft("a b");
    expect(calls).toEqual(["DELETE /appointments/a%20b/draft"]);
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ code: "method_not_allowed" }), { status: 405 })));
    await expect(deleteDraft("a")).resolves.toBeUndefined();
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ code: "no_leader" }), { status: 503 })));
    await expect(deleteDraft("a")).rejects.toThrow();
  });

  it("none is an empty 204 (or an older server's 404)", async () => {
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(null, { status: 204 })));
    expect(await getDraft("a")).toBeNull();
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify({ code: "not_found" }), { status: 404 })));
    expect(await getDraft("a")).toBeNull();
  });
});

describe("api errors", () => {
  it("turns problem+json into an error that names the holder", async () => {
    const problem = {
      status: 409,
      code: "lock_held",
      lock: { holder: { name: "Alice Martin", email: "alice@example.com" } },
      serverTime: "2026-01-01T00:00:00Z",
    };
    vi.stubGlobal("fetch", () => Promise.resolve(new Response(JSON.stringify(problem), { status: 409, headers: { "content-type": "application/problem+json" } })));
    const error = await acquireLock("a", false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("lock_held");
    expect(describeError(error)).toBe("Alice Martin (alice@example.com) is editing this appointment.");
  });

  it("says when the server cannot be reached", async () => {
    vi.stubGlobal("fetch", () => Promise.reject(new TypeError("fetch failed")));
    const error = await acquireLock("a", false).catch((e: unknown) => e);
    expect((error as ApiError).code).toBe("network");
  });
});

describe("heartbeat", () => {
  it("says when the tab believes it is queued, so a hand-over is never claimed by a timer", async () => {
    const bodies: (string | null | undefined)[] = [];
    vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
      bodies.push(init.body as string | null | undefined);
      return Promise.resolve(Response.json({ queued: true }, { status: 202 }));
    });
    await heartbeat("demo-1", { waiting: true });
    await heartbeat("demo-1");
    expect(JSON.parse(bodies[0] ?? "null")).toEqual({ waiting: true });
    expect(bodies[1] ?? null).toBeNull();
  });
});

describe("who the server takes the token for (GET /auth/me)", () => {
  const answer = (status: number, body: unknown) => () =>
    Promise.resolve(new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json" } }));
  const alice = { userId: "alice", name: "Alice Admin", email: "alice@example.com", role: "admin" };

  it("is a member with the server's name and role, or someone without a lockd role who has no access", async () => {
    vi.stubGlobal("fetch", answer(200, alice));
    await expect(whoAmI("t")).resolves.toEqual({ kind: "member", profile: alice });
    vi.stubGlobal("fetch", answer(200, { ...alice, userId: "bob", name: "Bob User", role: "user" }));
    await expect(whoAmI("t")).resolves.toEqual({ kind: "member", profile: { ...alice, userId: "bob", name: "Bob User", role: "user" } });
    vi.stubGlobal("fetch", answer(403, { code: "no_access", status: 403, detail: "your account has neither role" }));
    await expect(whoAmI("t")).resolves.toEqual({ kind: "no-access", detail: "your account has neither role" });
  });

  it("passes on a refused token and an identity provider the server cannot reach, in words", async () => {
    vi.stubGlobal("fetch", answer(401, { code: "unauthenticated", status: 401 }));
    await expect(whoAmI("t")).rejects.toMatchObject({ status: 401 });
    vi.stubGlobal("fetch", answer(503, { code: "identity_provider_unavailable", status: 503 }));
    const error: unknown = await whoAmI("t").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(describeError(error)).toMatch(/identity provider right now/);
  });

  it("is asked with the token being adopted, never renewed, and the tab's own bearer stays", async () => {
    const calls: [string, Record<string, string>][] = [];
    vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
      calls.push([url, init.headers as Record<string, string>]);
      return Promise.resolve(new Response(JSON.stringify({ code: "unauthenticated", status: 401 }), { status: 401 }));
    });
    setToken("current");
    let renewals = 0;
    onSignedOut(() => {
      renewals += 1;
      return Promise.resolve(true);
    });
    await expect(whoAmI("candidate")).rejects.toMatchObject({ status: 401 });
    expect(calls.map(([url, headers]) => [url, headers.Authorization])).toEqual([["/auth/me", "Bearer candidate"]]);
    expect(renewals).toBe(0);
    onSignedOut(() => Promise.resolve(false));
  });

  it("must name someone with a known role; an empty name is the user id", () => {
    expect(parseMe({ ...alice, name: " " })).toEqual({ ...alice, name: "alice" });
    expect(parseMe({ userId: "u1", name: "U", role: "user" })).toEqual({ userId: "u1", name: "U", email: "", role: "user" });
    expect(() => parseMe({ ...alice, role: "owner" })).toThrow(/not readable/);
    expect(() => parseMe({ ...alice, userId: "" })).toThrow(/not readable/);
    expect(() => parseMe(null)).toThrow(/not readable/);
  });
});

describe("a rejected token", () => {
  afterEach(() => onSignedOut(() => Promise.resolve(false)));

  it("is renewed once and the request sent again with the new one", async () => {
    const bearers: (string | undefined)[] = [];
    vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
      const bearer = (init.headers as Record<string, string>).Authorization;
      bearers.push(bearer);
      return Promise.resolve(
        bearer === "Bearer new"
          ? new Response(JSON.stringify({ lock: null }), { status: 200 })
          : new Response(JSON.stringify({ code: "unauthenticated", status: 401, tokenExpired: true }), { status: 401 }),
      );
    });
    setToken("old");
    onSignedOut(() => {
      setToken("new");
      return Promise.resolve(true);
    });
    await expect(heartbeat("a")).resolves.toEqual({ lock: null });
    expect(bearers).toEqual(["Bearer old", "Bearer new"]);
  });

  it("that cannot be renewed fails the request as unauthenticated, tried once", async () => {
    let calls = 0;
    vi.stubGlobal("fetch", () => {
      calls += 1;
      return Promise.resolve(new Response(JSON.stringify({ code: "unauthenticated", status: 401 }), { status: 401 }));
    });
    setToken("old");
    onSignedOut(() => Promise.resolve(false));
    await expect(heartbeat("a")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(calls).toBe(1);
  });
});
