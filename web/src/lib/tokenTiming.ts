// An identity provider's access token, as this app needs to know it: whom it names (the
// subject, and words for a person lockd refuses; who the person is for lockd, name and role, is
// the server's answer, `GET /auth/me`) and when to renew it.

/** A JWT's payload, not verified (only the server can: it holds the IdP's keys), or null when
 * `token` is not a readable JWT. */
export function jwtClaims(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "=")), (c) => c.charCodeAt(0));
    const payload: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof payload === "object" && payload !== null && !Array.isArray(payload) ? (payload as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Renewal starts this long before the token expires: a third of its life, between 2 s and a
 * minute (a 5-minute token is renewed at 4 min, a 20 s one at ~13 s), so a slow or failed
 * attempt still has time to be tried again before the server refuses the token. */
export function renewLeadMs(lifetimeMs: number | null): number {
  if (lifetimeMs === null || !Number.isFinite(lifetimeMs) || lifetimeMs <= 0) return 60_000;
  return Math.min(60_000, Math.max(2_000, lifetimeMs / 3));
}

export interface TokenTimes {
  /** When the token expires (local clock). */
  expiresAtMs: number;
  /** Its whole life (`exp - iat`), when known. */
  lifetimeMs: number | null;
}

/** The times of an access token: from its own `exp`/`iat` when it is a JWT, else from the
 * `expires_at` (seconds) the token endpoint's `expires_in` gave. The token's `exp` is on the
 * IdP's clock: the life is taken from the token, the end from our own receipt when known. */
export function tokenTimes(accessToken: string, expiresAtSecs: number | undefined): TokenTimes | null {
  const claims = jwtClaims(accessToken);
  const exp = typeof claims?.exp === "number" ? claims.exp : null;
  const iat = typeof claims?.iat === "number" ? claims.iat : null;
  const lifetimeMs = exp !== null && iat !== null && exp > iat ? (exp - iat) * 1000 : null;
  if (expiresAtSecs !== undefined && Number.isFinite(expiresAtSecs)) return { expiresAtMs: expiresAtSecs * 1000, lifetimeMs };
  if (exp !== null) return { expiresAtMs: exp * 1000, lifetimeMs };
  return null;
}

/** How long from `nowMs` until the token should be renewed (0: now). */
export function renewDelayMs(times: TokenTimes, nowMs: number): number {
  return Math.max(0, times.expiresAtMs - renewLeadMs(times.lifetimeMs) - nowMs);
}

/** Still good for a while: not yet due for renewal. */
export function isFresh(times: TokenTimes | null, nowMs: number): boolean {
  return times !== null && renewDelayMs(times, nowMs) > 0;
}
