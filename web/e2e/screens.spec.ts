// The screens people expect of an appointment tool beyond the editor: creating an appointment,
// and the list that finds one.

import { expect, test } from "@playwright/test";
import { clusterForFile, openAppointment, PHONE, shot, signedIn } from "./app";
import { devToken } from "./cluster";

const cluster = clusterForFile();

test("a new appointment: checked, refused at the right field, never losing the text, then opened", async ({ browser }) => {
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const page = bob.page;
  await page.getByRole("link", { name: "New appointment" }).click();
  await expect(page.getByRole("heading", { name: "New appointment" })).toBeFocused();
  const form = page.getByTestId("new-form");
  const problem = page.getByTestId("create-problem");

  await test.step("checked here first: focus goes to the field to fix", async () => {
    await form.getByLabel("Client").fill("Ana Souza");
    await form.getByLabel("Notes").fill("Bring the insurance card.");
    await page.getByRole("button", { name: "Create appointment" }).click();
    await expect(form.getByLabel("Title")).toBeFocused();
    await expect(form.getByText("A title is required.")).toBeVisible();
    await form.getByLabel("Title").fill("First consultation");
    await expect(form.getByText("A title is required.")).toBeHidden();
  });

  await test.step("refused by the server: said at its field, the text kept, also across a reload", async () => {
    // An id that exists: 409 already_exists.
    await form.getByLabel("ID (optional)").fill("demo-1");
    await page.getByRole("button", { name: "Create appointment" }).click();
    await expect(form.getByLabel("ID (optional)")).toBeFocused();
    await expect(problem).toContainText("exists already");
    await expect(form.getByLabel("Notes")).toHaveValue("Bring the insurance card.");
    await shot(page, "15-new-appointment-refused");
    // A title the server refuses (a right-to-left override hides what it says): 400.
    await form.getByLabel("ID (optional)").fill("consult-1");
    await form.getByLabel("Title").fill("First \u202Econsultation");
    await page.getByRole("button", { name: "Create appointment" }).click();
    await expect(form.getByLabel("Title")).toBeFocused();
    await expect(problem).toContainText("title holds an invisible formatting");
    await page.reload();
    await expect(form.getByLabel("Notes")).toHaveValue("Bring the insurance card.");
    await expect(form.getByLabel("Client")).toHaveValue("Ana Souza");
    await expect(form.getByLabel("ID (optional)")).toHaveValue("consult-1");
  });

  await test.step("created: it opens, and the list has it", async () => {
    await form.getByLabel("Title").fill("First consultation");
    await page.getByRole("button", { name: "Create appointment" }).click();
    await expect(page).toHaveURL(/\/appointment\/consult-1$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("First consultation");
    await expect(page.getByTestId("version")).toHaveText("version 1");
    await page.getByRole("button", { name: "← All appointments" }).click();
    await expect(page.getByTestId("row-consult-1")).toContainText("Ana Souza");
    // Created: the next new appointment starts empty.
    await page.getByRole("link", { name: "New appointment" }).click();
    await expect(form.getByLabel("Notes")).toHaveValue("");
  });
});

test("admins read an appointment's audit trail in words: takeovers with reasons, dropped connections", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await openAppointment(alice, "demo-3");
  await openAppointment(carol, "demo-3");
  // Not for users: no way in.
  await expect(alice.page.getByRole("button", { name: "Audit trail" })).toHaveCount(0);

  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await expect(carol.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");
  await carol.page.getByRole("button", { name: "Request Control" }).click();
  const dialog = carol.page.getByTestId("takeover-dialog");
  await dialog.getByLabel("Reason (optional)").fill("the client called to move it");
  await dialog.getByRole("button", { name: "Take control" }).click();
  await expect(carol.page.getByTestId("lock-holder")).toHaveText("You are editing");
  await alice.page.getByTestId("loss-dialog").getByRole("button", { name: "OK" }).click();

  // Carol's connection goes: the cluster releases her lock after its grace (5 s here).
  await carol.page.context().setOffline(true);
  await expect(alice.page.getByTestId("lock-panel")).toContainText("No one is editing", { timeout: 20_000 });
  await carol.page.context().setOffline(false);
  await expect(carol.page.getByTestId("connection")).toContainText("Live", { timeout: 15_000 });
  await carol.page.getByTestId("loss-dialog").getByRole("button", { name: "OK" }).click();

  const open = carol.page.getByRole("button", { name: "Audit trail" });
  await open.click();
  await expect(open).toHaveAttribute("aria-expanded", "true");
  const panel = carol.page.getByTestId("audit-panel");
  await expect(panel.getByRole("heading", { name: "Audit trail" })).toBeFocused();
  const records = panel.getByTestId("audit-record");
  // Newest first, names not ids, actions in words.
  await expect(records.nth(0)).toContainText("Carol Diaz's connection dropped: the lock was released");
  await expect(records.nth(1)).toContainText("Carol Diaz took over from Alice Martin: “the client called to move it”");
  await expect(records.nth(2)).toContainText("Alice Martin started editing");
  await expect(records.nth(0).locator("time")).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);
  await shot(carol.page, "16-audit-trail");

  // It follows the room while open: Alice starts again, and it is there.
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await expect(records.nth(0)).toContainText("Alice Martin started editing");
});

