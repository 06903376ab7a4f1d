// On a phone (390 px wide): others' pointers land on the field they point at on a desktop,
// stay inside the form without widening the page, long names are cut short, and the header
// stays on one line.

import { expect, test } from "@playwright/test";
import { PHONE, boxOf, clusterForFile, openAppointment, shot, signedIn, signedInAs } from "./app";

const cluster = clusterForFile();

test("a desktop pointer lands on the same field on a phone, clipped to the form", async ({ browser }) => {
  const alice = await signedIn(browser, cluster().url(1), "Alice Martin", PHONE);
  const bob = await signedIn(browser, cluster().url(2), "Bob Okafor");
  await openAppointment(alice, "demo-4");
  await openAppointment(bob, "demo-4");
  const pageWidth = () => alice.page.evaluate(() => document.documentElement.scrollWidth);

  await test.step("the header is one line", async () => {
    const header = await boxOf(alice.page.locator("header"));
    expect(header.height).toBeLessThanOrEqual(60);
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);
  });

  await test.step("Bob points at Location on his desktop (two columns); Alice sees it on her Location (one column)", async () => {
    const location = await boxOf(bob.page.getByLabel("Location"));
    await bob.page.mouse.move(location.x + location.width * 0.3, location.y + location.height / 2, { steps: 6 });
    const pointer = alice.page.locator('[data-testid="remote-pointer"][data-user="bob"]');
    await expect(pointer).toBeVisible();
    const target = await boxOf(alice.page.getByLabel("Location"));
    // The arrow's tip is the pointer's top-left corner.
    await expect
      .poll(async () => {
        const tip = await boxOf(pointer);
        const inside = tip.x >= target.x && tip.x <= target.x + target.width && tip.y >= target.y && tip.y <= target.y + target.height;
        return inside ? "on Location" : `at ${Math.round(tip.x)},${Math.round(tip.y)}; Location is ${JSON.stringify(target)}`;
      })
      .toBe("on Location");
  });

  await test.step("at the form's right edge the pointer does not widen the page", async () => {
    const form = await boxOf(bob.page.getByTestId("form-box"));
    const location = await boxOf(bob.page.getByLabel("Location"));
    await bob.page.mouse.move(form.x + form.width - 3, location.y + location.height / 2, { steps: 6 });
    const pointer = alice.page.locator('[data-testid="remote-pointer"][data-user="bob"]');
    const aliceForm = await boxOf(alice.page.getByTestId("form-box"));
    await expect.poll(async () => (await boxOf(pointer)).x).toBeGreaterThan(aliceForm.x + aliceForm.width * 0.8);
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);
  });

  await test.step("a long name is cut short inside the form", async () => {
    const long = await signedInAs(browser, cluster().url(3), {
      userId: "max",
      name: "Maximiliana Featherstonehaugh-Worthington-Smythe",
      email: "max@example.com",
      role: "user",
    });
    await openAppointment(long, "demo-4");
    const form = await boxOf(long.page.getByTestId("form-box"));
    await long.page.mouse.move(form.x + form.width - 3, form.y + form.height / 2, { steps: 6 });
    const pointer = alice.page.locator('[data-testid="remote-pointer"][data-user="max"]');
    await expect(pointer).toBeVisible();
    const aliceForm = await boxOf(alice.page.getByTestId("form-box"));
    await expect.poll(async () => (await boxOf(pointer)).x).toBeGreaterThan(aliceForm.x + aliceForm.width * 0.8);
    expect(await pageWidth()).toBeLessThanOrEqual(PHONE.width);
    // The name tag is clipped by the form: nothing of it is drawn past the form's right edge.
    const layer = await boxOf(alice.page.getByTestId("pointer-layer"));
    expect(layer.x + layer.width).toBeLessThanOrEqual(aliceForm.x + aliceForm.width + 1);
    await shot(alice.page, "11-phone-pointers");
  });
});
