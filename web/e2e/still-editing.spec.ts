// "Still editing?": a minute before the lease lapses the holder is asked, and keeping the
// lock renews it. A cluster with a 70 s lease, so the prompt comes after 10 s of idling.

import { expect, test } from "@playwright/test";
import { clusterForFile, openAppointment, shot, signedIn } from "./app";

const cluster = clusterForFile({ lockTtlMs: 70_000 });

test("the holder is asked before the lease lapses, and keeping it renews the lease", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(2), "Alice Martin");
  await openAppointment(alice, "demo-2");
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  const countdown = alice.page.getByTestId("countdown");
  await expect(countdown).toContainText(/1:[01]\d/);
  const prompt = alice.page.getByTestId("still-editing-dialog");
  await expect(prompt).toBeHidden();
  // Idle: no input, no pointer over the form.
  await expect(prompt).toBeVisible({ timeout: 30_000 });
  await expect(prompt).toContainText(/lapses in 0:\d\d/);
  await shot(alice.page, "09-still-editing");
  // Keyboard: focus starts on "Keep editing", so Enter keeps the lock.
  await expect(prompt.getByRole("button", { name: "Keep editing" })).toBeFocused();
  await alice.page.keyboard.press("Enter");
  await expect(prompt).toBeHidden();
  await expect(countdown).toContainText(/1:[01]\d/);
  await expect(alice.page.getByTestId("lock-holder")).toHaveText("You are editing");
});
