import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, describeError, setToken } from "./client";
import { acquireLock, leaveOnPageHide } from "./endpoints";
import { sessionId } from "./session";

const fields = { title: "t", startsAt: "2026-01-01T09:00:00.000Z", endsAt: "2026-01-01T10:00:00.000Z", client: "", location: "", notes: "typed" };

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
    leaveOnPageHide("demo 1", 42, { fields, baseVersion: 3 });
    expect(calls.map(([url, init]) => [url, init.method, init.keepalive])).toEqual([
      ["/appointments/demo%201/draft", "PUT", true],
      ["/appointments/demo%201/release-lock", "DELETE", true],
    ]);
    const [[, draft], [, release]] = calls as [[string, RequestInit], [string, RequestInit]];
    const releaseHeaders = release.headers as Record<string, string>;
    expect(releaseHeaders["X-Fencing-Token"]).toBe("42");
    expect(releaseHeaders["X-Session-Id"]).toBe(sessionId);
    expect(releaseHeaders.Authorization).toBe("Bearer jwt");
    expect(JSON.parse(draft.body as string)).toEqual({ ...fields, baseVersion: 3 });
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
