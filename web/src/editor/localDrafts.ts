// Drafts kept in this browser, for when the server cannot be reached: the unsaved text of one
// person's edit of one appointment, its base version and that version's values. One entry per
// person and appointment (a newer one replaces it), bounded in size and in number, dropped when
// the edit is saved or discarded, or once the server holds the draft. Pure over a Storage-like
// object, so it is tested with a fake one; a browser that refuses storage keeps nothing, and
// every function says so instead of throwing.

import { LOCAL_DRAFT_CHARS_MAX, LOCAL_DRAFTS_MAX } from "../lib/constants";
import type { FormValues } from "../lib/form";

/** The part of `Storage` used here. */
export type DraftStorage = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key" | "length">;

export interface LocalDraft {
  userId: string;
  appointmentId: string;
  baseVersion: number;
  /** On the cluster's clock, so it compares with a server draft's `savedAt`. */
  savedAt: string;
  values: FormValues;
  /** The base version's values, or null when this tab did not know them. */
  base: FormValues | null;
}

const PREFIX = "lockd.draft:";
const FIELDS: readonly (keyof FormValues)[] = ["title", "startsAt", "endsAt", "client", "location", "notes"];

/** Both ids are encoded, so no pair of ids shares a key with another. (Exported for the
 * `storage` events other tabs cause.) */
export const keyOf = (userId: string, appointmentId: string) => `${PREFIX}${encodeURIComponent(userId)}:${encodeURIComponent(appointmentId)}`;

/** This browser's localStorage, or null where it is refused (privacy settings, sandboxes). */
export function browserStorage(): DraftStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Keeps `draft`, replacing this person's earlier one of the appointment; true when kept. */
export function keepLocalDraft(storage: DraftStorage | null, draft: LocalDraft): boolean {
  if (!storage) return false;
  const json = JSON.stringify(draft);
  if (json.length > LOCAL_DRAFT_CHARS_MAX) return false;
  const key = keyOf(draft.userId, draft.appointmentId);
  try {
    makeRoom(storage, key);
    storage.setItem(key, json);
    return true;
  } catch {
    return false;
  }
}

/** This person's draft of the appointment, or null (none, or not a draft this app wrote). */
export function readLocalDraft(storage: DraftStorage | null, userId: string, appointmentId: string): LocalDraft | null {
  if (!storage) return null;
  try {
    const parsed = parse(storage.getItem(keyOf(userId, appointmentId)));
    return parsed && parsed.userId === userId && parsed.appointmentId === appointmentId ? parsed : null;
  } catch {
    return null;
  }
}

export function dropLocalDraft(storage: DraftStorage | null, userId: string, appointmentId: string): void {
  try {
    storage?.removeItem(keyOf(userId, appointmentId));
  } catch {
    // Nothing to do: a storage that refuses removal kept nothing of ours either.
  }
}

/** Before writing `key`: if it is new and the drafts are at their bound, the oldest go. */
function makeRoom(storage: DraftStorage, key: string): void {
  // The common case, once per keystroke: this entry exists and is replaced in place.
  if (storage.getItem(key) !== null) return;
  const drafts: { key: string; savedAtMs: number }[] = [];
  for (let i = 0; i < storage.length; i++) {
    const k = storage.key(i);
    if (k === null || !k.startsWith(PREFIX)) continue;
    const savedAtMs = Date.parse(parse(storage.getItem(k))?.savedAt ?? "");
    drafts.push({ key: k, savedAtMs: Number.isNaN(savedAtMs) ? 0 : savedAtMs });
  }
  drafts.sort((a, b) => a.savedAtMs - b.savedAtMs);
  for (const old of drafts.slice(0, Math.max(0, drafts.length - (LOCAL_DRAFTS_MAX - 1)))) storage.removeItem(old.key);
}

function parse(json: string | null): LocalDraft | null {
  if (json === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const d = value as Record<string, unknown>;
  if (typeof d.userId !== "string" || typeof d.appointmentId !== "string" || typeof d.savedAt !== "string") return null;
  if (typeof d.baseVersion !== "number" || !Number.isSafeInteger(d.baseVersion)) return null;
  const values = formValues(d.values);
  const base = d.base === null ? null : formValues(d.base);
  if (!values || base === undefined) return null;
  return { userId: d.userId, appointmentId: d.appointmentId, baseVersion: d.baseVersion, savedAt: d.savedAt, values, base };
}

/** The six text fields, or undefined if any is missing or not text. */
function formValues(value: unknown): FormValues | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const out: Partial<FormValues> = {};
  for (const name of FIELDS) {
    const field = v[name];
    if (typeof field !== "string") return undefined;
    out[name] = field;
  }
  return out as FormValues;
}
