// A draft is what the person typed, valid or not, and it survives what the network does: kept
// in the browser when the server cannot be reached, offered back after a reload, and merged
// against its own base, so a reload (which forgets every version the tab saw) does not turn
// "Keep mine" into an overwrite of fields the person never touched.

import { expect, test } from "@playwright/test";
import { aliceDraftsNotesThenCarolMovesLocation, clusterForFile, openAppointment, shot, signedIn } from "./app";
import { devToken } from "./cluster";

// A grace longer than the tests' offline spell: the lock stays the holder's until an admin
// takes it, instead of lapsing on its own.
const cluster = clusterForFile({ disconnectGraceMs: 60_000 });

test("offline, taken over, reloaded: the text typed is offered back from the browser's copy", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(2), "Carol Diaz");
  await openAppointment(alice, "demo-1");
  await openAppointment(carol, "demo-1");
  const page = alice.page;
  await page.getByRole("button", { name: "Start editing" }).click();
  await expect(carol.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");
  await page.getByLabel("Notes").fill("Typed before the network went.");

  // The server never gets this tab's draft: every draft write fails as it does offline (the
  // reconnect would otherwise deliver it, and the server's copy would be what comes back).
  await page.context().route(/\/appointments\/[^/]+\/draft$/, (route) =>
    route.request().method() === "PUT" ? route.abort("internetdisconnected") : route.fallback(),
  );
  await page.context().setOffline(true);
  await expect(page.getByTestId("connection")).toContainText("Offline", { timeout: 5_000 });
  // Typed while offline: more notes, and Starts cleared to be retyped (not a valid time).
  await page.getByLabel("Notes").press("End");
  await page.getByLabel("Notes").pressSequentially(" And typed offline.");
  await page.getByLabel("Starts").fill("");

  await carol.page.getByRole("button", { name: "Request Control" }).click();
  await carol.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click();
  await expect(carol.page.getByTestId("lock-holder")).toHaveText("You are editing");

  // Back online: the loss is told, and so is the truth about the draft.
  await page.context().setOffline(false);
  await expect(page.getByTestId("connection")).toContainText("Live", { timeout: 15_000 });
  const notice = page.getByTestId("loss-dialog");
  await expect(notice).toContainText("Carol Diaz took control");
  await expect(notice.getByTestId("draft-status")).toHaveText(/kept only in this browser/);
  await shot(page, "12-draft-kept-in-browser");
  await notice.getByRole("button", { name: "OK" }).click();

  await page.reload();
  await expect(page.getByTestId("connection")).toContainText("Live");
  const banner = page.getByTestId("draft-banner");
  await expect(banner).toContainText("kept in this browser");
  await carol.page.getByRole("button", { name: "Done" }).click();
  await page.getByRole("button", { name: "Start editing" }).click();
  await banner.getByRole("button", { name: "Restore my draft" }).click();
  await expect(page.getByLabel("Notes")).toHaveValue("Typed before the network went. And typed offline.");
  await expect(page.getByLabel("Starts")).toHaveValue("");
  // A draft is kept as typed; only a save judges it.
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByLabel("Starts")).toBeFocused();
  await expect(page.getByTestId("version")).toHaveText("version 1");
});

test("after a reload, keeping a restored draft takes only what it changed: Carol's Location stays", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await openAppointment(alice, "demo-2");
  await openAppointment(carol, "demo-2");

  await aliceDraftsNotesThenCarolMovesLocation(alice, carol);

  // A reload: this tab no longer knows version 1's values; only the draft's base does.
  await alice.page.reload();
  await expect(alice.page.getByTestId("connection")).toContainText("Live");
  await expect(alice.page.getByTestId("version")).toHaveText("version 2");
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await alice.page.getByRole("button", { name: "Restore my draft" }).click();
  await expect(alice.page.getByLabel("Notes")).toHaveValue("Alice: fasting since midnight.");
  await alice.page.getByRole("button", { name: "Save", exact: true }).click();
  const conflict = alice.page.getByTestId("conflict");
  await expect(conflict).toContainText("saved version 2");

  await conflict.getByRole("button", { name: "Keep mine and save again" }).click();
  await expect(alice.page.getByTestId("version")).toHaveText("version 3");
  await expect(conflict).toBeHidden();
  await expect(alice.page.getByLabel("Location")).toHaveValue("Room 12, second floor");
  await expect(carol.page.getByLabel("Location")).toHaveValue("Room 12, second floor");
  await expect(carol.page.getByLabel("Notes")).toHaveValue("Alice: fasting since midnight.");
});

