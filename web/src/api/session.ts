// Who this tab is signed in as (the demo sign-in). The sign-in is shared by the browser's tabs
// (localStorage), so a tab opened by URL is signed in already; each tab also keeps its own
// copy (sessionStorage), which wins on a reload, so a tab signed in as someone else stays that
// person. The session id is per page load (`lockd.ts`): a lock belongs to a session, so a
// second tab, or a duplicated one (which copies sessionStorage), never shares it.

import type { Role } from "@lockd/client";

export interface DemoProfile {
  userId: string;
  name: string;
  email: string;
  role: Role;
}

export interface Auth {
  token: string;
  profile: DemoProfile;
}

const STORAGE_KEY = "lockd.auth";

/** The part of `Storage` used here. */
type AuthStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

function parseAuth(raw: string | null): Auth | null {
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<Auth>;
    if (typeof parsed.token !== "string" || !parsed.profile) return null;
    return parsed as Auth;
  } catch {
    return null;
  }
}

/** This tab's sign-in, else the one its browser's tabs share. */
export function loadAuth(tab: AuthStorage | null = storage("session"), shared: AuthStorage | null = storage("local")): Auth | null {
  return parseAuth(read(tab)) ?? parseAuth(read(shared));
}

/** Keeps `auth` for this tab and for the tabs opened next. Signing out (null) forgets this
 * tab's, and the shared one only if it is this tab's: another tab's person stays signed in. */
export function saveAuth(auth: Auth | null, tab: AuthStorage | null = storage("session"), shared: AuthStorage | null = storage("local")): void {
  try {
    if (auth) {
      const json = JSON.stringify(auth);
      tab?.setItem(STORAGE_KEY, json);
      shared?.setItem(STORAGE_KEY, json);
      return;
    }
    const mine = parseAuth(read(tab));
    tab?.removeItem(STORAGE_KEY);
    if (mine && parseAuth(read(shared))?.token === mine.token) shared?.removeItem(STORAGE_KEY);
  } catch {
    // Storage refused (privacy settings): this tab stays signed in until it is closed.
  }
}

function read(from: AuthStorage | null): string | null {
  try {
    return from?.getItem(STORAGE_KEY) ?? null;
  } catch {
    return null;
  }
}

function storage(kind: "session" | "local"): AuthStorage | null {
  try {
    return kind === "session" ? window.sessionStorage : window.localStorage;
  } catch {
    return null;
  }
}

/** The demo people offered by the sign-in picker (dev mode). */
export const DEMO_PROFILES: DemoProfile[] = [
  { userId: "alice", name: "Alice Martin", email: "alice@example.com", role: "user" },
  { userId: "bob", name: "Bob Okafor", email: "bob@example.com", role: "user" },
  { userId: "carol", name: "Carol Diaz", email: "carol@example.com", role: "admin" },
  { userId: "dev", name: "Dev Patel", email: "dev@example.com", role: "admin" },
];