test("since when someone edits, how long idle, and who saved last: on the form and on the list", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await expect(bob.page.getByTestId("row-demo-2")).toBeVisible();
  await openAppointment(alice, "demo-2");
  await openAppointment(carol, "demo-2");
  const time = String.raw`\d{1,2}:\d{2}( [AP]M)?`;

  await carol.page.getByRole("button", { name: "Start editing" }).click();
  await expect(alice.page.getByTestId("editing-since")).toHaveText(new RegExp(`^Editing since ${time}$`));
  await expect(carol.page.getByTestId("editing-since")).toHaveText(new RegExp(`^Editing since ${time}$`));
  await carol.page.getByLabel("Location").fill("Room 4, ground floor");
  await carol.page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(alice.page.getByTestId("last-saved")).toHaveText(new RegExp(`^Last saved by Carol Diaz at ${time}$`));
  await expect(bob.page.getByTestId("row-demo-2").getByTestId("last-saved")).toHaveText(new RegExp(`^Last saved by Carol Diaz at ${time}$`));
  // Carol does nothing more: a minute later everyone reads that she is idle.
  await expect(alice.page.getByTestId("editing-since")).toHaveText(new RegExp(`^Editing since ${time} · idle 1 min$`), { timeout: 90_000 });
  await expect(carol.page.getByTestId("editing-since")).toContainText("idle 1 min");
  await shot(alice.page, "17-editing-since");
});

