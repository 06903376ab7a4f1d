import { describe, expect, it } from "vitest";
import { createLockdClient } from "@lockd/client";
import { DEFAULT_SCOPES, LEGACY_AUTH_CONFIG, fetchAuthConfig, idpHost, parseAuthConfig, safeReturnTo, signInChoice } from "./authConfig";

const oidc = { issuer: "https://login.example.com/realms/acme", clientId: "lockd-web", scopes: "openid profile email offline_access" };

describe("the node's sign-in settings", () => {
  it("reads the IdP and dev login as the node states them", () => {
    expect(parseAuthConfig({ devLogin: false, oidc })).toEqual({ devLogin: false, oidc });
    expect(parseAuthConfig({ devLogin: true, oidc: null })).toEqual({ devLogin: true, oidc: null });
    // Only a real `true` turns dev login on.
    expect(parseAuthConfig({ devLogin: "yes", oidc: null })).toEqual({ devLogin: false, oidc: null });
    expect(parseAuthConfig({ oidc })).toEqual({ devLogin: false, oidc });
  });

  it("keeps the issuer exactly as spelled (tokens' iss must match it) and tidies the scopes", () => {
    const parsed = parseAuthConfig({ devLogin: false, oidc: { issuer: "http://127.0.0.1:4000", clientId: "c", scopes: "  openid   email " } });
    expect(parsed.oidc).toEqual({ issuer: "http://127.0.0.1:4000", clientId: "c", scopes: "openid email" });
    expect(parseAuthConfig({ devLogin: false, oidc: { issuer: "https://idp.example/", clientId: "c" } }).oidc).toEqual({
      issuer: "https://idp.example/",
      clientId: "c",
      scopes: DEFAULT_SCOPES,
    });
  });

  it("refuses settings that cannot sign anyone in, saying what is wrong", () => {
    expect(() => parseAuthConfig(null)).toThrow(/not readable/);
    expect(() => parseAuthConfig([])).toThrow(/not readable/);
    expect(() => parseAuthConfig({ devLogin: true, oidc: { issuer: "", clientId: "c" } })).toThrow(/issuer and client id/);
    expect(() => parseAuthConfig({ devLogin: true, oidc: { issuer: "https://x" } })).toThrow(/issuer and client id/);
    expect(() => parseAuthConfig({ devLogin: true, oidc: { issuer: "not a url", clientId: "c" } })).toThrow(/not a URL/);
    expect(() => parseAuthConfig({ devLogin: true, oidc: { issuer: "ftp://x", clientId: "c" } })).toThrow(/not a web address/);
  });

  it("are read through @lockd/client's GET /auth/config; a node without it (404) signs in as before: dev login, no IdP", async () => {
    const asked: string[] = [];
    /** The typed call of a client whose one node answers with `answer`. */
    const api = (answer: () => Promise<Response>) =>
      createLockdClient({
        nodes: ["http://node-1"],
        fetch: ((url: string, init: RequestInit = {}) => {
          asked.push(`${init.method ?? "GET"} ${url}`);
          return answer();
        }) as typeof fetch,
      }).api;
    const answer = (status: number, body: unknown) => () => Promise.resolve(new Response(JSON.stringify(body), { status }));
    await expect(fetchAuthConfig(api(answer(200, { devLogin: false, oidc })))).resolves.toEqual({ devLogin: false, oidc });
    expect(asked).toEqual(["GET http://node-1/auth/config"]);
    await expect(fetchAuthConfig(api(answer(404, { code: "not_found" })))).resolves.toEqual(LEGACY_AUTH_CONFIG);
    await expect(fetchAuthConfig(api(() => Promise.resolve(new Response("Not Found", { status: 404 }))))).resolves.toEqual(LEGACY_AUTH_CONFIG);
    await expect(fetchAuthConfig(api(answer(500, {})))).rejects.toThrow(/HTTP 500/);
    await expect(fetchAuthConfig(api(() => Promise.reject(new TypeError("fetch failed"))))).rejects.toThrow(/could not be reached/);
    await expect(fetchAuthConfig(api(() => Promise.resolve(new Response("<html>", { status: 200 }))))).rejects.toThrow(/not readable/);
    await expect(fetchAuthConfig(api(answer(200, { devLogin: true, oidc: { issuer: "" } })))).rejects.toThrow(/issuer and client id/);
  });
});

describe("the sign-in screen", () => {
  it("offers the IdP first, the demo picker when dev login is on, both when both are", () => {
    expect(signInChoice({ devLogin: false, oidc })).toEqual({ kind: "offer", idp: oidc, devPicker: false });
    expect(signInChoice({ devLogin: true, oidc: null })).toEqual({ kind: "offer", idp: null, devPicker: true });
    expect(signInChoice({ devLogin: true, oidc })).toEqual({ kind: "offer", idp: oidc, devPicker: true });
  });

  it("says sign-in is not configured when neither is", () => {
    expect(signInChoice({ devLogin: false, oidc: null })).toEqual({ kind: "not-configured" });
  });

  it("names the IdP by its host", () => {
    expect(idpHost("https://login.example.com/realms/acme")).toBe("login.example.com");
    expect(idpHost("http://127.0.0.1:4000")).toBe("127.0.0.1:4000");
  });
});

describe("the way back after signing in", () => {
  it("returns to the page first asked for, with its query", () => {
    expect(safeReturnTo("/appointment/demo-1")).toBe("/appointment/demo-1");
    expect(safeReturnTo("/?q=dentist&day=2026-01-02")).toBe("/?q=dentist&day=2026-01-02");
  });

  it("never to another site, nor to the callback itself", () => {
    for (const bad of ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "", 42, undefined, "/auth/callback", "/auth/callback?code=x"]) {
      expect(safeReturnTo(bad)).toBe("/");
    }
  });
});