test("kept nowhere: the dialog says so and holds the typed text to copy", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(2), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await openAppointment(alice, "demo-3");
  await openAppointment(carol, "demo-3");
  const page = alice.page;
  // Neither the server nor this browser takes the draft: every draft write fails, and the
  // browser's storage refuses writes (as a full or disabled localStorage does).
  await page.context().route(/\/appointments\/[^/]+\/draft$/, (route) =>
    route.request().method() === "PUT" ? route.abort("internetdisconnected") : route.fallback(),
  );
  await page.evaluate(() => {
    Storage.prototype.setItem = () => {
      throw new DOMException("full", "QuotaExceededError");
    };
  });
  await page.getByRole("button", { name: "Start editing" }).click();
  await page.getByLabel("Notes").fill("Line one.\nLine two, not saved anywhere.");
  await page.getByLabel("Client").fill("Aisha Khan-Malik");

  await carol.page.getByRole("button", { name: "Request Control" }).click();
  await carol.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click();
  const notice = page.getByTestId("loss-dialog");
  await expect(notice.getByTestId("draft-status")).toHaveText(/could not be kept/);
  // The form behind shows the appointment now; the text to copy is in the dialog.
  const kept = notice.getByTestId("unsaved-text");
  await expect(kept.getByLabel("Notes")).toHaveValue("Line one.\nLine two, not saved anywhere.");
  await expect(kept.getByLabel("Client")).toHaveValue("Aisha Khan-Malik");
  await expect(kept.getByLabel("Title")).toHaveCount(0);
  await shot(page, "13-draft-kept-nowhere");
});

test("taken over with Starts cleared: the server keeps the draft as typed and gives it back", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(3), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(1), "Carol Diaz");
  await openAppointment(alice, "demo-4");
  await openAppointment(carol, "demo-4");
  const page = alice.page;
  await page.getByRole("button", { name: "Start editing" }).click();
  await page.getByLabel("Notes").fill("A long note, typed while the time is being retyped.");
  await page.getByLabel("Starts").fill("");

  await carol.page.getByRole("button", { name: "Request Control" }).click();
  await carol.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click();
  const notice = page.getByTestId("loss-dialog");
  await expect(notice.getByTestId("draft-status")).toHaveText(/kept as a draft/);
  await notice.getByRole("button", { name: "OK" }).click();

  // Only the server's copy can come back: this browser's is gone.
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await expect(page.getByTestId("connection")).toContainText("Live");
  const banner = page.getByTestId("draft-banner");
  await expect(banner).toBeVisible();
  await expect(banner).not.toContainText("kept in this browser");
  await carol.page.getByRole("button", { name: "Done" }).click();
  await page.getByRole("button", { name: "Start editing" }).click();
  await banner.getByRole("button", { name: "Restore my draft" }).click();
  await expect(page.getByLabel("Notes")).toHaveValue("A long note, typed while the time is being retyped.");
  await expect(page.getByLabel("Starts")).toHaveValue("");
});

test("a draft discarded is gone for good: from the server and from this browser", async ({ browser }) => {
  const url = cluster().url(1);
  const token = await devToken(url, { userId: "alice", name: "Alice Martin", email: "alice@example.com", role: "user" });
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Session-Id": "e2e-setup" };
  const created = await fetch(`${url}/appointments`, {
    method: "POST",
    headers,
    body: JSON.stringify({ id: "discard-1", title: "Follow-up call", startsAt: "2030-01-07T09:00:00Z", endsAt: "2030-01-07T09:15:00Z", client: "Ana", location: "Phone", notes: "" }),
  });
  expect(created.status).toBe(201);
  const alice = await signedIn(browser, url, "Alice Martin");
  await openAppointment(alice, "discard-1");
  const page = alice.page;
  await page.getByRole("button", { name: "Start editing" }).click();
  await page.getByLabel("Notes").fill("Throw this away.");
  // Leaving with unsaved text: the server keeps it as the draft, and so does this browser.
  await page.reload();
  await expect(page.getByTestId("connection")).toContainText("Live");
  const banner = page.getByTestId("draft-banner");
  await expect(banner).toContainText("You have unsaved changes");

  await banner.getByRole("button", { name: "Discard…" }).click();
  await expect(banner.getByRole("button", { name: "Discard for good" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(banner).toBeHidden();
  const draft = await fetch(`${url}/appointments/discard-1/draft`, { headers });
  expect(draft.status).toBe(204);
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("lockd.draft:")))).toEqual([]);
  await page.reload();
  await expect(page.getByTestId("connection")).toContainText("Live");
  await expect(page.getByTestId("lock-panel")).toContainText("No one is editing");
  await expect(banner).toBeHidden();
});
