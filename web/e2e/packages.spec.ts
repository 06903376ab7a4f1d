// The packages as another team gets them: `npm pack` of @lockd/client and @lockd/react, a fresh
// project in a temp dir that installs the tarballs (and React, Vite, TypeScript from the
// registry cache), type-checks and builds the example `examples/locked-form`, served from its
// own origin against a real 3-node cluster that allows it (`--cors-origins`). Two people: one
// takes the lock and types, the other sees who, cannot type, and sees the first one's pointer;
// then the first one's node dies and the client fails over to the next node; a closed tab
// releases its lock at once.

import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { boxOf, lastAuditRecord } from "./app";
import { startCluster, type Cluster } from "./cluster";

const web = resolve(import.meta.dirname, "..");
const example = join(web, "examples", "locked-form");

// Packing, installing and building take a while on two cores.
test.describe.configure({ timeout: 400_000 });

let project = "";
let cluster: Cluster | undefined;
let server: Server | undefined;
let origin = "";

test.beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), "lockd-packages-"));
  for (const file of ["package.json", "tsconfig.json", "index.html", "src"]) cpSync(join(example, file), join(project, file), { recursive: true });
  // The tarballs, built by their `prepack` (tsc: dist/ with declarations), beside the project.
  npm(web, ["pack", "--workspace", "@lockd/client", "--workspace", "@lockd/react", "--pack-destination", project]);
  npm(project, ["install", "--prefer-offline", "--no-audit", "--no-fund"]);
  // The app's own check of the packages' declarations (tsc --noEmit), then Vite.
  npm(project, ["run", "build"]);
  server = await serve(join(project, "dist"));
  origin = `http://127.0.0.1:${port(server)}`;
  // A long disconnect grace: a closed tab's lock that frees at once was freed by the tab.
  cluster = await startCluster({ disconnectGraceMs: 120_000, extraArgs: ["--cors-origins", origin] });
});

test.afterAll(async () => {
  await cluster?.stop();
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  if (project && !process.env.LOCKD_E2E_KEEP_DATA) rmSync(project, { recursive: true, force: true });
});

test("a fresh project's locked form: the holder types, the other watches their name and pointer, failover", async ({ browser }) => {
  if (!cluster) throw new Error("the cluster did not start");
  const [n1, n2, n3] = [cluster.url(1), cluster.url(2), cluster.url(3)];
  const open = async (user: string, nodes: string[]): Promise<Page> => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${origin}/?${new URLSearchParams({ user, nodes: nodes.join(","), appointment: "demo-2" }).toString()}`);
    await expect(page.getByTestId("holder")).toHaveText("Nobody is editing");
    return page;
  };
  const alice = await open("alice", [n1, n2, n3]);
  const bob = await open("bob", [n2, n3, n1]);

  await test.step("Alice takes the lock and types; Bob sees her name and cannot type", async () => {
    await alice.getByRole("button", { name: "Edit" }).click();
    await expect(alice.getByTestId("holder")).toHaveText("You are editing");
    await alice.getByLabel("Title").fill("Typed through @lockd/react");
    await expect(alice.getByLabel("Title")).toHaveValue("Typed through @lockd/react");
    await expect(bob.getByTestId("holder")).toHaveText("Alice is editing");
    await expect(bob.getByLabel("Title")).toBeDisabled();
    await expect(bob.getByLabel("Notes")).toBeDisabled();
    await expect(bob.getByRole("button", { name: "Edit" })).toBeDisabled();
    await expect(bob.getByText("2 viewing")).toBeVisible();
  });

  await test.step("Bob sees Alice's pointer where she points", async () => {
    const form = await boxOf(alice.getByLabel("Notes"));
    await alice.mouse.move(form.x + 5, form.y + 5);
    await alice.mouse.move(form.x + 20, form.y + 10, { steps: 4 });
    const pointer = bob.locator("[data-lockd-pointer][data-user=alice]");
    await expect(pointer).toBeVisible();
    await expect(pointer).toContainText("Alice");
    // Over Notes in Alice's page, over Notes in Bob's (the same layout): within a few pixels.
    const notes = await boxOf(bob.getByLabel("Notes"));
    await expect.poll(async () => Math.abs((await boxOf(pointer)).y - (notes.y + 10)), { timeout: 10_000 }).toBeLessThan(12);
  });

  await test.step("Alice's first node dies: her requests and socket move to the next; Done frees the lock for Bob", async () => {
    await cluster?.kill(1);
    await expect(async () => {
      await alice.getByRole("button", { name: "Done" }).click();
      await expect(bob.getByTestId("holder")).toHaveText("Nobody is editing", { timeout: 5_000 });
    }).toPass({ timeout: 60_000 });
    await expect(alice.getByLabel("Title")).toBeDisabled();
    await expect(bob.getByRole("button", { name: "Edit" })).toBeEnabled();
  });

  await test.step("Bob takes it and closes his tab: released at once by the tab, fenced by his token", async () => {
    await bob.getByRole("button", { name: "Edit" }).click();
    await expect(alice.getByTestId("holder")).toHaveText("Bob is editing");
    await bob.close();
    await expect(alice.getByTestId("holder")).toHaveText("Nobody is editing", { timeout: 10_000 });
    const last = await lastAuditRecord(n2, "demo-2");
    expect(last.action).toBe("released");
    expect(last.by?.userId ?? last.from?.userId).toBe("bob");
  });
});

function npm(cwd: string, args: string[]): void {
  try {
    execFileSync("npm", args, { cwd, stdio: "pipe", timeout: 300_000, env: { ...process.env, npm_config_update_notifier: "false" } });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm ${args.join(" ")} in ${cwd} failed:\n${stdout?.toString() ?? ""}\n${stderr?.toString() ?? ""}`, { cause: error });
  }
}

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".map": "application/json", ".svg": "image/svg+xml" };

/** The built example on a free loopback port: its files, else index.html. */
async function serve(root: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(root, path);
    let body: Buffer;
    try {
      body = readFileSync(file);
    } catch {
      file = join(root, "index.html");
      body = readFileSync(file);
    }
    response.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    response.end(body);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return server;
}

function port(server: Server): number {
  const address = server.address();
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}
