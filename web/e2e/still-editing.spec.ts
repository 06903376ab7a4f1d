// Renewal and the "Still editing?" prompt follow the lease: on a cluster with a 30 s lease an
// active typist keeps the lock and is never asked; an idle holder is asked a quarter of the
// lease before it lapses (at most a minute), and the lapse says how long the lease was.

import { expect, test } from "@playwright/test";
import { clusterForFile, openAppointment, shot, signedIn } from "./app";

const cluster = clusterForFile({ lockTtlMs: 30_000 });

test("a typist keeps a 30 s lease; idle, the holder is asked, keeps it, and is told when it lapses", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(2), "Alice Martin");
  await openAppointment(alice, "demo-2");
  const page = alice.page;
  await page.getByRole("button", { name: "Start editing" }).click();
  await expect(page.getByTestId("lock-holder")).toHaveText("You are editing");
  const prompt = page.getByTestId("still-editing-dialog");
  const notes = page.getByLabel("Notes");
  await notes.fill("");

  await test.step("typing for 40 s: the lease is renewed and the prompt never opens", async () => {
    // Eight bursts of five key presses a second apart: longer than the lease.
    for (let burst = 0; burst < 8; burst++) {
      await notes.pressSequentially("words", { delay: 1_000 });
      await expect(prompt).toBeHidden();
      await expect(page.getByTestId("lock-holder")).toHaveText("You are editing");
    }
    await expect(notes).toHaveValue("words".repeat(8));
    await expect(page.getByTestId("loss-dialog")).toBeHidden();
  });

  await test.step("idle: asked before the lease lapses; Enter keeps it", async () => {
    // A quarter of the lease (7.5 s) before it lapses, so about 22 s after the last renewal.
    await expect(prompt).toBeVisible({ timeout: 30_000 });
    await expect(prompt).toContainText(/lapses in 0:0\d/);
    await shot(page, "09-still-editing");
    // Keyboard: focus starts on "Keep editing", so Enter keeps the lock.
    await expect(prompt.getByRole("button", { name: "Keep editing" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(prompt).toBeHidden();
    await expect(page.getByTestId("countdown")).toContainText(/0:[23]\d/);
    await expect(page.getByTestId("lock-holder")).toHaveText("You are editing");
  });

  await test.step("idle past the lease: the lapse names the real duration", async () => {
    await expect(prompt).toBeVisible({ timeout: 30_000 });
    const lapsed = page.getByTestId("loss-dialog");
    await expect(lapsed).toContainText("Your lock lapsed", { timeout: 20_000 });
    await expect(lapsed).toContainText("no activity for 30 seconds");
    await expect(lapsed.getByTestId("draft-status")).toHaveText(/kept as a draft/);
  });
});
