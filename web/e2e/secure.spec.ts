// The essential browser story against a cluster started as production runs it: HTTPS and
// mutual TLS between peers, of a CA the test makes (`e2e/tls.ts`), no dev mode and no shared
// secret; people sign in through the identity provider (`e2e/idp/server.mjs`), whose access
// token is the bearer of every request and socket. Alice (admin) edits while Bob watches on
// another node; she saves; Bob edits and Alice takes control with a reason; closing her tab
// frees the lock for him.

import { expect, test, type Browser, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { connect, type SecureClientSessionOptions } from "node:http2";
import { boxOf, browserTrusting, expectAllDisabled, expectAllEnabled, type Person } from "./app";
import { nth, startCluster, type Cluster } from "./cluster";
import { accessToken, oidcFlags, signInAtIdp, startIdp, type Idp } from "./idp";

let idp: Idp | undefined;
let cluster: Cluster | undefined;
let browser: Browser | undefined;
test.beforeAll(async ({ playwright, launchOptions }) => {
  idp = await startIdp();
  const trusted = idp;
  // A long disconnect grace: when a closed tab's lock frees at once, the tab's own release did it.
  cluster = await startCluster({ secure: true, extraArgs: oidcFlags(trusted), probeToken: () => trusted.token("alice"), disconnectGraceMs: 120_000 });
  browser = await browserTrusting(playwright.chromium, launchOptions, cluster);
});
test.afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  await idp?.stop();
});
const the = () => {
  if (!idp || !cluster || !browser) throw new Error("the IdP, the cluster or the browser did not start");
  return { idp, cluster, browser };
};

/** The subprotocols each of the page's WebSockets asked for, by URL, as Chromium sent them
 * (the handshake's `Sec-WebSocket-Protocol`, which carries the bearer). */
async function socketProtocols(page: Page): Promise<{ url: string; protocols: string }[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map<string, string>();
  const seen: { url: string; protocols: string }[] = [];
  cdp.on("Network.webSocketCreated", ({ requestId, url }) => urls.set(requestId, url));
  cdp.on("Network.webSocketWillSendHandshakeRequest", ({ requestId, request }) => {
    const header = Object.entries(request.headers).find(([name]) => name.toLowerCase() === "sec-websocket-protocol");
    seen.push({ url: urls.get(requestId) ?? "", protocols: header?.[1] ?? "" });
  });
  return seen;
}

/** The `grpc-status` the peer listener at `origin` answers a call to no service with, over
 * HTTP/2 and TLS with `tls` (the CA, and a client certificate or none). */
function grpcStatus(origin: string, tls: SecureClientSessionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = connect(origin, tls);
    const fail = (error: Error) => {
      session.destroy();
      reject(error);
    };
    session.on("error", fail);
    session.setTimeout(5_000, () => fail(new Error("the peer port did not answer in 5 s")));
    const call = session.request({ ":method": "POST", ":path": "/lockd.NoSuchService/Call", "content-type": "application/grpc", te: "trailers" });
    call.on("error", fail);
    call.on("close", () => session.close());
    const statusOf = (headers: Record<string, unknown>) => {
      const status = headers["grpc-status"];
      if (typeof status === "string" || typeof status === "number") resolve(String(status));
    };
    call.on("response", statusOf);
    call.on("trailers", statusOf);
    call.on("end", () => fail(new Error("no grpc-status")));
    call.resume();
    call.end();
  });
}

/** Signed in through the IdP's page on node `node`, landing on `path`. */
async function signInThroughIdp(browser: Browser, baseURL: string, account: string, path: string): Promise<Page> {
  const page = await (await browser.newContext({ baseURL })).newPage();
  await page.goto(path);
  await signInAtIdp(page, account);
  await expect(page).toHaveURL(new RegExp(`${path.replace(/\//g, "\\/")}$`));
  return page;
}

