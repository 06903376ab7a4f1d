// Who this tab is signed in as, and how: the demo picker (dev mode: a token from
// `/auth/dev-login`) or the organisation's identity provider (OIDC: `src/oidc.ts`). The node
// says which it offers (`/auth/config`). Either way the API and the sockets carry the current
// access token as the bearer (`lockd.ts`); with the IdP, who the person is
// (name, email, role) is what the server makes of that token (`GET /auth/me`, `whoAmI`).

import { create } from "zustand";
import { ApiError } from "@lockd/client";
import { whoAmI } from "./api/endpoints";
import { getToken, lockd, onSignedOut, setToken } from "./lockd";
import { CALLBACK_PATH, fetchAuthConfig, type AuthConfig } from "./api/authConfig";
import { loadAuth, saveAuth, type Auth, type DemoProfile } from "./api/session";
import { isFresh, jwtClaims, renewDelayMs } from "./lib/tokenTiming";
import { OidcSession, RenewRefused, type SignedInUser } from "./oidc";
import { replaceTo } from "./router";

/**
 * - `starting`: reading the node's sign-in settings, completing a sign-in, or asking the server
 *   about the IdP's token.
 * - `signed-out`: the sign-in screen.
 * - `signed-in`: `auth` is set.
 * - `no-access`: the IdP signed the person in, but lockd refuses them (no lockd role).
 */
export type AuthPhase = "starting" | "signed-out" | "signed-in" | "no-access";

export interface NoAccess {
  name: string;
  email: string;
  detail: string;
}

interface AuthStore {
  phase: AuthPhase;
  /** The node's sign-in settings, once read. */
  config: AuthConfig | null;
  /** Why the settings could not be read (the sign-in screen offers to try again). */
  configError: string | null;
  auth: Auth | null;
  via: "dev" | "oidc" | null;
  /** Said on the sign-in screen: why the person is there (an expired sign-in, a failed one). */
  notice: string | null;
  noAccess: NoAccess | null;
  /** Reads the settings and picks up a sign-in: the IdP's redirect back, or the one the
   * browser's tabs share. Called once at start. */
  start: () => Promise<void>;
  /** Reads the settings again (after a failure). */
  retryConfig: () => Promise<void>;
  /** Demo sign-in as `profile` (dev mode). */
  signIn: (profile: DemoProfile) => Promise<void>;
  /** Off to the IdP; back at the page the person was on. */
  signInWithIdp: () => Promise<void>;
  /** A fresh token for the same person (the socket's token expired). */
  refresh: () => Promise<void>;
  signOut: () => void;
}

const EXPIRED_NOTICE = "Your sign-in expired. Sign in again to go on: what you typed is kept in this browser.";
const SIGNED_OUT: Pick<AuthStore, "phase" | "auth" | "via" | "noAccess"> = { phase: "signed-out", auth: null, via: null, noAccess: null };

const initial = loadAuth();
setToken(initial?.token ?? null);

let oidc: OidcSession | null = null;
let renewTimer: ReturnType<typeof setTimeout> | undefined;
let started: Promise<void> | null = null;

export const useAuth = create<AuthStore>((set, get) => ({
  phase: initial ? "signed-in" : "starting",
  config: null,
  configError: null,
  auth: initial,
  via: initial ? "dev" : null,
  notice: null,
  noAccess: null,

  start() {
    started ??= startUp();
    return started;
  },

  async retryConfig() {
    // From the top: with the settings read, a sign-in the tabs share is picked up too.
    started = null;
    await get().start();
  },

  async signIn(profile) {
    const { token } = await lockd.api.devLogin(profile);
    const auth = { token, profile };
    clearTimeout(renewTimer);
    setToken(token);
    saveAuth(auth);
    set({ phase: "signed-in", auth, via: "dev", notice: null, noAccess: null });
  },

  async signInWithIdp() {
    if (!oidc) throw new Error("This server does not sign in with an identity provider.");
    const { pathname, search, hash } = window.location;
    await oidc.signIn(`${pathname}${search}${hash}`);
  },

  async refresh() {
    const { auth, via } = get();
    if (via === "oidc") {
      // A socket closed for its token's age (4401): the token it connected with may be long
      // renewed; the current one, if fresh, is all it needs to connect again.
      const current = await oidc?.current().catch(() => null);
      if (current && current.accessToken === getToken() && isFresh(current.times, Date.now())) return;
      await renewOidc();
      return;
    }
    if (auth) await get().signIn(auth.profile);
  },

  signOut() {
    const { via } = get();
    clearTimeout(renewTimer);
    if (via === "oidc" && oidc) {
      // The pages unmount first (their locks are released with the token still set); then
      // the IdP ends its session and sends the browser back to "/".
      set({ ...SIGNED_OUT, notice: null });
      const session = oidc;
      session.signOut().catch(() => {
        void session.forget();
        setToken(null);
      });
      return;
    }
    setToken(null);
    saveAuth(null);
    set({ ...SIGNED_OUT, notice: null });
  },
}));

