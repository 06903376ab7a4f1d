// The screens people expect of an appointment tool beyond the editor: creating an appointment,
// and the list that finds one.

import { expect, test } from "@playwright/test";
import { clusterForFile, shot, signedIn } from "./app";

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
