// How this cluster signs people in (`GET /auth/config`, no token needed): with the
// organisation's identity provider (OpenID Connect), with the demo picker (dev mode), both or
// neither. Pure parts (parsing, the choice of screen, the way back after a sign-in) are here so
// they are unit-tested; the request is @lockd/client's (`api.authConfig`); the browser's side of
// OIDC is `src/oidc.ts`.

import { ApiError, type LockdApi } from "@lockd/client";

export interface OidcSettings {
  /** The issuer; its discovery document is at `{issuer}/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /** Space-separated scopes to ask for. */
  scopes: string;
}

export interface AuthConfig {
  /** `POST /auth/dev-login` is served. */
  devLogin: boolean;
  oidc: OidcSettings | null;
}

/** What a node without `/auth/config` (an older one: 404) does: dev sign-in, no IdP. */
export const LEGACY_AUTH_CONFIG: AuthConfig = { devLogin: true, oidc: null };

export const DEFAULT_SCOPES = "openid profile email offline_access";

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const nonEmpty = (value: unknown): value is string => typeof value === "string" && value.trim() !== "";

/** The node's answer as the app uses it. Throws on an answer that says nothing usable (so the
 * sign-in screen says the server answered something else, instead of showing no way in). */
export function parseAuthConfig(payload: unknown): AuthConfig {
  if (!isRecord(payload)) throw new Error("The server's sign-in settings are not readable.");
  const devLogin = payload.devLogin === true;
  const oidc = payload.oidc;
  if (oidc === null || oidc === undefined) return { devLogin, oidc: null };
  if (!isRecord(oidc) || !nonEmpty(oidc.issuer) || !nonEmpty(oidc.clientId)) {
    throw new Error("The server's identity provider settings are incomplete (issuer and client id are needed).");
  }
  let issuer: URL;
  try {
    issuer = new URL(oidc.issuer);
  } catch {
    throw new Error(`The server names an identity provider that is not a URL: ${oidc.issuer}`);
  }
  if (issuer.protocol !== "https:" && issuer.protocol !== "http:") {
    throw new Error(`The server names an identity provider that is not a web address: ${oidc.issuer}`);
  }
  return {
    devLogin,
    oidc: {
      // As the IdP spells it: its tokens' `iss` must match exactly, so no slash is added or cut.
      issuer: oidc.issuer,
      clientId: oidc.clientId,
      scopes: nonEmpty(oidc.scopes) ? oidc.scopes.trim().split(/\s+/).join(" ") : DEFAULT_SCOPES,
    },
  };
}

/** Reads `/auth/config` through `api` (the app's `lockd.api`); a node that does not have it
 * (404) signs in as before (dev login). Every failure is thrown in words for the sign-in screen. */
export async function fetchAuthConfig(api: Pick<LockdApi, "authConfig">): Promise<AuthConfig> {
  let payload: unknown;
  try {
    payload = await api.authConfig();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 404) return LEGACY_AUTH_CONFIG;
    if (error.code === "network") throw new Error("The server could not be reached. Check your connection.", { cause: error });
    if (error.code === "unreadable_answer") throw new Error("The server's sign-in settings are not readable.", { cause: error });
    throw new Error(`The server could not say how to sign in (HTTP ${error.status}).`, { cause: error });
  }
  return parseAuthConfig(payload);
}

/** What the sign-in screen offers: the IdP's button first, then the demo picker; or, with
 * neither, a plain statement that sign-in is not configured. */
export type SignInChoice = { kind: "offer"; idp: OidcSettings | null; devPicker: boolean } | { kind: "not-configured" };

export function signInChoice(config: AuthConfig): SignInChoice {
  if (!config.oidc && !config.devLogin) return { kind: "not-configured" };
  return { kind: "offer", idp: config.oidc, devPicker: config.devLogin };
}

/** The IdP's host as a person recognises it ("login.example.com"). */
export function idpHost(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

export const CALLBACK_PATH = "/auth/callback";

/** Where to go after signing in: a path of this app (`returnTo` as asked for), never another
 * site ("//evil.example", "https://…") nor the callback itself; "/" otherwise. */
export function safeReturnTo(returnTo: unknown): string {
  if (typeof returnTo !== "string" || !returnTo.startsWith("/") || returnTo.startsWith("//") || returnTo.includes("\\")) return "/";
  let url: URL;
  try {
    url = new URL(returnTo, "http://app.invalid");
  } catch {
    return "/";
  }
  if (url.origin !== "http://app.invalid" || url.pathname === CALLBACK_PATH) return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}
