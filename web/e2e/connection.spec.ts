// The connection, told honestly: a tab whose network goes says so within seconds (never
// "Live" on a dead socket), and when it is back the loss of the lock meanwhile is explained
// as what it was, the typed text kept as a draft.

import { expect, test } from "@playwright/test";
import { clusterForFile, openAppointment, signedIn } from "./app";

const cluster = clusterForFile();

test("offline: said at once; back online, the lock lost meanwhile is explained and the text kept", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  await openAppointment(alice, "demo-4");
  await openAppointment(bob, "demo-4");
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");
  await alice.page.getByLabel("Notes").fill("Typed before the network went.");

  await alice.page.context().setOffline(true);
  await expect(alice.page.getByTestId("connection")).toContainText("Offline", { timeout: 5_000 });
  await expect(alice.page.getByTestId("lock-holder")).not.toHaveText("You are editing");
  // Bob is told her connection dropped while the server waits out its grace (5 s here), and
  // then that the lock is free.
  await expect(bob.page.getByTestId("holder-away")).toHaveText("Alice Martin's connection dropped: waiting for them to come back.");
  await expect(bob.page.getByTestId("lock-panel")).toContainText("No one is editing", { timeout: 20_000 });

  await alice.page.context().setOffline(false);
  await expect(alice.page.getByTestId("connection")).toContainText("Live", { timeout: 15_000 });
  const notice = alice.page.getByTestId("loss-dialog");
  await expect(notice).toContainText("lost its connection for too long");
  await expect(notice.getByTestId("draft-status")).toHaveText(/kept as a draft/);
  await notice.getByRole("button", { name: "OK" }).click();
  await expect(alice.page.getByTestId("draft-banner")).toBeVisible();
  await expect(alice.page.getByTestId("lock-error")).toBeHidden();
});
