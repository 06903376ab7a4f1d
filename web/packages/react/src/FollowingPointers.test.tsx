import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import { createLockdClient, type RemotePointer } from "@lockd/client";
import { LockdProvider } from "./context";
import { FollowingPointers } from "./FollowingPointers";
import { useEditLock } from "./useEditLock";

function clientWith(pointers: Record<string, RemotePointer>, nowMs: number) {
  const client = createLockdClient({ nodes: ["http://node"], sessionId: "tab-me", now: () => nowMs });
  const room = client.room("a1");
  room.store.setState({ ...room.store.getState(), pointers });
  return client;
}

const pointer = (userId: string, x: number, y: number, movedAtMs: number): RemotePointer => ({ userId, sessionId: `tab-${userId}`, name: `${userId} name`, x, y, movedAtMs });

describe("<FollowingPointers />", () => {
  it("draws the others' pointers where they point, with their names, an idle one faded", () => {
    const now = Date.now();
    const client = clientWith({ "tab-bob": pointer("bob", 0.25, 0.5, now), "tab-carol": pointer("carol", 0.9, 0.1, now - 60_000) }, now);
    const html = renderToStaticMarkup(
      <LockdProvider client={client}>
        <FollowingPointers appointmentId="a1">
          <input aria-label="Title" />
        </FollowingPointers>
      </LockdProvider>,
    );
    expect(html).toContain('<input aria-label="Title"/>');
    expect(html).toMatch(/data-user="bob" style="position:absolute;left:25%;top:50%;opacity:1/);
    expect(html).toMatch(/data-user="carol" style="position:absolute;left:90%;top:10%;opacity:0.35/);
    expect(html).toContain(">bob name</span>");
  });

  it("needs a provider, and says so", () => {
    expect(() => renderToStaticMarkup(<FollowingPointers appointmentId="a1" />)).toThrow(/LockdProvider/);
  });
});

describe("useEditLock", () => {
  it("reads the room: another's lock is theirs, not editable here", () => {
    const client = createLockdClient({ nodes: ["http://node"], sessionId: "tab-me" });
    const room = client.room("a1");
    const holder = { userId: "bob", sessionId: "tab-bob", name: "Bob", email: "b@x", role: "user" as const };
    const T = "2026-01-01T00:00:00Z";
    room.store.setState({ ...room.store.getState(), lock: { appointmentId: "a1", holder, fencingToken: 3, acquiredAt: T, lastActivityAt: T, expiresAt: T, ttlMs: 300_000, claimBy: null } });
    function Probe() {
      const { state } = useEditLock("a1");
      return <p>{`${state.role} editing=${state.editing} holder=${state.lock?.holder.name ?? "-"}`}</p>;
    }
    expect(renderToStaticMarkup(<LockdProvider client={client}><Probe /></LockdProvider>)).toBe("<p>viewer editing=false holder=Bob</p>");
  });
});