test("the list finds appointments by words and by day, and keeps the search in its address", async ({ browser }) => {
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const page = bob.page;
  const search = page.getByRole("searchbox", { name: "Search" });
  const rows = page.getByRole("list", { name: "Appointments" });
  await expect(rows.getByTestId("row-demo-1")).toBeVisible();

  await test.step("words, in any case and order, in the title, client or location", async () => {
    await search.fill("KHAN physio");
    await expect(rows.getByRole("listitem")).toHaveCount(1);
    await expect(rows.getByTestId("row-demo-3")).toBeVisible();
    await expect(page.getByTestId("list-count")).toHaveText(/^1 of \d+ appointments$/);
    await page.reload();
    await expect(search).toHaveValue("KHAN physio");
    await expect(rows.getByTestId("row-demo-3")).toBeVisible();
    await expect(rows.getByTestId("row-demo-1")).toBeHidden();
  });

  await test.step("a day: the appointments starting on it, with the words too", async () => {
    await search.fill("");
    const token = await devToken(cluster().url(2), { userId: "bob", name: "Bob Okafor", email: "bob@example.com", role: "user" });
    const demo1 = (await (await fetch(`${cluster().url(2)}/appointments/demo-1`, { headers: { Authorization: `Bearer ${token}` } })).json()) as { startsAt: string };
    // The option's value is the local day in the browser's zone.
    const day = await page.evaluate((iso) => {
      const d = new Date(iso);
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    }, demo1.startsAt);
    await page.getByLabel("Day").selectOption(day);
    await expect(rows.getByTestId("row-demo-1")).toBeVisible();
    await expect(rows.getByTestId("row-demo-2")).toBeHidden();
    await shot(page, "18-list-search");
    await search.fill("vaccination");
    await expect(rows).toContainText("No appointment matches.");
    await rows.getByRole("button", { name: "Show them all" }).click();
    await expect(search).toHaveValue("");
    await expect(rows.getByTestId("row-demo-4")).toBeVisible();
    await expect(rows.getByTestId("row-demo-2")).toBeVisible();
  });

  await test.step("how many people view each appointment, live", async () => {
    const alice = await signedIn(browser, cluster().url(1), "Alice Martin");
    const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
    const count = rows.getByTestId("row-demo-4").getByTestId("viewers-count");
    await expect(count).toHaveCount(0);
    await openAppointment(alice, "demo-4");
    await expect(count).toHaveText("1 viewing");
    await openAppointment(carol, "demo-4");
    await expect(count).toHaveText("2 viewing");
    // A fresh list starts from the counts the server has.
    await page.reload();
    await expect(count).toHaveText("2 viewing");
    await alice.page.close();
    await carol.page.goto("/");
    await expect(count).toHaveCount(0);
  });

  await test.step("on a phone nothing widens the page", async () => {
    await page.setViewportSize(PHONE);
    await search.fill("room");
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  });
});

test("the holder cancels an appointment after a confirmation, and reinstates it; the list marks it", async ({ browser }) => {
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const row = bob.page.getByTestId("row-demo-4");
  await expect(row).toBeVisible();
  await openAppointment(carol, "demo-4");
  const page = carol.page;
  // Only the holder cancels.
  await expect(page.getByRole("button", { name: "Cancel appointment" })).toHaveCount(0);
  await page.getByRole("button", { name: "Start editing" }).click();

  await page.getByRole("button", { name: "Cancel appointment" }).click();
  const dialog = page.getByTestId("cancel-dialog");
  // Enter keeps it: focus starts on "Keep it".
  await expect(dialog.getByRole("button", { name: "Keep it" })).toBeFocused();
  await shot(page, "22-cancel-confirm");
  await page.keyboard.press("Enter");
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId("cancelled-notice")).toHaveCount(0);
  await page.getByRole("button", { name: "Cancel appointment" }).click();
  await dialog.getByRole("button", { name: "Cancel appointment" }).click();
  await expect(page.getByTestId("cancelled-notice")).toHaveText("This appointment is cancelled.");
  await expect(row.getByTestId("cancelled-badge")).toHaveText("Cancelled");

  // Still found by words and by day; an edit saved meanwhile keeps it cancelled (an update
  // sends the status back).
  await bob.page.getByRole("searchbox", { name: "Search" }).fill("vaccination");
  await expect(row.getByTestId("cancelled-badge")).toBeVisible();
  await shot(bob.page, "23-list-cancelled");
  await page.getByLabel("Notes").fill("Called off by the client.");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(bob.page.getByTestId("row-demo-4").getByTestId("last-saved")).toContainText("Last saved by Carol Diaz");
  await expect(page.getByTestId("cancelled-notice")).toBeVisible();
  await expect(row.getByTestId("cancelled-badge")).toBeVisible();

  await page.getByRole("button", { name: "Reinstate" }).click();
  await expect(page.getByTestId("cancelled-notice")).toHaveCount(0);
  await expect(row.getByTestId("cancelled-badge")).toHaveCount(0);
  await expect(page.getByLabel("Notes")).toHaveValue("Called off by the client.");
  await page.getByRole("button", { name: "Done" }).click();
});

