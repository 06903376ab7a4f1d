// "Notify me and take it when free" notifies: the person who queued may be in another tab when
// the lock comes to them, so they are told in the tab's title, by a system notification (they
// allowed it when they clicked "Notify me") and by a notice in the page that waits for them.
// The lock handed over waits for them only a claim window (the lease, here 30 s, at most 60 s):
// the app confirms it only when they act, and unconfirmed it passes to the next in line.

import { expect, test, type Page } from "@playwright/test";
import { clusterForFile, lookAway, lookBack, notificationsOf, openAppointment, recordNotifications, shot, signedIn, signedInAs } from "./app";
import { devToken } from "./cluster";

const cluster = clusterForFile({ lockTtlMs: 30_000 });

/** The lock renewals (heartbeats) a page sends from now on: each one would confirm a claim. */
function heartbeatsOf(page: Page): string[] {
  const sent: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/heartbeat")) sent.push(request.url());
  });
  return sent;
}

test("the lock handed to a waiter in another tab: title badge, notification and a notice that waits", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  await recordNotifications(bob.page, cluster().url(2));
  await openAppointment(alice, "demo-1");
  await openAppointment(bob, "demo-1");
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");

  await bob.page.getByRole("button", { name: "Notify me and take it when free" }).click();
  await expect(bob.page.getByTestId("queue-position")).toContainText("#1 in line");
  expect(await bob.page.evaluate(() => Notification.permission)).toBe("granted");
  const title = await bob.page.title();
  const heartbeats = heartbeatsOf(bob.page);

  await test.step("Bob looks elsewhere; Alice is done: Bob is told three ways", async () => {
    await lookAway(bob.page);
    await alice.page.getByRole("button", { name: "Done" }).click();
    await expect(bob.page).toHaveTitle(`● Your turn · ${title}`);
    await expect
      .poll(() => notificationsOf(bob.page))
      .toEqual([expect.objectContaining({ title: "Your turn: Annual check-up", body: expect.stringContaining("within 30 seconds"), closed: false })]);
    const toast = bob.page.getByTestId("handover-toast");
    await expect(toast.getByRole("alert")).toContainText("Your turn: the lock is yours");
    await expect(toast.getByRole("alert")).toContainText(/Start editing within 0:[0-3]\d, or it passes/);
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("Your turn: the lock is yours");
    await expect(alice.page.getByTestId("lock-holder")).toHaveText(/^Handed to Bob Okafor, waiting for them to start \(0:[0-3]\d\)$/);
  });

  await test.step("back in the tab: the badge and the notification go, the notice stays until he acts", async () => {
    await lookBack(bob.page);
    await expect(bob.page).toHaveTitle(title);
    await expect.poll(async () => (await notificationsOf(bob.page)).map((n) => n.closed)).toEqual([true]);
    const toast = bob.page.getByTestId("handover-toast");
    await expect(toast).toBeVisible();
    // Moving over the form is not starting: his pointer reaches Alice, no renewal leaves his tab.
    const box = await bob.page.getByTestId("form-box").boundingBox();
    if (!box) throw new Error("no form");
    await bob.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
    await expect(alice.page.locator('[data-testid="remote-pointer"][data-user="bob"]')).toBeVisible();
    expect(heartbeats).toEqual([]);
    await expect(alice.page.getByTestId("lock-holder")).toContainText("waiting for them to start");
    await shot(bob.page, "14-your-turn");
    await toast.getByRole("button", { name: "Start editing" }).click();
    await expect(toast).toBeHidden();
    await expect(bob.page.getByLabel("Title")).toBeFocused();
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("Locked: Bob Okafor is editing");
  });
});

test("a lock handed to a waiter who does not start passes to the next in line", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const erin = await signedInAs(browser, cluster().url(3), { userId: "erin", name: "Erin Walsh", email: "erin@example.com", role: "user" });
  await recordNotifications(bob.page, cluster().url(2));
  for (const person of [alice, bob, erin]) await openAppointment(person, "demo-2");
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await bob.page.getByRole("button", { name: "Notify me and take it when free" }).click();
  await expect(bob.page.getByTestId("queue-position")).toContainText("#1 in line");
  await erin.page.getByRole("button", { name: "Notify me and take it when free" }).click();
  await expect(erin.page.getByTestId("queue-position")).toContainText("#2 in line");
  const title = await bob.page.title();
  const heartbeats = heartbeatsOf(bob.page);

  await lookAway(bob.page);
  await alice.page.getByRole("button", { name: "Done" }).click();
  await expect(bob.page).toHaveTitle(`● Your turn · ${title}`);
  await expect(erin.page.getByTestId("lock-holder")).toHaveText(/^Handed to Bob Okafor, waiting for them to start/);
  await shot(erin.page, "19-handed-waiting");

  // Bob never comes back within the window (30 s here): it lapses through the log, and Erin
  // is next.
  await expect(erin.page.getByTestId("handover-toast")).toBeVisible({ timeout: 45_000 });
  await expect(erin.page.getByTestId("lock-holder")).toHaveText("Your turn: the lock is yours");
  expect(heartbeats).toEqual([]);
  // Bob's tab stops calling him, and says what happened when he looks.
  await expect(bob.page).toHaveTitle(title);
  await expect.poll(async () => (await notificationsOf(bob.page)).map((n) => n.closed)).toEqual([true]);
  await lookBack(bob.page);
  const passed = bob.page.getByTestId("loss-dialog");
  await expect(passed).toContainText("Your turn passed");
  await expect(passed).toContainText("no one started editing within 30 seconds");
  await expect(bob.page.getByTestId("handover-toast")).toBeHidden();

  // Erin starts by typing: that confirms it.
  await erin.page.getByLabel("Notes").fill("Erin took it.");
  await expect(alice.page.getByTestId("lock-holder")).toHaveText("Locked: Erin Walsh is editing");
  await expect(erin.page.getByTestId("handover-toast")).toBeHidden();

  const token = await devToken(cluster().url(1), { userId: "carol", name: "Carol Diaz", email: "carol@example.com", role: "admin" });
  const audit = (await (await fetch(`${cluster().url(1)}/appointments/demo-2/audit`, { headers: { Authorization: `Bearer ${token}` } })).json()) as {
    records: { action: string; from: { userId: string } | null }[];
  };
  expect(audit.records.filter((r) => r.action === "unclaimed").map((r) => r.from?.userId)).toEqual(["bob"]);
});
