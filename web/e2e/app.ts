// Page helpers shared by the browser tests.

import { expect, test, type Browser, type BrowserType, type LaunchOptions, type Locator, type Page } from "@playwright/test";
import { join } from "node:path";
import { devToken, nth, screenshotDir, startCluster, type Cluster, type ClusterOptions } from "./cluster";

/** A cluster for the whole spec file: started before its first test, stopped after its last.
 * Call the returned function inside a test to reach it. */
export function clusterForFile(options: ClusterOptions = {}): () => Cluster {
  let cluster: Cluster | undefined;
  test.beforeAll(async () => {
    cluster = await startCluster(options);
  });
  test.afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error("the cluster did not start");
    return cluster;
  };
}

/**
 * A Chromium for a `secure` cluster: launched (with the config's own options) with the pin
 * `--ignore-certificate-errors-spki-list` of the key the nodes serve HTTPS with. Chosen over a
 * context's `ignoreHTTPSErrors`, which takes any certificate at all, from any server: the pin
 * takes only this run's key, so a node serving another certificate (or none) still fails the
 * test. Chromium's trust store itself cannot be given the run's CA without NSS's tools, and a
 * pinned key is accepted whatever its chain and names say; those are checked by Node instead,
 * against the CA alone (`cluster.fetch`, `e2e/tls.ts`). A launch flag, so this browser is the
 * spec's own, not the shared `browser` fixture; close it after.
 */
export async function browserTrusting(browserType: BrowserType, launchOptions: LaunchOptions, cluster: Cluster): Promise<Browser> {
  if (!cluster.pki) throw new Error("the cluster serves plain HTTP: no certificate to trust");
  return browserType.launch({
    ...launchOptions,
    args: [...(launchOptions.args ?? []), `--ignore-certificate-errors-spki-list=${cluster.pki.httpsSpkiPin}`],
  });
}

/** The element's box on the page; it must be rendered. */
export async function boxOf(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`${locator.toString()} is not rendered`);
  return box;
}

export interface Person {
  name: string;
  page: Page;
}

/** A phone's viewport (an iPhone 14's CSS pixels). */
export const PHONE = { width: 390, height: 844 };

/** A fresh browser context (its own tab storage) signed in as `name` on the node at `url`. */
export async function signedIn(browser: Browser, url: string, name: string, viewport?: { width: number; height: number }): Promise<Person> {
  const context = await browser.newContext({ baseURL: url, ...(viewport ? { viewport } : {}) });
  const page = await context.newPage();
  await page.goto("/");
  await page.getByRole("button", { name: new RegExp(name) }).click();
  await expect(page.getByTestId("current-user")).toContainText(name);
  return { name, page };
}

/** Signed in as someone the demo picker does not offer (a dev-mode token for any profile). */
export async function signedInAs(browser: Browser, url: string, profile: { userId: string; name: string; email: string; role: "user" | "admin" }): Promise<Person> {
  const token = await devToken(url, profile);
  const context = await browser.newContext({ baseURL: url });
  // The app keeps its sign-in in the tab's sessionStorage (src/api/session.ts).
  await context.addInitScript((auth) => sessionStorage.setItem("lockd.auth", auth), JSON.stringify({ token, profile }));
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByTestId("current-user")).toBeVisible();
  return { name: profile.name, page };
}

/** The latest record of an appointment's audit trail, read as an admin through the node at `url`. */
export async function lastAuditRecord(url: string, appointmentId: string): Promise<{ action: string; by?: { userId: string } | null; from?: { userId: string } | null }> {
  const token = await devToken(url, { userId: "carol", name: "Carol Diaz", email: "carol@example.com", role: "admin" });
  const answer = await fetch(`${url}/appointments/${appointmentId}/audit`, { headers: { Authorization: `Bearer ${token}` } });
  const audit = (await answer.json()) as { records: { action: string; by?: { userId: string } | null; from?: { userId: string } | null }[] };
  return nth(audit.records, audit.records.length - 1);
}

export async function openAppointment(person: Person, id: string): Promise<void> {
  await person.page.goto(`/appointment/${id}`);
  await expect(person.page.getByTestId("lock-panel")).toBeVisible();
  await expect(person.page.getByTestId("connection")).toContainText("Live");
}

export const inputs = (page: Page) => page.getByTestId("form-box").locator("input, textarea");

export async function expectAllDisabled(page: Page): Promise<void> {
  const fields = inputs(page);
  await expect(fields).toHaveCount(6);
  for (const field of await fields.all()) await expect(field).toBeDisabled();
}

export async function expectAllEnabled(page: Page): Promise<void> {
  for (const field of await inputs(page).all()) await expect(field).toBeEnabled();
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`) });
}

/**
 * The scene both merge specs start from: Alice changes only Notes and Carol takes control, so
 * Alice's text becomes her draft of version 1; then Carol changes only Location and saves
 * version 2, which Alice's screen shows.
 */
export async function aliceDraftsNotesThenCarolMovesLocation(alice: Person, carol: Person): Promise<void> {
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await alice.page.getByLabel("Notes").fill("Alice: fasting since midnight.");
  await carol.page.getByRole("button", { name: "Request Control" }).click();
  await carol.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click();
  await expect(alice.page.getByTestId("loss-dialog").getByTestId("draft-status")).toHaveText(/kept as a draft/);
  await alice.page.getByTestId("loss-dialog").getByRole("button", { name: "OK" }).click();

  // Carol changes only Location and saves version 2.
  await carol.page.getByLabel("Location").fill("Room 12, second floor");
  await carol.page.getByRole("button", { name: "Done" }).click();
  await expect(alice.page.getByLabel("Location")).toHaveValue("Room 12, second floor");
}

/** The system notifications a page shows, as the test sees them: the page's Notification is
 * the browser's own, wrapped to record each one and whether it was closed. The person's
 * permission is granted for the page's origin, as if they had allowed it when asked. */
export async function recordNotifications(page: Page, origin: string): Promise<void> {
  await page.context().grantPermissions(["notifications"], { origin });
  await page.addInitScript(() => {
    const Real = window.Notification;
    const shown: { title: string; body: string; closed: boolean }[] = [];
    class Recorded extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        const entry = { title, body: options?.body ?? "", closed: false };
        shown.push(entry);
        const close = this.close.bind(this);
        this.close = () => {
          entry.closed = true;
          close();
        };
      }
      static override get permission(): NotificationPermission {
        return Real.permission;
      }
      static override requestPermission(): Promise<NotificationPermission> {
        return Real.requestPermission();
      }
    }
    Object.assign(window, { Notification: Recorded, lockdNotifications: shown });
  });
}

export async function notificationsOf(page: Page): Promise<{ title: string; body: string; closed: boolean }[]> {
  return page.evaluate(() => (window as unknown as { lockdNotifications: { title: string; body: string; closed: boolean }[] }).lockdNotifications);
}

/**
 * The person looks at another tab or window. Headless Chromium keeps every page visible and
 * focused whatever is in front, so this says what a browser says to a background tab: the page
 * is hidden and has no focus (`visibilitychange`). `lookBack` undoes it.
 */
export async function lookAway(page: Page): Promise<void> {
  await page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    Object.defineProperty(document, "hasFocus", { configurable: true, value: () => false });
    document.dispatchEvent(new Event("visibilitychange"));
  });
}

export async function lookBack(page: Page): Promise<void> {
  await page.evaluate(() => {
    const own = document as unknown as Record<string, unknown>;
    delete own.visibilityState;
    delete own.hidden;
    delete own.hasFocus;
    document.dispatchEvent(new Event("visibilitychange"));
  });
}