async function loadConfig(): Promise<AuthConfig | null> {
  try {
    const config = await fetchAuthConfig(lockd.api);
    useAuth.setState({ config, configError: null });
    if (!config.oidc) oidc = null;
    else if (!oidc || oidc.settings.issuer !== config.oidc.issuer || oidc.settings.clientId !== config.oidc.clientId) {
      oidc = new OidcSession(config.oidc);
    }
    return config;
  } catch (error) {
    useAuth.setState({ configError: message(error) });
    return null;
  }
}

async function startUp(): Promise<void> {
  const config = await loadConfig();
  if (window.location.pathname === CALLBACK_PATH) {
    if (!oidc) {
      replaceTo("/");
      useAuth.setState({ ...SIGNED_OUT, notice: config ? "This server does not sign in with an identity provider." : null });
      return;
    }
    try {
      const { user, returnTo } = await oidc.completeSignIn(window.location.href);
      replaceTo(returnTo);
      // An IdP sign-in replaces a demo one, in this tab and for the tabs opened next.
      saveAuth(null);
      await adopt(user);
    } catch (error) {
      replaceTo("/");
      expire(`The sign-in did not complete: ${message(error)}`);
    }
    return;
  }
  if (useAuth.getState().auth) return; // this tab's demo sign-in
  let user = oidc ? await oidc.current().catch(() => null) : null;
  if (oidc && user) {
    try {
      if (!isFresh(user.times, Date.now()) && user.canRenew) user = await oidc.renew(user.accessToken);
      await adopt(user);
    } catch (error) {
      expire(error instanceof RenewRefused ? EXPIRED_NOTICE : `Signing in did not work: ${message(error)}`);
    }
    return;
  }
  useAuth.setState({ phase: "signed-out" });
}

/** Takes `user` (from the IdP) as this tab's sign-in. The server says first whether it lets them
 * in and as whom (`GET /auth/me`, asked with their token while the tab's stays the bearer): the
 * header shows the name and role the server applies, the same the others see on the lock. */
async function adopt(user: SignedInUser): Promise<void> {
  let me: Awaited<ReturnType<typeof whoAmI>>;
  try {
    me = await whoAmI(user.accessToken, lockd.api);
  } catch (error) {
    await leaveAsBefore();
    if (error instanceof ApiError && error.status === 401) {
      expire(`lockd did not accept the sign-in from the identity provider: ${error.problem.detail ?? error.message}`);
      return;
    }
    throw error;
  }
  if (me.kind === "no-access" || me.profile.userId !== useAuth.getState().auth?.profile.userId) await leaveAsBefore();
  if (me.kind === "no-access") {
    // The server names nobody it refuses: the token's own words, else the ID token's.
    const claims = jwtClaims(user.accessToken) ?? user.idClaims;
    clearTimeout(renewTimer);
    setToken(null);
    useAuth.setState({
      phase: "no-access",
      auth: null,
      via: "oidc",
      notice: null,
      noAccess: {
        name: text(claims.name) ?? text(user.idClaims.name) ?? text(claims.sub) ?? "",
        email: text(claims.email) ?? text(user.idClaims.email) ?? "",
        detail: me.detail,
      },
    });
    return;
  }
  setToken(user.accessToken);
  useAuth.setState({ phase: "signed-in", auth: { token: user.accessToken, profile: me.profile }, via: "oidc", notice: null, noAccess: null });
  scheduleRenewal(user);
}

