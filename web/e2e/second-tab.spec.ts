// The same person in a second tab is not a stranger: a tab opened by URL is signed in already,
// and offers to continue there. The lock moves under a new token in one log entry; the first
// tab is told it continued elsewhere (not "taken over") and keeps what was typed as a draft,
// which the second tab offers back.

import { expect, test } from "@playwright/test";
import { clusterForFile, expectAllDisabled, expectAllEnabled, openAppointment, shot, signedIn } from "./app";
import { devToken } from "./cluster";

const cluster = clusterForFile();

test("a second tab of the same person: no sign-in, Continue here, the first tab's text kept as a draft", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  await openAppointment(alice, "demo-1");
  await openAppointment(bob, "demo-1");
  const first = alice.page;
  await first.getByRole("button", { name: "Start editing" }).click();
  await first.getByLabel("Notes").fill("Typed in the first tab.");
  await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");

  // A new tab of the same browser, opened by its address: no sign-in asked.
  const second = await first.context().newPage();
  await second.goto("/appointment/demo-1");
  await expect(second.getByTestId("current-user")).toContainText("Alice Martin");
  await expect(second.getByTestId("connection")).toContainText("Live");
  await expect(second.getByTestId("lock-holder")).toHaveText("You are editing this in another tab");
  await expect(second.getByRole("button", { name: "Notify me and take it when free" })).toHaveCount(0);
  await expectAllDisabled(second);
  await shot(second, "20-continue-here");

  await second.getByRole("button", { name: "Continue here" }).click();
  await expect(second.getByTestId("lock-holder")).toHaveText("You are editing");
  await expect(second.getByLabel("Title")).toBeFocused();
  await expectAllEnabled(second);

  await test.step("the first tab: told it continued elsewhere, its text kept as a draft", async () => {
    const notice = first.getByTestId("loss-dialog");
    await expect(notice).toContainText("You continued in another tab");
    await expect(notice).not.toContainText("took control");
    await expect(notice.getByTestId("draft-status")).toHaveText(/kept as a draft/);
    await shot(first, "21-continued-elsewhere");
    await notice.getByRole("button", { name: "OK" }).click();
    await expectAllDisabled(first);
    await expect(first.getByTestId("lock-holder")).toHaveText("You are editing this in another tab");
  });

  await test.step("the second tab offers that draft back; Bob saw Alice all along", async () => {
    const banner = second.getByTestId("draft-banner");
    await banner.getByRole("button", { name: "Restore my draft" }).click();
    await expect(second.getByLabel("Notes")).toHaveValue("Typed in the first tab.");
    await second.getByRole("button", { name: "Save", exact: true }).click();
    await expect(bob.page.getByLabel("Notes")).toHaveValue("Typed in the first tab.");
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");
  });

  // One entry in the audit trail: the move, by Alice.
  const token = await devToken(cluster().url(1), { userId: "carol", name: "Carol Diaz", email: "carol@example.com", role: "admin" });
  const audit = (await (await fetch(`${cluster().url(1)}/appointments/demo-1/audit`, { headers: { Authorization: `Bearer ${token}` } })).json()) as {
    records: { action: string; by: { userId: string } | null }[];
  };
  expect(audit.records.filter((r) => r.action === "moved").map((r) => r.by?.userId)).toEqual(["alice"]);
});
