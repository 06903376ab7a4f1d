import { describe, expect, it } from "vitest";
import { createLockdClient, socketUrl } from "./client";
import type { SocketLike } from "./socket";

/** Sockets that record where they were opened and close at once, as an unreachable node does. */
function failingSockets() {
  const opened: { url: string; protocols: string[] }[] = [];
  const factory = (url: string, protocols: string[]): SocketLike => {
    opened.push({ url, protocols });
    const socket: SocketLike = { readyState: 0, send: () => {}, close: () => {}, onopen: null, onmessage: null, onclose: null, onerror: null };
    queueMicrotask(() => socket.onclose?.({ code: 1006 } as CloseEvent));
    return socket;
  };
  return { opened, factory };
}

describe("LockdClient", () => {
  it("shares one room per appointment while it is held, and starts afresh once let go", () => {
    const client = createLockdClient({ nodes: ["http://n1"], webSocket: failingSockets().factory });
    const room = client.room("a1");
    expect(client.room("a1")).toBe(room);
    expect(client.lock("a1").room).toBe(room);
    const release = room.retain();
    const again = room.retain();
    release();
    expect(client.room("a1")).toBe(room);
    again();
    expect(client.room("a1")).not.toBe(room);
  });

  it("opens sockets on the current node with the tab's session and token, and moves on from a node that cannot be reached", async () => {
    const { opened, factory } = failingSockets();
    const client = createLockdClient({ nodes: ["http://n1:1", "https://n2:2"], sessionId: "tab-7", getToken: () => Promise.resolve("jwt"), webSocket: factory });
    const socket = client.openSocket("/updates", { onMessage: () => {} });
    socket.start();
    await new Promise((r) => setTimeout(r, 10));
    socket.stop();
    expect(opened[0]).toEqual({ url: "ws://n1:1/updates?sessionId=tab-7", protocols: ["lockd", "bearer.jwt"] });
    expect(client.nodes.current()).toBe("https://n2:2");
  });

  it("builds socket URLs from the node's scheme", () => {
    expect(socketUrl("https://lockd.example.org/", "/appointments/a%201/updates", { sessionId: "s" })).toBe("wss://lockd.example.org/appointments/a%201/updates?sessionId=s");
  });
});
