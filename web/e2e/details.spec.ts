// The small things a person notices: where focus goes, Ctrl/Cmd+S, validation that points at
// the field and clears once fixed, names instead of user ids, a takeover without a reason.

import { expect, test, type Page } from "@playwright/test";
import { clusterForFile, openAppointment, signedIn } from "./app";

const cluster = clusterForFile();

/** Focus is on a control, not left on the page's body. */
async function expectFocusSomewhere(page: Page): Promise<void> {
  await expect.poll(() => page.evaluate(() => document.activeElement?.tagName ?? "none")).not.toMatch(/^(BODY|none)$/);
}

test("focus, Ctrl+S and validation while editing", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const page = alice.page;
  // After sign-in focus starts at the list's heading.
  await expect(page.getByRole("heading", { name: "Appointments" })).toBeFocused();
  await openAppointment(alice, "demo-2");
  await expect(page.getByRole("heading", { level: 1 })).toBeFocused();

  await page.getByRole("button", { name: "Start editing" }).click();
  const title = page.getByLabel("Title");
  await expect(title).toBeFocused();
  // A save refused for a bad field moves focus to it; the error goes once fixed.
  await page.getByLabel("Notes").fill("Bring the referral.");
  await title.fill("");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(title).toBeFocused();
  await expect(page.getByText("A title is required.")).toBeVisible();
  await title.fill("Dental cleaning, 2nd visit");
  await expect(page.getByText("A title is required.")).toBeHidden();

  // Ctrl+S saves; focus stays on a control.
  await page.keyboard.press("Control+s");
  await expect(page.getByTestId("version")).toHaveText("version 2");
  await expectFocusSomewhere(page);
  await page.getByRole("button", { name: "Done" }).click();
  await expect(page.getByTestId("lock-panel")).toContainText("No one is editing");
  await expectFocusSomewhere(page);
});

test("a takeover without a reason is not quoted; saves are announced by name", async ({ browser }) => {
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await openAppointment(bob, "demo-3");
  await openAppointment(carol, "demo-3");
  await bob.page.getByRole("button", { name: "Start editing" }).click();
  await expect(bob.page.getByTestId("lock-holder")).toHaveText("You are editing");
  await carol.page.getByRole("button", { name: "Request Control" }).click();
  await carol.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click();
  const notice = bob.page.getByTestId("loss-dialog");
  await expect(notice).toContainText("Carol Diaz took control");
  await expect(notice).not.toContainText("“");
  await notice.getByRole("button", { name: "OK" }).click();
  await expectFocusSomewhere(bob.page);

  await carol.page.getByLabel("Location").fill("Gym, west wing");
  await carol.page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(bob.page.getByTestId("announcer")).toHaveText("Saved by Carol Diaz (version 2).");
});
