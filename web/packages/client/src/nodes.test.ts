import { describe, expect, it } from "vitest";
import { NodePool, failoverFetch } from "./nodes";

/** A fetch whose nodes answer as `plan` says, by origin, recording what was asked. */
function fakeFetch(plan: Record<string, number | "down">) {
  const calls: { url: string; method: string; body: string | null; session: string | null }[] = [];
  // `failoverFetch` calls it with the node's URL as a string.
  const impl = ((url: string, init?: RequestInit): Promise<Response> => {
    const body = init?.body ? new TextDecoder().decode(init.body as ArrayBuffer) : null;
    calls.push({ url, method: init?.method ?? "GET", body, session: new Headers(init?.headers).get("X-Session-Id") });
    const outcome = plan[new URL(url).origin];
    if (outcome === undefined || outcome === "down") return Promise.reject(new TypeError("fetch failed"));
    return Promise.resolve(new Response(null, { status: outcome }));
  }) as typeof fetch;
  return { impl, calls };
}

const nodes = ["http://n1:1/", "http://n2:2", "http://n3:3"];

describe("failoverFetch", () => {
  it("moves on from a node that cannot be reached, sends the same request there, and stays", async () => {
    const pool = new NodePool(nodes);
    const { impl, calls } = fakeFetch({ "http://n1:1": "down", "http://n2:2": 200, "http://n3:3": 200 });
    const send = failoverFetch(pool, impl);
    const request = new Request("http://n1:1/appointments/a/heartbeat", { method: "POST", body: '{"waiting":true}', headers: { "X-Session-Id": "tab-1" } });
    expect((await send(request)).status).toBe(200);
    expect(calls.map((c) => c.url)).toEqual(["http://n1:1/appointments/a/heartbeat", "http://n2:2/appointments/a/heartbeat"]);
    expect(calls[1]).toMatchObject({ method: "POST", body: '{"waiting":true}', session: "tab-1" });
    // Sticky: the next request starts at the node that worked, not at node 1.
    await send(new Request("http://n1:1/appointments"));
    expect(calls.at(-1)?.url).toBe("http://n2:2/appointments");
    expect(calls).toHaveLength(3);
  });

  it("takes a 503 for a node failure but hands any other error status back as the answer", async () => {
    const pool = new NodePool(nodes);
    const { impl, calls } = fakeFetch({ "http://n1:1": 503, "http://n2:2": 409, "http://n3:3": 200 });
    const response = await failoverFetch(pool, impl)(new Request("http://n1:1/x"));
    expect(response.status).toBe(409);
    expect(calls).toHaveLength(2);
    expect(pool.current()).toBe("http://n2:2");
  });

  it("tries every node once, then gives the last failure", async () => {
    const pool = new NodePool(nodes);
    const { impl, calls } = fakeFetch({ "http://n1:1": "down", "http://n2:2": "down", "http://n3:3": 503 });
    expect((await failoverFetch(pool, impl)(new Request("http://n1:1/x"))).status).toBe(503);
    const down = fakeFetch({});
    await expect(failoverFetch(new NodePool(nodes), down.impl)(new Request("http://n1:1/x"))).rejects.toThrow("fetch failed");
    expect(calls).toHaveLength(3);
    expect(down.calls).toHaveLength(3);
  });
});

describe("NodePool", () => {
  it("ignores a late failure of a node it already left", () => {
    const pool = new NodePool(nodes);
    pool.failed("http://n1:1");
    pool.failed("http://n1:1");
    expect(pool.current()).toBe("http://n2:2");
    expect(pool.order()).toEqual(["http://n2:2", "http://n3:3", "http://n1:1"]);
  });

  it("refuses an empty list", () => {
    expect(() => new NodePool([])).toThrow(/at least one node/);
  });
});
