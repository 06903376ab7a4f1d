// "Notify me and take it when free" notifies: the person who queued may be in another tab when
// the lock comes to them, so they are told in the tab's title, by a system notification (they
// allowed it when they clicked "Notify me") and by a notice in the page that waits for them.

import { expect, test } from "@playwright/test";
import { clusterForFile, lookAway, lookBack, notificationsOf, openAppointment, recordNotifications, shot, signedIn } from "./app";

const cluster = clusterForFile();

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

  await test.step("Bob looks elsewhere; Alice is done: Bob is told three ways", async () => {
    await lookAway(bob.page);
    await alice.page.getByRole("button", { name: "Done" }).click();
    await expect(bob.page).toHaveTitle(`● Your turn · ${title}`);
    await expect.poll(() => notificationsOf(bob.page)).toEqual([expect.objectContaining({ title: "Your turn: Annual check-up", closed: false })]);
    const toast = bob.page.getByTestId("handover-toast");
    await expect(toast.getByRole("alert")).toContainText("Your turn: the lock is yours");
    await expect(alice.page.getByTestId("lock-holder")).toContainText("Bob Okafor");
  });

  await test.step("back in the tab: the badge and the notification go, the notice stays until he acts", async () => {
    await lookBack(bob.page);
    await expect(bob.page).toHaveTitle(title);
    await expect.poll(async () => (await notificationsOf(bob.page)).map((n) => n.closed)).toEqual([true]);
    const toast = bob.page.getByTestId("handover-toast");
    await expect(toast).toBeVisible();
    await shot(bob.page, "14-your-turn");
    await toast.getByRole("button", { name: "Start editing" }).click();
    await expect(toast).toBeHidden();
    await expect(bob.page.getByLabel("Title")).toBeFocused();
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("Locked: Bob Okafor is editing");
  });
});
