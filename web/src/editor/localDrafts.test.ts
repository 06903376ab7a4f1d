import { describe, expect, it } from "vitest";
import { LOCAL_DRAFTS_MAX } from "../lib/constants";
import type { FormValues } from "../lib/form";
import { dropLocalDraft, keepLocalDraft, readLocalDraft, type DraftStorage, type LocalDraft } from "./localDrafts";

/** An in-memory Storage; `full` makes every write throw as a full localStorage does. */
class FakeStorage implements DraftStorage {
  items = new Map<string, string>();
  full = false;
  get length() {
    return this.items.size;
  }
  key(index: number) {
    return [...this.items.keys()][index] ?? null;
  }
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    if (this.full) throw new DOMException("quota", "QuotaExceededError");
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

const values: FormValues = { title: "Check-up", startsAt: "", endsAt: "2026-03-01T09:45", client: "Maria", location: "Room 1", notes: "half typed" };
const base: FormValues = { ...values, startsAt: "2026-03-01T09:00", notes: "" };
const draft = (over: Partial<LocalDraft> = {}): LocalDraft => ({
  userId: "alice",
  appointmentId: "demo-1",
  baseVersion: 3,
  savedAt: "2026-03-01T08:00:00.000Z",
  values,
  base,
  ...over,
});

describe("drafts kept in the browser", () => {
  it("keeps one draft per person and appointment, read back as written", () => {
    const storage = new FakeStorage();
    expect(keepLocalDraft(storage, draft())).toBe(true);
    expect(keepLocalDraft(storage, draft({ savedAt: "2026-03-01T08:01:00.000Z", values: { ...values, notes: "more" } }))).toBe(true);
    expect(storage.length).toBe(1);
    expect(readLocalDraft(storage, "alice", "demo-1")).toEqual(draft({ savedAt: "2026-03-01T08:01:00.000Z", values: { ...values, notes: "more" } }));
    // Another person's or another appointment's draft is not this one.
    expect(readLocalDraft(storage, "bob", "demo-1")).toBeNull();
    expect(readLocalDraft(storage, "alice", "demo-2")).toBeNull();
  });

  it("keeps a draft without its base", () => {
    const storage = new FakeStorage();
    keepLocalDraft(storage, draft({ base: null }));
    expect(readLocalDraft(storage, "alice", "demo-1")?.base).toBeNull();
  });

  it("tells ids apart that a plain join would confuse", () => {
    const storage = new FakeStorage();
    keepLocalDraft(storage, draft({ userId: "a.b", appointmentId: "c" }));
    expect(readLocalDraft(storage, "a", "b.c")).toBeNull();
    expect(readLocalDraft(storage, "a.b", "c")).not.toBeNull();
  });

  it("is gone once dropped (saved or discarded)", () => {
    const storage = new FakeStorage();
    keepLocalDraft(storage, draft());
    keepLocalDraft(storage, draft({ appointmentId: "demo-2" }));
    dropLocalDraft(storage, "alice", "demo-1");
    expect(readLocalDraft(storage, "alice", "demo-1")).toBeNull();
    expect(readLocalDraft(storage, "alice", "demo-2")).not.toBeNull();
  });

  it("holds at most LOCAL_DRAFTS_MAX drafts, pushing out the oldest", () => {
    const storage = new FakeStorage();
    storage.setItem("unrelated", "kept");
    for (let i = 0; i <= LOCAL_DRAFTS_MAX; i++) {
      const savedAt = new Date(Date.UTC(2026, 2, 1, 8, i)).toISOString();
      expect(keepLocalDraft(storage, draft({ appointmentId: `a-${i}`, savedAt }))).toBe(true);
    }
    expect(storage.length).toBe(LOCAL_DRAFTS_MAX + 1);
    expect(readLocalDraft(storage, "alice", "a-0")).toBeNull();
    expect(readLocalDraft(storage, "alice", "a-1")).not.toBeNull();
    expect(readLocalDraft(storage, "alice", `a-${LOCAL_DRAFTS_MAX}`)).not.toBeNull();
    expect(storage.getItem("unrelated")).toBe("kept");
  });

  it("refuses an entry beyond its size bound, and says so", () => {
    const storage = new FakeStorage();
    expect(keepLocalDraft(storage, draft({ values: { ...values, notes: "x".repeat(20_000) } }))).toBe(false);
    expect(storage.length).toBe(0);
  });

  it("says when the browser refuses to keep it, and never throws", () => {
    const storage = new FakeStorage();
    storage.full = true;
    expect(keepLocalDraft(storage, draft())).toBe(false);
    expect(keepLocalDraft(null, draft())).toBe(false);
    expect(readLocalDraft(null, "alice", "demo-1")).toBeNull();
    expect(() => dropLocalDraft(null, "alice", "demo-1")).not.toThrow();
  });

  it("ignores an entry that is not a draft (hand-edited, or an older app's)", () => {
    const storage = new FakeStorage();
    keepLocalDraft(storage, draft());
    const key = storage.key(0) ?? "";
    storage.setItem(key, "{not json");
    expect(readLocalDraft(storage, "alice", "demo-1")).toBeNull();
    storage.setItem(key, JSON.stringify({ ...draft(), values: { title: 1 } }));
    expect(readLocalDraft(storage, "alice", "demo-1")).toBeNull();
    storage.setItem(key, JSON.stringify({ ...draft(), userId: "bob" }));
    expect(readLocalDraft(storage, "alice", "demo-1")).toBeNull();
  });
});
