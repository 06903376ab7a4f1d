// The test identity provider (`e2e/idp/server.mjs`, the real oidc-provider) for the browser
// tests: started and stopped by a spec, with the lockd flags that trust it.

import type { Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";

export interface Idp {
  /** http://127.0.0.1:PORT, as tokens' `iss` says it. */
  issuer: string;
  /** A client_credentials access token of `test-<account>`: a JWT about `account` (alice, bob, carol). */
  token(account: string): Promise<string>;
  /** A new signing key from now on (the old ones stay published); the kids, newest first. */
  rotateKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

/** The lockd flags for this IdP, its roles as the fixture's people have them. */
export function oidcFlags(idp: Idp): string[] {
  return [
    "--oidc-issuer", idp.issuer,
    "--oidc-audience", "urn:lockd",
    "--oidc-client-id", "lockd-web",
    "--oidc-roles-claim", "realm_access.roles",
    "--oidc-admin-role", "lockd-admin",
    "--oidc-user-role", "lockd-user",
  ];
}

/** On the sign-in screen, through the IdP's own login page, back where the person started. */
export async function signInAtIdp(page: Page, account: string): Promise<void> {
  await page.getByRole("button", { name: "Sign in with your organisation" }).click();
  await page.getByLabel("Account").fill(account);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The access token the page holds (oidc-client-ts's user, shared by the tabs). */
export async function accessToken(page: Page, issuer: string): Promise<string | null> {
  return page.evaluate((key) => {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as { access_token: string }).access_token : null;
  }, `oidc.user:${issuer}:lockd-web`);
}

export async function startIdp({ accessTokenTtlSecs = 300 }: { accessTokenTtlSecs?: number } = {}): Promise<Idp> {
  const script = resolve(import.meta.dirname, "idp", "server.mjs");
  const child: ChildProcess = spawn(process.execPath, [script, "--port", "0", "--access-token-ttl-secs", String(accessTokenTtlSecs)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  const stdout = child.stdout;
  if (!stdout) throw new Error("no stdout");
  const first = await new Promise<string>((done, fail) => {
    const lines = createInterface({ input: stdout });
    const timer = setTimeout(() => fail(new Error(`the IdP did not start in 20 s:\n${stderr}`)), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      done(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the IdP exited (${code}):\n${stderr}`));
    });
  });
  const { issuer } = JSON.parse(first) as { issuer: string; port: number };
  const post = async (path: string, init: RequestInit = {}) => {
    const answer = await fetch(`${issuer}${path}`, { method: "POST", ...init });
    if (!answer.ok) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
    return answer.json() as Promise<Record<string, unknown>>;
  };
  return {
    issuer,
    async token(account) {
      const body = await post("/token", {
        headers: {
          Authorization: `Basic ${Buffer.from(`test-${account}:test-secret`).toString("base64")}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=client_credentials",
      });
      return body.access_token as string;
    },
    async rotateKeys() {
      return (await post("/test/rotate-keys")).kids as string[];
    },
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          done();
          return;
        }
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}