/** Before the tab becomes someone else (another tab signed another person in) or nobody, its
 * open pages leave as the person they were opened for, with that person's token still the
 * bearer: the lock released and the unsaved text kept as their draft (`useEditor`'s leave). */
async function leaveAsBefore(): Promise<void> {
  if (!useAuth.getState().auth) return;
  clearTimeout(renewTimer);
  useAuth.setState({ phase: "starting", auth: null });
  // The pages unmount in React's commit of that change; their leave reads the bearer then.
  await new Promise((done) => setTimeout(done, 0));
}

/** A renewed token for the person signed in. */
function takeToken(user: SignedInUser): void {
  setToken(user.accessToken);
  const { auth, via } = useAuth.getState();
  if (auth && via === "oidc") useAuth.setState({ auth: { ...auth, token: user.accessToken } });
  scheduleRenewal(user);
}

function scheduleRenewal(user: SignedInUser): void {
  clearTimeout(renewTimer);
  if (!user.times || !user.canRenew) return;
  renewTimer = setTimeout(() => void renewOidc(), renewDelayMs(user.times, Date.now()));
}

/** Renews the IdP's token; false (and the sign-in screen) when only a new sign-in helps. A
 * failure that may pass (network) is tried again while the token still has time. */
async function renewOidc(): Promise<boolean> {
  if (!oidc) return false;
  try {
    takeToken(await oidc.renew(getToken()));
    return true;
  } catch (error) {
    if (!(error instanceof RenewRefused)) {
      const current = await oidc.current().catch(() => null);
      const leftMs = current?.times ? current.times.expiresAtMs - Date.now() : 0;
      if (leftMs > 3_000) {
        clearTimeout(renewTimer);
        renewTimer = setTimeout(() => void renewOidc(), Math.min(5_000, leftMs / 2));
        return false;
      }
    }
    expire(EXPIRED_NOTICE);
    return false;
  }
}

/** Back to the sign-in screen, saying why. Typed text is kept (localStorage drafts, per person). */
function expire(notice: string): void {
  clearTimeout(renewTimer);
  setToken(null);
  useAuth.setState({ ...SIGNED_OUT, notice });
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// A rejected token (expired, or signed by another cluster): in dev mode a fresh one for the
// same person; with the IdP one renewal. Either way the request is then tried once more
// (@lockd/client). Else the sign-in screen. A socket closed for its token's age reconnects
// with a fresh one (`refresh`).
onSignedOut({
  onRequest: renewRefusedToken,
  onSocket: () => useAuth.getState().refresh(),
  userId: () => useAuth.getState().auth?.profile.userId ?? null,
});

async function renewRefusedToken(): Promise<boolean> {
  const store = useAuth.getState();
  if (store.via === "oidc" && store.phase === "signed-in") {
    const before = getToken();
    await renewOidc();
    const after = getToken();
    return after !== null && after !== before;
  }
  if (store.via === "dev") {
    try {
      await store.refresh();
      return true;
    } catch {
      useAuth.getState().signOut();
      return false;
    }
  }
  return false;
}

// Another tab renewed the IdP's token, or signed out: this tab follows.
window.addEventListener("storage", (event) => {
  if (!oidc || event.key !== oidc.storageKey) return;
  const { via, phase } = useAuth.getState();
  if (via !== "oidc" || phase !== "signed-in") return;
  const user = OidcSession.fromStorage(event.newValue);
  if (!user) {
    expire("You signed out in another tab.");
    return;
  }
  if (user.accessToken === getToken()) return;
  const sub = jwtClaims(user.accessToken)?.sub ?? user.idClaims.sub;
  // Someone else signed in in another tab: ask the server about them; else a renewed token.
  if (sub !== useAuth.getState().auth?.profile.userId) void adopt(user).catch((error: unknown) => expire(`Signing in did not work: ${message(error)}`));
  else takeToken(user);
});
