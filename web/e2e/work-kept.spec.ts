// Nothing typed is lost: text typed while a save is on its way survives the save's answer, and
// "Keep mine and save again" after a version conflict keeps only the fields this person changed.

import { expect, test, type Page } from "@playwright/test";
import { aliceDraftsNotesThenCarolMovesLocation, clusterForFile, openAppointment, signedIn } from "./app";

const cluster = clusterForFile();

/** Holds the app's writes of one appointment (PUT /appointments/{id}) until `release()`. */
async function holdSaves(page: Page, id: string): Promise<{ release: () => void }> {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route(new RegExp(`/appointments/${id}$`), async (route) => {
    if (route.request().method() !== "PUT") {
      await route.fallback();
      return;
    }
    await held;
    await route.continue();
  });
  return { release: () => release() };
}

test("text typed while a save is slow survives its answer; the saved version becomes the base", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  await openAppointment(alice, "demo-2");
  await openAppointment(bob, "demo-2");
  const page = alice.page;
  await page.getByRole("button", { name: "Start editing" }).click();
  await expect(page.getByTestId("lock-holder")).toHaveText("You are editing");

  const saves = await holdSaves(page, "demo-2");
  const notes = page.getByLabel("Notes");
  await notes.fill("Bring the referral letter.");
  const save = page.getByRole("button", { name: "Save", exact: true });
  const answered = page.waitForResponse((r) => r.request().method() === "PUT" && /\/appointments\/demo-2$/.test(r.url()));
  await save.click();
  await expect(save).toHaveAttribute("aria-busy", "true");
  // The save is on its way: keep typing, in the field being saved and in another one.
  await notes.press("End");
  await notes.pressSequentially(" And the insurance card.");
  await page.getByLabel("Location").fill("Room 9");
  saves.release();
  await answered;

  // Once the answer is handled, what was typed since is still on screen and unsaved; version 2
  // holds what was sent.
  await expect(save).not.toHaveAttribute("aria-busy", "true");
  await expect(notes).toHaveValue("Bring the referral letter. And the insurance card.");
  await expect(page.getByLabel("Location")).toHaveValue("Room 9");
  await expect(save).toBeEnabled();
  await expect(page.getByTestId("version")).toHaveText("version 2");
  await expect(bob.page.getByLabel("Notes")).toHaveValue("Bring the referral letter.");

  // Saving again writes version 3 over version 2 (the new base): no conflict.
  await save.click();
  await expect(page.getByTestId("version")).toHaveText("version 3");
  await expect(save).toBeDisabled();
  await expect(page.getByTestId("conflict")).toBeHidden();
  await expect(bob.page.getByLabel("Notes")).toHaveValue("Bring the referral letter. And the insurance card.");
  await expect(bob.page.getByLabel("Location")).toHaveValue("Room 9");
});

test("keeping mine after a conflict takes only the fields I changed; Carol's Location stays", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await openAppointment(alice, "demo-1");
  await openAppointment(carol, "demo-1");

  await aliceDraftsNotesThenCarolMovesLocation(alice, carol);

  // Alice restores her draft (of version 1): the save meets version 2.
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await alice.page.getByRole("button", { name: "Restore my draft" }).click();
  await expect(alice.page.getByLabel("Notes")).toHaveValue("Alice: fasting since midnight.");
  await alice.page.getByRole("button", { name: "Save", exact: true }).click();
  const conflict = alice.page.getByTestId("conflict");
  await expect(conflict).toContainText("saved version 2");

  await conflict.getByRole("button", { name: "Keep mine and save again" }).click();
  await expect(alice.page.getByLabel("Location")).toHaveValue("Room 12, second floor");
  await expect(alice.page.getByLabel("Notes")).toHaveValue("Alice: fasting since midnight.");
  await expect(alice.page.getByTestId("version")).toHaveText("version 3");
  await expect(carol.page.getByLabel("Location")).toHaveValue("Room 12, second floor");
  await expect(carol.page.getByLabel("Notes")).toHaveValue("Alice: fasting since midnight.");
});

test("a field both changed is shown side by side, and the person's choice is saved", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(2), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await openAppointment(alice, "demo-3");
  await openAppointment(carol, "demo-3");

  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await alice.page.getByLabel("Notes").fill("Alice: bring the knee brace.");
  await alice.page.getByLabel("Client").fill("Aisha Khan-Malik");
  await carol.page.getByRole("button", { name: "Request Control" }).click();
  await carol.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click();
  await expect(alice.page.getByTestId("loss-dialog").getByTestId("draft-status")).toHaveText(/kept as a draft/);
  await alice.page.getByTestId("loss-dialog").getByRole("button", { name: "OK" }).click();
  await carol.page.getByLabel("Notes").fill("Carol: session moved to the pool.");
  await carol.page.getByRole("button", { name: "Done" }).click();
  await expect(alice.page.getByLabel("Notes")).toHaveValue("Carol: session moved to the pool.");

  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await alice.page.getByRole("button", { name: "Restore my draft" }).click();
  await alice.page.getByRole("button", { name: "Save", exact: true }).click();
  const conflict = alice.page.getByTestId("conflict");
  await conflict.getByRole("button", { name: "Keep mine and save again" }).click();
  // Notes: both changed, so both are shown; Client: only Alice changed it, so no question.
  const notes = conflict.getByTestId("clash-notes");
  await expect(notes).toContainText("Alice: bring the knee brace.");
  await expect(notes).toContainText("Carol: session moved to the pool.");
  await expect(conflict.getByTestId("clash-client")).toHaveCount(0);
  await notes.getByLabel(/Carol Diaz's/).check();
  await conflict.getByRole("button", { name: "Save my choices" }).click();
  await expect(alice.page.getByTestId("version")).toHaveText("version 3");
  await expect(carol.page.getByLabel("Notes")).toHaveValue("Carol: session moved to the pool.");
  await expect(carol.page.getByLabel("Client")).toHaveValue("Aisha Khan-Malik");
});