test("over HTTPS with peer mutual TLS, signed in through the identity provider: edit, watch, take over, close", async () => {
  const { idp, cluster, browser } = the();
  const [node1, node2] = [cluster.url(1), cluster.url(2)];

  await test.step("the nodes serve HTTPS with a certificate of the test's CA naming 127.0.0.1 and localhost", async () => {
    expect(node1).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // Node checks the chain against the test's CA alone, and the name.
    expect((await cluster.fetch(`${node1}/readyz`)).ok).toBe(true);
    expect((await cluster.fetch(`${node1}/readyz`, { servername: "localhost" })).ok).toBe(true);
    await expect(cluster.fetch(`${node1}/readyz`, { servername: "lockd.example.com" })).rejects.toThrow(/altnames|does not match/i);
    const config = (await (await cluster.fetch(`${node2}/auth/config`)).json()) as { devLogin: boolean; oidc: { issuer: string } | null };
    expect(config).toMatchObject({ devLogin: false, oidc: { issuer: idp.issuer } });
  });

  await test.step("the peer port takes only a client with a certificate of the CA (mutual TLS)", async () => {
    const pki = cluster.pki;
    const peer = pki?.peers.get(2);
    if (!pki || !peer) throw new Error("no certificates");
    const peerPort = `https://${nth(cluster.peerAddrs, 0)}`;
    const withCert = { ca: pki.caPem, cert: readFileSync(peer.certFile), key: readFileSync(peer.keyFile) };
    // gRPC over HTTP/2: an answer (12, unimplemented: there is no such service) means the
    // handshake let node 2's certificate in; without one, TLS 1.3's alert 116.
    expect(await grpcStatus(peerPort, withCert)).toBe("12");
    await expect(grpcStatus(peerPort, { ca: pki.caPem })).rejects.toThrow(/certificate required/);
  });

  let alice: Person;
  let aliceSockets: { url: string; protocols: string }[] = [];
  await test.step("Alice, asking for an appointment, signs in on the IdP's page and lands on it over HTTPS", async () => {
    const page = await (await browser.newContext({ baseURL: node1 })).newPage();
    aliceSockets = await socketProtocols(page);
    await page.goto("/appointment/demo-1");
    await signInAtIdp(page, "alice");
    await expect(page).toHaveURL(/\/appointment\/demo-1$/);
    expect(page.url()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/appointment\/demo-1$/);
    // The header says who the server takes her token for (GET /auth/me): her name, an admin.
    await expect(page.getByTestId("current-user")).toContainText("Alice Admin");
    await expect(page.getByTestId("current-user")).toContainText("Admin");
    await expect(page.getByTestId("connection")).toContainText("Live");
    alice = { name: "Alice Admin", page };
  });

  await test.step("no dev login here, and the socket carries the IdP's access token", async () => {
    const devLogin = await alice.page.evaluate(async () => {
      const answer = await fetch("/auth/dev-login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userId: "mallory", name: "Mallory", email: "m@example.com", role: "admin" }),
      });
      return answer.status;
    });
    expect(devLogin).toBe(404);
    const token = await accessToken(alice.page, idp.issuer);
    if (!token) throw new Error("no IdP token in the page");
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: idp.issuer, sub: "alice", aud: "urn:lockd" });
    const room = aliceSockets.filter((s) => s.url.includes("/appointments/demo-1/updates"));
    expect(room.length).toBeGreaterThan(0);
    for (const socket of room) {
      expect(socket.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\//);
      expect(socket.protocols.split(/,\s*/)).toEqual(["lockd", `bearer.${token}`]);
    }
  });

  await test.step("she takes the lock and types", async () => {
    await alice.page.getByRole("button", { name: "Start editing" }).click();
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await expect(alice.page.getByTestId("countdown")).toContainText(/[45]:\d\d/);
    await expectAllEnabled(alice.page);
    await alice.page.getByLabel("Notes").fill("Typed over HTTPS.");
  });

  let bob: Person;
  await test.step("Bob, signed in through the IdP on another node, sees her editing live and cannot type", async () => {
    const page = await signInThroughIdp(browser, node2, "bob", "/appointment/demo-1");
    bob = { name: "Bob User", page };
    expect(page.url()).toMatch(/^https:\/\//);
    await expect(page.getByTestId("current-user")).toContainText("Bob User");
    await expect(page.getByTestId("current-user")).toContainText("User");
    await expect(page.getByTestId("connection")).toContainText("Live · node 2");
    await expect(page.getByTestId("lock-holder")).toHaveText("Locked: Alice Admin is editing");
    await expect(page.getByTestId("lock-panel")).toContainText("alice@example.com");
    await expect(page.getByTestId("countdown")).toContainText(/[45]:\d\d/);
    await expectAllDisabled(page);
    // A user: no way to take the lock from her.
    await expect(page.getByRole("button", { name: "Request Control" })).toHaveCount(0);
    // Presence crosses the nodes (over the peers' mutual TLS): each sees both tabs.
    for (const p of [alice, bob]) await expect(p.page.getByTestId("viewer")).toHaveCount(2);
  });

  await test.step("Bob sees Alice's pointer follow hers", async () => {
    const box = await boxOf(alice.page.getByTestId("form-box"));
    await alice.page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3, { steps: 6 });
    const pointer = bob.page.locator('[data-testid="remote-pointer"][data-user="alice"]');
    await expect(pointer).toBeVisible();
    await expect(pointer).toContainText("Alice Admin");
    const first = await boxOf(pointer);
    await alice.page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.7, { steps: 6 });
    await expect.poll(async () => (await boxOf(pointer)).x - first.x).toBeGreaterThan(50);
  });

  await test.step("Alice saves; Bob sees the saved text; she is done", async () => {
    await alice.page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(alice.page.getByTestId("version")).toHaveText("version 2");
    await expect(bob.page.getByLabel("Notes")).toHaveValue("Typed over HTTPS.");
    await alice.page.getByRole("button", { name: "Done" }).click();
    await expect(bob.page.getByTestId("lock-panel")).toContainText("No one is editing");
  });

  await test.step("Bob edits; Alice, an admin, takes control with a reason; his text is kept as a draft", async () => {
    await bob.page.getByRole("button", { name: "Start editing" }).click();
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await bob.page.getByLabel("Location").fill("Room 4, by the lift");
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("Locked: Bob User is editing");
    await alice.page.getByRole("button", { name: "Request Control" }).click();
    const dialog = alice.page.getByTestId("takeover-dialog");
    await expect(dialog).toContainText("Bob User is editing it now");
    await dialog.getByLabel("Reason (optional)").fill("the client called about the room");
    await dialog.getByRole("button", { name: "Take control" }).click();
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("You are editing");

    const notice = bob.page.getByTestId("loss-dialog");
    await expect(notice).toContainText("Alice Admin took control");
    await expect(notice).toContainText("the client called about the room");
    await expect(notice.getByTestId("draft-status")).toHaveText(/kept as a draft/);
    await notice.getByRole("button", { name: "OK" }).click();
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Admin is editing");
    await expectAllDisabled(bob.page);
  });

  await test.step("closing Alice's tab releases her lock for Bob at once", async () => {
    await alice.page.close();
    // The server would drop it only after 120 s (the grace): this is the tab's own release.
    await expect(bob.page.getByTestId("lock-panel")).toContainText("No one is editing", { timeout: 10_000 });
    await bob.page.getByRole("button", { name: "Start editing" }).click();
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("You are editing");
  });
});
