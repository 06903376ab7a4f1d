// The browser's side of signing in with the organisation's identity provider (OpenID Connect,
// authorization code + PKCE, oidc-client-ts). The IdP's tokens are kept where the browser's
// tabs share them (localStorage, oidc-client-ts's user store), so a tab opened by URL is signed
// in, like the demo sign-in. Renewal uses the refresh token, before the access token expires
// (`lib/tokenTiming.ts`), by one tab at a time: an IdP that rotates refresh tokens (most do, for
// browser clients) takes a refresh token used twice for a stolen one and ends the sign-in, so
// the tabs take turns (Web Locks) and a tab that finds a token another tab just renewed takes
// that one instead of renewing again. That is why oidc-client-ts's own `automaticSilentRenew`
// (one timer per tab, no turn-taking) is off.

import { ErrorResponse, User, UserManager, WebStorageStateStore } from "oidc-client-ts";
import { CALLBACK_PATH, safeReturnTo, type OidcSettings } from "./api/authConfig";
import { isFresh, tokenTimes, type TokenTimes } from "./lib/tokenTiming";

const STORE_PREFIX = "oidc.";
const RENEW_LOCK = "lockd.oidc-renew";

export interface SignedInUser {
  accessToken: string;
  /** The ID token's claims (who signed in), as the IdP stated them. */
  idClaims: Record<string, unknown>;
  times: TokenTimes | null;
  canRenew: boolean;
}

/** The refresh token was refused (revoked, expired, used twice, the IdP session ended): only a
 * new sign-in helps. Other failures (network, timeout) may pass. */
export class RenewRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RenewRefused";
  }
}

function signedIn(user: User): SignedInUser {
  return {
    accessToken: user.access_token,
    idClaims: { ...user.profile },
    times: tokenTimes(user.access_token, user.expires_at),
    canRenew: Boolean(user.refresh_token),
  };
}

/** Runs `work` while no other tab of this origin renews (Web Locks); without Web Locks (an
 * insecure origin, an old browser) it just runs. */
async function oneTabAtATime<T>(work: () => Promise<T>): Promise<T> {
  // Absent outside secure contexts, whatever the DOM types say.
  const locks = navigator.locks as LockManager | undefined;
  if (!locks) return work();
  return locks.request(RENEW_LOCK, work);
}

export class OidcSession {
  readonly settings: OidcSettings;
  private readonly manager: UserManager;
  private renewing: Promise<SignedInUser> | null = null;

  constructor(settings: OidcSettings, origin: string = window.location.origin) {
    this.settings = settings;
    this.manager = new UserManager({
      authority: settings.issuer,
      client_id: settings.clientId,
      redirect_uri: `${origin}${CALLBACK_PATH}`,
      post_logout_redirect_uri: `${origin}/`,
      response_type: "code",
      scope: settings.scopes,
      userStore: new WebStorageStateStore({ store: window.localStorage, prefix: STORE_PREFIX }),
      // Renewal is ours (see the top of this file).
      automaticSilentRenew: false,
      // The access token is for lockd (its audience), not for the IdP's userinfo; the ID token
      // names the person.
      loadUserInfo: false,
      monitorSession: false,
    });
  }

  /** The localStorage key of the signed-in user, to hear other tabs change it. */
  get storageKey(): string {
    return `${STORE_PREFIX}user:${this.settings.issuer}:${this.settings.clientId}`;
  }

  /** Off to the IdP's sign-in page; back at `returnTo` after the callback. */
  async signIn(returnTo: string): Promise<void> {
    await this.manager.signinRedirect({ state: { returnTo: safeReturnTo(returnTo) } });
  }

  /** Completes the sign-in the IdP redirected back with (`/auth/callback?code=…`). */
  async completeSignIn(url: string): Promise<{ user: SignedInUser; returnTo: string }> {
    const user = await this.manager.signinRedirectCallback(url);
    const state = user.state as { returnTo?: unknown } | undefined;
    return { user: signedIn(user), returnTo: safeReturnTo(state?.returnTo) };
  }

  /** The user the browser's tabs share, or null. */
  async current(): Promise<SignedInUser | null> {
    const user = await this.manager.getUser();
    return user ? signedIn(user) : null;
  }

  /** A user from a `storage` event's new value (another tab renewed or signed in). */
  static fromStorage(value: string | null): SignedInUser | null {
    if (!value) return null;
    try {
      return signedIn(User.fromStorageString(value));
    } catch {
      return null;
    }
  }

  /**
   * A fresh access token. `inUse` is the one this tab has: if the shared store holds another that
   * is still fresh (another tab renewed a moment ago), that one is taken as it is; else the
   * refresh token is used. Concurrent calls in this tab share one attempt.
   */
  renew(inUse: string | null): Promise<SignedInUser> {
    this.renewing ??= oneTabAtATime(async () => {
      const stored = await this.manager.getUser();
      if (stored && stored.access_token !== inUse && isFresh(tokenTimes(stored.access_token, stored.expires_at), Date.now())) {
        return signedIn(stored);
      }
      if (!stored?.refresh_token) throw new RenewRefused("There is no refresh token to renew the sign-in with.");
      try {
        const user = await this.manager.signinSilent();
        if (!user) throw new RenewRefused("The identity provider did not renew the sign-in.");
        return signedIn(user);
      } catch (error) {
        if (error instanceof ErrorResponse) throw new RenewRefused(error.error_description ?? error.error ?? error.message);
        throw error;
      }
    }).finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  /** Signs out at the IdP too (its session ends, and with it the refresh token), then back to
   * this app's "/". The stored user is forgotten first, so every tab hears it. */
  async signOut(): Promise<void> {
    await this.manager.signoutRedirect();
  }

  /** Forgets the user in this browser only (the IdP's session stays). */
  async forget(): Promise<void> {
    await this.manager.removeUser();
  }
}
