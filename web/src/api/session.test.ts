import { describe, expect, it } from "vitest";
import { loadAuth, saveAuth, type Auth } from "./session";

class MemoryStorage {
  private items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

const alice: Auth = { token: "t-alice", profile: { userId: "alice", name: "Alice", email: "a@x", role: "user" } };
const bob: Auth = { token: "t-bob", profile: { userId: "bob", name: "Bob", email: "b@x", role: "user" } };

describe("the sign-in, shared by tabs", () => {
  it("a new tab starts signed in as the last person; a tab's own sign-in wins on its reload", () => {
    const shared = new MemoryStorage();
    const first = new MemoryStorage();
    saveAuth(alice, first, shared);
    const opened = new MemoryStorage();
    expect(loadAuth(opened, shared)).toEqual(alice);
    // Someone else signs in in another tab: the first tab stays Alice.
    saveAuth(bob, new MemoryStorage(), shared);
    expect(loadAuth(first, shared)).toEqual(alice);
    expect(loadAuth(new MemoryStorage(), shared)).toEqual(bob);
  });

  it("signing out forgets the shared sign-in only if it is this tab's", () => {
    const shared = new MemoryStorage();
    const aliceTab = new MemoryStorage();
    const bobTab = new MemoryStorage();
    saveAuth(alice, aliceTab, shared);
    saveAuth(bob, bobTab, shared);
    saveAuth(null, aliceTab, shared);
    expect(loadAuth(aliceTab, shared)).toEqual(bob);
    saveAuth(null, bobTab, shared);
    expect(loadAuth(new MemoryStorage(), shared)).toBeNull();
  });
});