test("admins see recent takeovers across the cluster, with reasons, linking to each appointment", async ({ browser }) => {
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  const dev = await signedIn(browser, cluster().url(1), "Dev Patel");
  await openAppointment(bob, "demo-1");
  await openAppointment(dev, "demo-1");
  await bob.page.getByRole("button", { name: "Start editing" }).click();
  await expect(dev.page.getByTestId("lock-holder")).toHaveText("Locked: Bob Okafor is editing");
  await dev.page.getByRole("button", { name: "Request Control" }).click();
  const dialog = dev.page.getByTestId("takeover-dialog");
  await dialog.getByLabel("Reason (optional)").fill("the clinic moved the visit");
  await dialog.getByRole("button", { name: "Take control" }).click();
  await expect(dev.page.getByTestId("lock-holder")).toHaveText("You are editing");
  await dev.page.getByRole("button", { name: "Done" }).click();

  // Not for users: no way in, and the page says so.
  await bob.page.goto("/");
  await expect(bob.page.getByRole("link", { name: "New appointment" })).toBeVisible();
  await expect(bob.page.getByRole("link", { name: "Recent takeovers" })).toHaveCount(0);
  await bob.page.goto("/takeovers");
  await expect(bob.page.getByRole("alert")).toHaveText("Recent takeovers are for admins.");
  const bobToken = await devToken(cluster().url(2), { userId: "bob", name: "Bob Okafor", email: "bob@example.com", role: "user" });
  const refused = await fetch(`${cluster().url(2)}/audit?action=taken_over&limit=50`, { headers: { Authorization: `Bearer ${bobToken}` } });
  expect([refused.status, ((await refused.json()) as { code: string }).code]).toEqual([403, "forbidden"]);

  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz");
  await carol.page.getByRole("link", { name: "Recent takeovers" }).click();
  await expect(carol.page.getByRole("heading", { name: "Recent takeovers" })).toBeFocused();
  const newest = carol.page.getByTestId("recent-takeovers").getByTestId("audit-record").first();
  await expect(newest).toContainText("Dev Patel took over from Bob Okafor: “the clinic moved the visit”");
  await shot(carol.page, "24-recent-takeovers");
  await newest.getByRole("link", { name: "Annual check-up" }).click();
  await expect(carol.page).toHaveURL(/\/appointment\/demo-1$/);
  await expect(carol.page.getByRole("heading", { level: 1 })).toHaveText("Annual check-up");
});

test("the new screens fit a phone: nothing widens the page", async ({ browser }) => {
  // An appointment of its own: the other tests leave theirs locked by people still signed in.
  const token = await devToken(cluster().url(3), { userId: "carol", name: "Carol Diaz", email: "carol@example.com", role: "admin" });
  const created = await fetch(`${cluster().url(3)}/appointments`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "X-Session-Id": "e2e-setup" },
    body: JSON.stringify({ id: "phone-1", title: "Blood test with a rather long title", startsAt: "2030-01-07T08:00:00Z", endsAt: "2030-01-07T08:10:00Z", client: "Kim", location: "Lab", notes: "" }),
  });
  expect(created.status).toBe(201);
  const carol = await signedIn(browser, cluster().url(3), "Carol Diaz", PHONE);
  const page = carol.page;
  const fits = () => expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
  await page.getByRole("link", { name: "New appointment" }).click();
  await page.getByTestId("new-form").getByLabel("ID (optional)").fill("demo-1");
  await page.getByRole("button", { name: "Create appointment" }).click();
  await expect(page.getByTestId("create-problem")).toBeVisible();
  await fits();
  await page.goto("/takeovers");
  await expect(page.getByRole("heading", { name: "Recent takeovers" })).toBeVisible();
  await fits();
  await openAppointment(carol, "phone-1");
  await page.getByRole("button", { name: "Audit trail" }).click();
  await expect(page.getByTestId("audit-panel")).toBeVisible();
  await fits();
  await page.getByRole("button", { name: "Start editing" }).click();
  await page.getByRole("button", { name: "Cancel appointment" }).click();
  await expect(page.getByTestId("cancel-dialog")).toBeVisible();
  await fits();
  await page.getByTestId("cancel-dialog").getByRole("button", { name: "Keep it" }).click();
  await page.getByRole("button", { name: "Done" }).click();
});
