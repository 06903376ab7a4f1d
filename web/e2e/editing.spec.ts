// The whole editing story in a real browser against a real 3-node cluster: four people, each
// in their own browser context, connected to different nodes.

import { expect, test } from "@playwright/test";
import { screenshotDir } from "./cluster";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { animatedPng } from "./apng";
import { boxOf, clusterForFile, expectAllDisabled, expectAllEnabled, lastAuditRecord, openAppointment, shot, signedIn, type Person } from "./app";

// A long disconnect grace: when a closed tab's lock frees at once, the tab's own keepalive
// release did it, not the server noticing the socket is gone.
const cluster = clusterForFile({ disconnectGraceMs: 120_000 });

test("edit locks, live viewers, pointers, takeover, drafts, conflicts, the queue and tab close", async ({ browser }) => {
  const [node1, node2, node3] = [1, 2, 3].map((id) => cluster().url(id)) as [string, string, string];
  let alice: Person, bob: Person, carol: Person, dev: Person;

  await test.step("sign in on different nodes", async () => {
    const context = await browser.newContext({ baseURL: node1 });
    const page = await context.newPage();
    await page.goto("/");
    await expect(page.getByRole("list", { name: "Demo users" }).getByRole("button")).toHaveCount(4);
    await shot(page, "01-sign-in");
    await context.close();

    alice = await signedIn(browser, node1, "Alice Martin");
    bob = await signedIn(browser, node2, "Bob Okafor");
    carol = await signedIn(browser, node3, "Carol Diaz");
    dev = await signedIn(browser, node2, "Dev Patel");
    await openAppointment(alice, "demo-1");
    await openAppointment(bob, "demo-1");
    await openAppointment(carol, "demo-1");
    await expect(alice.page.getByTestId("connection")).toContainText("node 1");
    await expect(bob.page.getByTestId("connection")).toContainText("node 2");
    await expect(carol.page.getByTestId("connection")).toContainText("node 3");
    // Presence crosses nodes: everyone sees the three tabs.
    for (const p of [alice, bob, carol]) await expect(p.page.getByTestId("viewer")).toHaveCount(3);
    await expectAllDisabled(alice.page);
  });

  await test.step("Alice edits; Bob and Carol see who and cannot type", async () => {
    await alice.page.getByRole("button", { name: "Start editing" }).click();
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await expect(alice.page.getByTestId("countdown")).toContainText(/[45]:\d\d/);
    await expectAllEnabled(alice.page);
    for (const viewer of [bob, carol]) {
      await expect(viewer.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");
      await expect(viewer.page.getByTestId("lock-panel")).toContainText("alice@example.com");
      await expect(viewer.page.getByTestId("countdown")).toContainText(/[45]:\d\d/);
      await expectAllDisabled(viewer.page);
    }
    await alice.page.getByLabel("Notes").fill("Bring the X-ray results.");
    await shot(bob.page, "03-viewer-sees-lock");

    await dev.page.goto("/");
    await expect(dev.page.getByTestId("row-demo-1").getByTestId("lock-badge")).toHaveText(/Alice Martin is editing/);
    await expect(dev.page.getByTestId("row-demo-2").getByTestId("lock-badge")).toHaveText("Free");
    await shot(dev.page, "04-list-live-badges");
  });

  await test.step("Bob's pointer follows on Alice's and Carol's screens", async () => {
    const box = await boxOf(bob.page.getByTestId("form-box"));
    const at = (fx: number, fy: number) => bob.page.mouse.move(box.x + box.width * fx, box.y + box.height * fy, { steps: 8 });
    await at(0.2, 0.2);
    for (const watcher of [alice, carol]) {
      const pointer = watcher.page.locator('[data-testid="remote-pointer"][data-user="bob"]');
      await expect(pointer).toBeVisible();
      await expect(pointer).toContainText("Bob Okafor");
    }
    // It lands where Bob points, as a fraction of the form (window sizes may differ). Inside a
    // field (Notes): 0.6 fell in the gap above it, where the nearest field, and so the landing
    // spot, turns on a pixel of font metrics.
    await at(0.75, 0.7);
    const aliceBox = await boxOf(alice.page.getByTestId("form-box"));
    const pointer = alice.page.locator('[data-testid="remote-pointer"][data-user="bob"]');
    await expect
      .poll(async () => {
        const p = await boxOf(pointer);
        return [Math.round(((p.x - aliceBox.x) / aliceBox.width) * 20), Math.round(((p.y - aliceBox.y) / aliceBox.height) * 20)];
      })
      .toEqual([15, 14]);
    // The animated-pointer recording for the docs: Bob and Carol sweep across the form while
    // Alice edits; each frame is Alice's form, joined into an animated PNG.
    const carolBox = await boxOf(carol.page.getByTestId("form-box"));
    const frames: Buffer[] = [];
    for (let i = 0; i < 16; i++) {
      const t = i / 15;
      await at(0.1 + 0.75 * t, 0.2 + 0.55 * Math.sin(t * Math.PI));
      await carol.page.mouse.move(carolBox.x + carolBox.width * (0.85 - 0.6 * t), carolBox.y + carolBox.height * (0.8 - 0.5 * t), { steps: 4 });
      frames.push(await alice.page.getByTestId("form-box").screenshot());
    }
    writeFileSync(join(screenshotDir, "pointers-animated.png"), animatedPng(frames, 120));
    await expect(alice.page.locator('[data-testid="remote-pointer"][data-user="carol"]')).toContainText("Carol Diaz");
    await shot(alice.page, "02-editing");
    // Leaving the form removes the pointer elsewhere.
    await bob.page.mouse.move(box.x + box.width / 2, box.y - 60);
    await carol.page.mouse.move(carolBox.x + carolBox.width / 2, carolBox.y - 60);
    await expect(alice.page.locator('[data-testid="remote-pointer"][data-user="bob"]')).toHaveCount(0);
    await expect(alice.page.locator('[data-testid="remote-pointer"]')).toHaveCount(0);
  });

  await test.step("Carol (admin) requests control; Alice is told and keeps her text as a draft", async () => {
    await carol.page.getByRole("button", { name: "Request Control" }).click();
    const dialog = carol.page.getByTestId("takeover-dialog");
    await expect(dialog).toContainText("Alice Martin is editing it now");
    await expect(dialog.getByRole("button", { name: "Take control" })).toBeVisible();
    await shot(carol.page, "05-takeover-confirm");
    // The dialog is modal: focus starts inside and Tab never leaves it; Escape cancels.
    await expect(dialog.getByLabel("Reason (optional)")).toBeFocused();
    for (let i = 0; i < 4; i++) {
      await carol.page.keyboard.press("Tab");
      await expect(dialog.locator(":focus")).toHaveCount(1);
    }
    await carol.page.keyboard.press("Escape");
    await expect(dialog).toBeHidden();
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await carol.page.getByRole("button", { name: "Request Control" }).click();
    await dialog.getByLabel("Reason (optional)").fill("client called to move the time");
    await dialog.getByRole("button", { name: "Take control" }).click();
    await expect(carol.page.getByTestId("lock-holder")).toHaveText("You are editing");

    const notice = alice.page.getByTestId("loss-dialog");
    await expect(notice).toContainText("Carol Diaz took control");
    await expect(notice).toContainText("client called to move the time");
    await expect(notice.getByTestId("draft-status")).toHaveText(/kept as a draft/);
    await expectAllDisabled(alice.page);
    await shot(alice.page, "06-taken-over");
    await notice.getByRole("button", { name: "OK" }).click();
    await expect(alice.page.getByTestId("draft-banner")).toContainText("based on version 1");
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Carol Diaz is editing");
  });

  await test.step("Carol saves and finishes; everyone sees the new version live", async () => {
    await carol.page.getByLabel("Title").fill("Annual check-up (moved)");
    await carol.page.getByRole("button", { name: "Done" }).click();
    await expect(carol.page.getByTestId("lock-panel")).toContainText("No one is editing");
    for (const p of [alice, bob]) {
      await expect(p.page.getByLabel("Title")).toHaveValue("Annual check-up (moved)");
      await expect(p.page.getByRole("heading", { level: 1 })).toHaveText("Annual check-up (moved)");
    }
  });

  await test.step("Alice restores her draft; the save meets a newer version and she reloads it", async () => {
    await alice.page.getByRole("button", { name: "Start editing" }).click();
    await alice.page.getByRole("button", { name: "Restore my draft" }).click();
    await expect(alice.page.getByLabel("Notes")).toHaveValue("Bring the X-ray results.");
    await alice.page.getByRole("button", { name: "Save", exact: true }).click();
    const conflict = alice.page.getByTestId("conflict");
    await expect(conflict).toContainText("Someone saved a newer version");
    // One conflict, one message: the panel, not also the error line.
    await expect(alice.page.getByTestId("lock-error")).toBeHidden();
    await shot(alice.page, "07-version-conflict");
    await conflict.getByRole("button", { name: "Load the latest version" }).click();
    await expect(alice.page.getByLabel("Title")).toHaveValue("Annual check-up (moved)");
    await alice.page.getByLabel("Notes").fill("Bring the X-ray results.");
    await alice.page.getByRole("button", { name: "Save", exact: true }).click();
    await expect(bob.page.getByLabel("Notes")).toHaveValue("Bring the X-ray results.");
    await expect(bob.page.getByLabel("Title")).toHaveValue("Annual check-up (moved)");
  });

  await test.step("Bob queues and gets the lock when Alice is done", async () => {
    await bob.page.getByRole("button", { name: "Notify me and take it when free" }).click();
    await expect(bob.page.getByTestId("queue-position")).toContainText("#1 in line");
    await expect(alice.page.locator('[data-testid="viewer"][data-user="bob"]')).toContainText("#1 in line");
    await shot(bob.page, "08-queued");
    await alice.page.getByRole("button", { name: "Done" }).click();
    // Handed over: his until the claim window ends, and his editing only once he starts.
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("Your turn: the lock is yours");
    await expect(alice.page.getByTestId("lock-holder")).toContainText("Handed to Bob Okafor, waiting for them to start");
    // From the panel this time (notify.spec.ts starts from the notice and by typing).
    await bob.page.getByTestId("lock-panel").getByRole("button", { name: "Start editing" }).click();
    await expect(bob.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await expect(bob.page.getByTestId("handover-toast")).toBeHidden();
    await expectAllEnabled(bob.page);
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("Locked: Bob Okafor is editing");
  });

  await test.step("closing Bob's tab releases his lock at once, fenced by his token", async () => {
    await bob.page.close();
    // The server would only drop the lock after 120 s (the grace): this is the tab's release.
    await expect(alice.page.getByTestId("lock-panel")).toContainText("No one is editing", { timeout: 10_000 });
    const last = await lastAuditRecord(node3, "demo-1");
    expect(last.action).toBe("released");
    expect(last.by?.userId ?? last.from?.userId).toBe("bob");
  });

  await test.step("two admins request control at once: one wins, the other is told who", async () => {
    await alice.page.getByRole("button", { name: "Start editing" }).click();
    await expect(alice.page.getByTestId("lock-holder")).toHaveText("You are editing");
    await openAppointment(dev, "demo-1");
    for (const admin of [carol, dev]) {
      await admin.page.getByRole("button", { name: "Request Control" }).click();
      await expect(admin.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" })).toBeVisible();
    }
    await Promise.all([carol, dev].map((admin) => admin.page.getByTestId("takeover-dialog").getByRole("button", { name: "Take control" }).click()));
    // Both answers are in once both dialogs have closed and Alice has been told.
    await expect(alice.page.getByTestId("loss-dialog")).toBeVisible();
    for (const admin of [carol, dev]) {
      await expect(admin.page.getByTestId("takeover-dialog")).toBeHidden();
      await expect(admin.page.getByTestId("lock-holder")).not.toHaveText(/Alice Martin/);
    }
    const holders = await Promise.all(
      [carol, dev].map(async (admin) => (await admin.page.getByTestId("lock-holder").textContent()) === "You are editing"),
    );
    expect(holders.filter(Boolean)).toHaveLength(1);
    const [winner, loser] = holders[0] ? [carol, dev] : [dev, carol];
    await expect(loser.page.getByTestId("takeover-winner")).toHaveText(`${winner.name} took control first; the lock is theirs now.`);
    await expect(alice.page.getByTestId("loss-dialog")).toContainText(`${winner.name} took control`);
  });
});


test("a node dies under a viewer: the tab says so, reconnects and resyncs from the snapshot", async ({ browser }) => {
  // Bob on a follower, Alice on another node; the follower is killed while Alice edits.
  const leader = await cluster().leader();
  const [bobNode, aliceNode] = [1, 2, 3].filter((id) => id !== leader) as [number, number];
  const alice = await signedIn(browser, cluster().url(aliceNode), "Alice Martin");
  const bob = await signedIn(browser, cluster().url(bobNode), "Bob Okafor");
  await openAppointment(alice, "demo-3");
  await openAppointment(bob, "demo-3");
  await expect(bob.page.getByTestId("connection")).toContainText(`node ${bobNode}`);

  await cluster().kill(bobNode);
  await expect(bob.page.getByTestId("connection")).toContainText("Reconnecting");
  await expect(bob.page.getByTestId("stale-notice")).toBeVisible();
  await shot(bob.page, "10-reconnecting");
  await alice.page.getByRole("button", { name: "Start editing" }).click();
  await alice.page.getByLabel("Location").fill("Gym, east wing");
  await alice.page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(alice.page.getByTestId("announcer")).toHaveText("Saved by Alice Martin (version 2).");

  await cluster().restart(bobNode);
  // The restarted node catches up, the tab reconnects (backoff of at most 8 s) and the
  // first message, a snapshot, replaces what it showed.
  await expect(bob.page.getByTestId("connection")).toContainText(`Live · node ${bobNode}`, { timeout: 30_000 });
  await expect(bob.page.getByTestId("lock-holder")).toHaveText("Locked: Alice Martin is editing");
  await expect(bob.page.getByLabel("Location")).toHaveValue("Gym, east wing");
  await expect(bob.page.getByTestId("stale-notice")).toBeHidden();
  await expectAllDisabled(bob.page);
});
