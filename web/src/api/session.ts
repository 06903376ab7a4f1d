// Who this tab is. The token is kept per tab (sessionStorage: survives a reload, not shared
// with other tabs). The session id is per page load: a lock belongs to a session, so a
// duplicated tab (which copies sessionStorage) must not share it.

import { randomId } from "../lib/randomId";
import type { Role } from "./types";

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

export const sessionId: string = newSessionId();

function newSessionId(): string {
  return `tab-${randomId()}`;
}

export function loadAuth(): Auth | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Auth>;
    if (typeof parsed.token !== "string" || !parsed.profile) return null;
    return parsed as Auth;
  } catch {
    return null;
  }
}

export function saveAuth(auth: Auth | null): void {
  if (auth) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** The demo people offered by the sign-in picker (dev mode). */
export const DEMO_PROFILES: DemoProfile[] = [
  { userId: "alice", name: "Alice Martin", email: "alice@example.com", role: "user" },
  { userId: "bob", name: "Bob Okafor", email: "bob@example.com", role: "user" },
  { userId: "carol", name: "Carol Diaz", email: "carol@example.com", role: "admin" },
  { userId: "dev", name: "Dev Patel", email: "dev@example.com", role: "admin" },
];
