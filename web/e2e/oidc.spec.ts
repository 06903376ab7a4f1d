// Signing in with the organisation's identity provider: the real oidc-provider
// (`e2e/idp/server.mjs`) and a 3-node cluster that trusts only it (no dev mode). People sign in
// on the IdP's own page; a 10 s access token is renewed with the refresh token while Alice edits,
// the IdP's signing key is replaced meanwhile, and the socket the server closes for its old
// token comes back with the new one, her typed text still there.

import { expect, test, type Browser, type Page, type WebSocket } from "@playwright/test";
import { startCluster, type Cluster } from "./cluster";
import { accessToken, oidcFlags, signInAtIdp, startIdp, type Idp } from "./idp";

const TOKEN_TTL_SECS = 10;

let idp: Idp | undefined;
let cluster: Cluster | undefined;
test.beforeAll(async () => {
  idp = await startIdp({ accessTokenTtlSecs: TOKEN_TTL_SECS });
  const trusted = idp;
  cluster = await startCluster({ dev: false, extraArgs: oidcFlags(trusted), probeToken: () => trusted.token("alice") });
});
test.afterAll(async () => {
  await cluster?.stop();
  await idp?.stop();
});
const the = () => {
  if (!idp || !cluster) throw new Error("the IdP or the cluster did not start");
  return { idp, cluster };
};

const kidOf = (jwt: string | null) => (jwt ? (JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString()) as { kid: string }).kid : null);

async function newPage(browser: Browser, baseURL: string): Promise<Page> {
  return (await browser.newContext({ baseURL })).newPage();
}

test("sign in at the identity provider, renew while editing, keys rotated, sign out; no role, no access", async ({ browser }) => {
  const { idp, cluster } = the();
  const alice = await newPage(browser, cluster.url(1));
  const roomSockets: WebSocket[] = [];
  alice.on("websocket", (socket) => {
    if (socket.url().includes("/appointments/demo-1/updates")) roomSockets.push(socket);
  });

  await test.step("Alice signs in on the IdP's page: the app names the IdP and offers no demo picker", async () => {
    await alice.goto("/");
    await expect(alice.getByTestId("idp-host")).toHaveText(`with ${new URL(idp.issuer).host}`);
    await expect(alice.getByRole("list", { name: "Demo users" })).toHaveCount(0);
    await signInAtIdp(alice, "alice");
    await expect(alice).toHaveURL(/\/$/);
    await expect(alice.getByTestId("current-user")).toContainText("Alice Admin");
    await expect(alice.getByTestId("current-user")).toContainText("Admin");
    await expect(alice.getByTestId("row-demo-1")).toBeVisible();
    // Admins (the lockd-admin role, as the server reads it) see the takeovers.
    await expect(alice.getByRole("link", { name: "Recent takeovers" })).toBeVisible();
  });

  await test.step("she opens an appointment and takes the lock", async () => {
    await alice.getByTestId("row-demo-1").getByRole("link").first().click();
    await expect(alice.getByTestId("connection")).toContainText("Live");
    await alice.getByRole("button", { name: "Start editing" }).click();
    await expect(alice.getByTestId("lock-holder")).toHaveText("You are editing");
  });

  const firstToken = await accessToken(alice, idp.issuer);
  const [newKid, oldKid] = await idp.rotateKeys();
  expect(kidOf(firstToken)).toBe(oldKid);

  const bob = await newPage(browser, cluster.url(2));
  await test.step("Bob, asking for the appointment, signs in (a token under the new key) and lands on it", async () => {
    await bob.goto("/appointment/demo-1");
    await signInAtIdp(bob, "bob");
    await expect(bob).toHaveURL(/\/appointment\/demo-1$/);
    await expect(bob.getByTestId("current-user")).toContainText("Bob User");
    expect(kidOf(await accessToken(bob, idp.issuer))).toBe(newKid);
    await expect(bob.getByTestId("lock-holder")).toHaveText("Locked: Alice Admin is editing");
    await expect(bob.getByTestId("lock-panel")).toContainText("alice@example.com");
  });

  await test.step("Alice's token is renewed silently (under the new key) and her save goes through", async () => {
    await expect.poll(() => accessToken(alice, idp.issuer), { timeout: TOKEN_TTL_SECS * 1000 }).not.toBe(firstToken);
    expect(kidOf(await accessToken(alice, idp.issuer))).toBe(newKid);
    await alice.getByLabel("Notes").fill("Renewed, then saved.");
    await alice.getByRole("button", { name: "Save", exact: true }).click();
    await expect(alice.getByTestId("version")).toHaveText("version 2");
    await expect(bob.getByLabel("Notes")).toHaveValue("Renewed, then saved.");
    await expect(alice.getByTestId("connection")).toContainText("Live");
  });

  await test.step("the server closes her socket for its first token's age: it comes back with the new one, her typing kept", async () => {
    await alice.getByLabel("Notes").fill("Typed while the socket changes token.");
    // The first room socket lives until its token's expiry and the server's 30 s leeway.
    await expect.poll(() => roomSockets.length, { timeout: (TOKEN_TTL_SECS + 40) * 1000 }).toBeGreaterThan(1);
    await expect(alice.getByTestId("connection")).toContainText("Live");
    await expect(alice.getByTestId("lock-holder")).toHaveText("You are editing");
    await expect(alice.getByLabel("Notes")).toHaveValue("Typed while the socket changes token.");
    await alice.getByRole("button", { name: "Save", exact: true }).click();
    await expect(alice.getByTestId("version")).toHaveText("version 3");
    await expect(bob.getByLabel("Notes")).toHaveValue("Typed while the socket changes token.");
  });

  await test.step("signing out ends the IdP session and returns to the sign-in screen; the lock is freed", async () => {
    await alice.getByRole("button", { name: "Sign out" }).click();
    await expect(alice.getByRole("button", { name: "Sign in with your organisation" })).toBeVisible();
    await expect(alice).toHaveURL(/\/$/);
    expect(await accessToken(alice, idp.issuer)).toBeNull();
    await expect(bob.getByRole("button", { name: "Start editing" })).toBeVisible();
    // The IdP asks again: its session ended too.
    await alice.getByRole("button", { name: "Sign in with your organisation" }).click();
    await expect(alice.getByLabel("Account")).toBeVisible();
  });

  await test.step("Carol, without a lockd role, is told she has no access, and can sign out", async () => {
    const carol = await newPage(browser, cluster.url(3));
    await carol.goto("/");
    await signInAtIdp(carol, "carol");
    await expect(carol.getByRole("heading", { name: "Your account has no access to lockd" })).toBeVisible();
    await expect(carol.getByTestId("no-access")).toContainText("Carol Outsider");
    await carol.getByRole("button", { name: "Sign out" }).click();
    await expect(carol.getByRole("button", { name: "Sign in with your organisation" })).toBeVisible();
  });
});
