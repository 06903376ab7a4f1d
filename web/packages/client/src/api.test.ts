import { describe, expect, it } from "vitest";
import { createLockdClient } from "./client";
import { ApiError, describeError } from "./problem";

// A draft as typed: an untrimmed title and a cleared start, with its base version's values.
const base = { title: "t", startsAt: "2026-01-01T09:00", endsAt: "2026-01-01T10:00", client: "", location: "", notes: "" };
const draft = { ...base, title: " t ", startsAt: "", notes: "typed", baseVersion: 3, base };

interface Sent {
  url: string;
  method: string;
  headers: Headers;
  body: string | null;
  keepalive: boolean;
}

/** A client whose every request is recorded and answered by `answer`. */
function harness(answer: (sent: Sent) => Response | Promise<Response>, options: { token?: () => string | null; onUnauthenticated?: () => Promise<boolean> } = {}) {
  const sent: Sent[] = [];
  // Called with the node's URL as a string (`failoverFetch`, `leaveOnPageHide`).
  const fetch = (async (input: string, init: RequestInit = {}) => {
    const body = init.body === undefined || init.body === null ? null : typeof init.body === "string" ? init.body : new TextDecoder().decode(init.body as ArrayBuffer);
    const request: Sent = { url: input, method: init.method ?? "GET", headers: new Headers(init.headers), body, keepalive: init.keepalive === true };
    sent.push(request);
    return answer(request);
  }) as typeof globalThis.fetch;
  const onUnauthenticated = options.onUnauthenticated;
  const client = createLockdClient({
    nodes: ["http://node-1"],
    sessionId: "tab-test",
    getToken: options.token ?? (() => "jwt"),
    fetch,
    ...(onUnauthenticated ? { onUnauthenticated: () => onUnauthenticated() } : {}),
  });
  return { client, api: client.api, sent };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": status >= 400 ? "application/problem+json" : "application/json" } });
const empty = () => new Response(null, { status: 204 });

describe("leaveOnPageHide", () => {
  it("sends the draft and a release fenced by this tab's token, both outliving the page", () => {
    const { api, sent } = harness(empty);
    api.leaveOnPageHide("demo 1", 42, draft);
    expect(sent.map((s) => [s.url, s.method, s.keepalive])).toEqual([
      ["http://node-1/appointments/demo%201/draft", "PUT", true],
      ["http://node-1/appointments/demo%201/release-lock", "DELETE", true],
    ]);
    const [put, release] = sent as [Sent, Sent];
    expect(release.headers.get("X-Fencing-Token")).toBe("42");
    expect(release.headers.get("X-Session-Id")).toBe("tab-test");
    expect(release.headers.get("Authorization")).toBe("Bearer jwt");
    expect(JSON.parse(put.body ?? "null")).toEqual(draft);
  });

  it("sends only the release when nothing is unsaved", () => {
    const { api, sent } = harness(empty);
    api.leaveOnPageHide("a", 7, null);
    expect(sent.map((s) => s.url)).toEqual(["http://node-1/appointments/a/release-lock"]);
  });
});

describe("drafts", () => {
  it("are sent as typed, with their base", async () => {
    const { api, sent } = harness(empty);
    await api.saveDraft("a", draft);
    expect(sent.map((s) => JSON.parse(s.body ?? "null") as unknown)).toEqual([draft]);
  });

  it("are discarded with DELETE", async () => {
    const { api, sent } = harness(empty);
    await api.deleteDraft("a b");
    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual(["DELETE http://node-1/appointments/a%20b/draft"]);
    const failing = harness(() => json(409, { status: 409, code: "not_holder" }));
    await expect(failing.api.deleteDraft("a")).rejects.toBeInstanceOf(ApiError);
  });

  it("none is an empty 204", async () => {
    const { api } = harness(empty);
    expect(await api.getDraft("a")).toBeNull();
  });
});

describe("api errors", () => {
  it("turns problem+json into an error that names the holder", async () => {
    const problem = { status: 409, code: "lock_held", lock: { holder: { name: "Alice Martin", email: "alice@example.com" } }, serverTime: "2026-01-01T00:00:00Z" };
    const { api } = harness(() => json(409, problem));
    const error = await api.acquireLock("a", false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("lock_held");
    expect(describeError(error)).toBe("Alice Martin (alice@example.com) is editing this appointment.");
  });

  it("says when the server cannot be reached", async () => {
    const { api } = harness(() => Promise.reject(new TypeError("fetch failed")));
    const error = await api.acquireLock("a", false).catch((e: unknown) => e);
    expect((error as ApiError).code).toBe("network");
    expect((error as ApiError).status).toBe(0);
  });

  it("tells an answer that is not JSON from a server that cannot be reached", async () => {
    const { api } = harness(() => new Response("<html>proxy</html>", { status: 200, headers: { "Content-Type": "text/html" } }));
    const error = await api.lockStatus("a").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe("unreadable_answer");
  });

  it("feeds the answer's serverTime to the cluster clock", async () => {
    const { client } = harness(() => json(200, { queued: true, position: 1, queue: [], serverTime: "2030-01-01T00:00:00Z" }));
    await client.api.acquireLock("a", true);
    expect(client.clock.now()).toBeGreaterThan(Date.parse("2029-12-31T23:59:00Z"));
  });
});

describe("lock writes", () => {
  it("carry the tab's session, the bearer and an idempotency key; a save its version and fencing token", async () => {
    const { api, sent } = harness(() => json(200, { ...base, id: "a", version: 4, status: "scheduled", updatedBy: "u", updatedByName: "U", updatedAt: "2026-01-01T00:00:00Z" }));
    await api.saveAppointment("a", { ...base, status: "scheduled" }, 3, 9);
    const [save] = sent as [Sent];
    expect(save.method).toBe("PUT");
    expect(save.headers.get("If-Match")).toBe("3");
    expect(save.headers.get("X-Fencing-Token")).toBe("9");
    expect(save.headers.get("X-Session-Id")).toBe("tab-test");
    expect(save.headers.get("Authorization")).toBe("Bearer jwt");
    expect(save.headers.get("Idempotency-Key")).toMatch(/\S{8,}/);
  });
});

describe("heartbeat", () => {
  it("says when the tab believes it is queued, so a hand-over is never claimed by a timer", async () => {
    const { api, sent } = harness(() => json(202, { queued: true }));
    await api.heartbeat("demo-1", { waiting: true });
    await api.heartbeat("demo-1");
    expect(JSON.parse(sent[0]?.body ?? "null")).toEqual({ waiting: true });
    expect(sent[1]?.body ?? null).toBeNull();
  });
});

describe("who the server takes a token for (GET /auth/me)", () => {
  it("is asked with the token being adopted, never renewed", async () => {
    let renewals = 0;
    const { api, sent } = harness(() => json(401, { code: "unauthenticated", status: 401 }), {
      token: () => "current",
      onUnauthenticated: () => {
        renewals += 1;
        return Promise.resolve(true);
      },
    });
    await expect(api.me("candidate")).rejects.toMatchObject({ status: 401 });
    expect(sent.map((s) => [s.url, s.headers.get("Authorization")])).toEqual([["http://node-1/auth/me", "Bearer candidate"]]);
    expect(renewals).toBe(0);
  });
});

describe("the sign-in settings (GET /auth/config)", () => {
  it("are asked without a token, and a refusal is not taken for an expired sign-in", async () => {
    let renewals = 0;
    const answers = [json(200, { devLogin: false, oidc: { issuer: "https://idp.example", clientId: "lockd-web", scopes: "openid" } }), json(401, { code: "unauthenticated", status: 401 })];
    const { api, sent } = harness(() => answers.shift() ?? json(500, {}), {
      onUnauthenticated: () => {
        renewals += 1;
        return Promise.resolve(true);
      },
    });
    await expect(api.authConfig()).resolves.toEqual({ devLogin: false, oidc: { issuer: "https://idp.example", clientId: "lockd-web", scopes: "openid" } });
    await expect(api.authConfig()).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
    expect(sent.map((s) => [s.method, s.url, s.headers.get("Authorization")])).toEqual([
      ["GET", "http://node-1/auth/config", null],
      ["GET", "http://node-1/auth/config", null],
    ]);
    expect(renewals).toBe(0);
  });
});

describe("a rejected token", () => {
  it("is renewed once and the request sent again with the new one and the same idempotency key", async () => {
    let token = "old";
    const { api, sent } = harness(
      (s) => (s.headers.get("Authorization") === "Bearer new" ? json(200, { queued: true, position: 1, queue: [], serverTime: "2026-01-01T00:00:00Z" }) : json(401, { code: "unauthenticated", status: 401 })),
      {
        token: () => token,
        onUnauthenticated: () => {
          token = "new";
          return Promise.resolve(true);
        },
      },
    );
    await expect(api.acquireLock("a", true)).resolves.toMatchObject({ queued: true });
    expect(sent.map((s) => s.headers.get("Authorization"))).toEqual(["Bearer old", "Bearer new"]);
    expect(sent[1]?.headers.get("Idempotency-Key")).toBe(sent[0]?.headers.get("Idempotency-Key"));
  });

  it("that cannot be renewed fails the request as unauthenticated, tried once", async () => {
    const { api, sent } = harness(() => json(401, { code: "unauthenticated", status: 401 }), { onUnauthenticated: () => Promise.resolve(false) });
    await expect(api.heartbeat("a")).rejects.toMatchObject({ code: "unauthenticated" });
    expect(sent).toHaveLength(1);
  });
});
