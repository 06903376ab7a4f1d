import { describe, expect, it } from "vitest";
import { isFresh, jwtClaims, renewDelayMs, renewLeadMs, tokenTimes } from "./tokenTiming";

const base64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const b64url = (value: object) => base64url(JSON.stringify(value));
const jwt = (payload: object) => `${b64url({ alg: "RS256", typ: "at+jwt", kid: "k1" })}.${b64url(payload)}.c2ln`;

describe("an access token's claims", () => {
  it("are read from a JWT, UTF-8 and base64url included", () => {
    const claims = { sub: "alice", name: "Zoë Ångström ✓", exp: 1_000_020, iat: 1_000_000, realm_access: { roles: ["lockd-user"] } };
    expect(jwtClaims(jwt(claims))).toEqual(claims);
  });

  it("are null for what is not a JWT", () => {
    expect(jwtClaims("opaque-token")).toBeNull();
    expect(jwtClaims("a.%%%.c")).toBeNull();
    expect(jwtClaims(`x.${base64url("[1]")}.y`)).toBeNull();
  });
});

describe("renewal", () => {
  it("starts a third of the token's life before it ends, between 2 s and a minute ahead", () => {
    expect(renewLeadMs(20_000)).toBeCloseTo(6_667, 0);
    expect(renewLeadMs(300_000)).toBe(60_000);
    expect(renewLeadMs(3_600_000)).toBe(60_000);
    expect(renewLeadMs(3_000)).toBe(2_000);
    expect(renewLeadMs(null)).toBe(60_000);
  });

  it("of a 20 s token received now is due in ~13 s; of a 5-minute one in 4 minutes", () => {
    const now = 1_000_000_000;
    const short = tokenTimes(jwt({ iat: 1, exp: 21 }), (now + 20_000) / 1000);
    expect(short).toEqual({ expiresAtMs: now + 20_000, lifetimeMs: 20_000 });
    if (!short) throw new Error("no times");
    expect(renewDelayMs(short, now)).toBeCloseTo(13_333, 0);
    const long = tokenTimes(jwt({ iat: 1, exp: 301 }), (now + 300_000) / 1000);
    if (!long) throw new Error("no times");
    expect(renewDelayMs(long, now)).toBe(240_000);
    // Overdue: now.
    expect(renewDelayMs(long, now + 290_000)).toBe(0);
  });

  it("takes the end from the token endpoint's expires_in when known (our clock), else from exp", () => {
    expect(tokenTimes(jwt({ iat: 100, exp: 400 }), undefined)).toEqual({ expiresAtMs: 400_000, lifetimeMs: 300_000 });
    expect(tokenTimes("opaque", 500)).toEqual({ expiresAtMs: 500_000, lifetimeMs: null });
    expect(tokenTimes("opaque", undefined)).toBeNull();
  });

  it("a token is fresh until it is due", () => {
    const times = { expiresAtMs: 100_000, lifetimeMs: 30_000 };
    expect(isFresh(times, 80_000)).toBe(true);
    expect(isFresh(times, 95_000)).toBe(false);
    expect(isFresh(null, 0)).toBe(false);
  });
});
