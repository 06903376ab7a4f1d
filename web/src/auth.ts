// The signed-in demo user of this tab.

import { create } from "zustand";
import { devLogin } from "./api/endpoints";
import { onSignedOut, setToken } from "./api/client";
import { loadAuth, saveAuth, type Auth, type DemoProfile } from "./api/session";

interface AuthStore {
  auth: Auth | null;
  signIn: (profile: DemoProfile) => Promise<void>;
  /** A fresh token for the same person (the socket's token expired). */
  refresh: () => Promise<void>;
  signOut: () => void;
}

const initial = loadAuth();
setToken(initial?.token ?? null);

export const useAuth = create<AuthStore>((set, get) => ({
  auth: initial,
  async signIn(profile) {
    const { token } = await devLogin(profile);
    const auth = { token, profile };
    setToken(token);
    saveAuth(auth);
    set({ auth });
  },
  async refresh() {
    const current = get().auth;
    if (current) await get().signIn(current.profile);
  },
  signOut() {
    setToken(null);
    saveAuth(null);
    set({ auth: null });
  },
}));

// A rejected token: in dev mode get a fresh one for the same person, else sign out.
onSignedOut(() => {
  useAuth
    .getState()
    .refresh()
    .catch(() => useAuth.getState().signOut());
});
