// A real 3-node lockd cluster on loopback for the browser tests: the lockd binary of this
// checkout, serving the built app (web/dist) on every node. Started and stopped by the tests.
// `secure` starts it as production runs it: HTTPS, mutual TLS between peers and no shared
// secrets (`e2e/tls.ts` makes the certificates).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir, homedir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { fetchTrusting, makeTestPki, type NodeFetch, type TestPki } from "./tls";

const repo = resolve(import.meta.dirname, "..", "..");

export function lockdBinary(): string {
  if (process.env.LOCKD_BIN) return process.env.LOCKD_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "lockd", "target");
  return join(target, "debug", "lockd");
}

export interface ClusterOptions {
  /** Lease length (the product's default is 5 minutes). */
  lockTtlMs?: number;
  /** How long a holder's closed tab keeps the lock before the server drops it. */
  disconnectGraceMs?: number;
  /** Dev mode (`--dev`: the demo sign-in): on unless false; with `secure`, off unless true. */
  dev?: boolean;
  /**
   * As production runs it: HTTPS on every node (`--tls-cert-file`, a certificate naming
   * 127.0.0.1 and localhost), mutual TLS between peers (`--peer-tls-*`, each node its own key
   * pair and certificate naming 127.0.0.1, the host of its member address), all of a CA made
   * for the run; no cluster secret (the peers' certificates say who they are), no JWT secret
   * and no dev mode (tokens come from the identity provider `extraArgs` names: `oidcFlags`).
   */
  secure?: boolean;
  /** More flags for every node (an identity provider's, `e2e/idp.ts`). */
  extraArgs?: string[];
  /** A token to look for the demo appointments with, where dev login is off. */
  probeToken?: (url: string) => Promise<string>;
}

export interface Cluster {
  /** http(s)://127.0.0.1:port of each node, node 1 first. */
  urls: string[];
  /** http(s)://127.0.0.1:port of node `id` (1-based). */
  url(id: number): string;
  dataDir: string;
  /** 127.0.0.1:port of each node's peer (Raft, gRPC) listener, node 1 first. */
  peerAddrs: string[];
  /** The run's CA and certificates, when `secure`. */
  pki: TestPki | null;
  /** `fetch` for the nodes: over HTTPS it trusts the run's CA alone and checks the node's name. */
  fetch: NodeFetch;
  /** The node id of the current leader, as node 1 sees it. */
  leader(): Promise<number>;
  /** SIGKILL node `id` (1-based) and wait until it is gone. */
  kill(id: number): Promise<void>;
  /** Start node `id` again on its data and wait until it is ready. */
  restart(id: number): Promise<void>;
  stop(): Promise<void>;
}

/** `count` distinct free loopback ports: all listeners stay open until every port is known,
 * so no two of ours can be the same (a port closed and asked for again may come back). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolveServer, reject) => {
          const server = createServer();
          server.on("error", reject);
          server.listen(0, "127.0.0.1", () => resolveServer(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, children: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
    if (exited) throw new Error(`a lockd node exited (${exited.exitCode ?? exited.signalCode}) while waiting for ${what}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  // A port we found free may be taken by another process before the node binds it; the node
  // then exits at start. Try again on fresh ports, saying so.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error && error.message.includes("exited"))) throw error;
      console.warn(`cluster start failed, trying again on other ports: ${error.message.split("\n")[0]}`);
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<Cluster> {
  const secure = options.secure === true;
  const dev = options.dev ?? !secure;
  if (!dev && !options.probeToken) throw new Error("a cluster without dev mode needs a probeToken (an identity provider's)");
  const dataDir = mkdtempSync(join(tmpdir(), "lockd-e2e-"));
  const secretFile = (name: string) => {
    const file = join(dataDir, name);
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
    return file;
  };
  // Without dev mode a secure cluster trusts only the identity provider's tokens.
  const secrets = secure
    ? dev
      ? ["--jwt-secret-file", secretFile("jwt-secret")]
      : []
    : ["--jwt-secret-file", secretFile("jwt-secret"), "--cluster-secret-file", secretFile("cluster-secret")];
  const ports = await freePorts(6);
  const nodes = [1, 2, 3].map((id) => ({ id, http: nth(ports, 2 * (id - 1)), raft: nth(ports, 2 * (id - 1) + 1) }));
  const pki = secure ? makeTestPki(join(dataDir, "tls"), nodes.map((n) => n.id)) : null;
  const tlsArgs = (id: number): string[] => {
    if (!pki) return [];
    const peer = pki.peers.get(id);
    if (!peer) throw new Error(`no peer certificate for node ${id}`);
    return [
      "--tls-cert-file", pki.https.certFile,
      "--tls-key-file", pki.https.keyFile,
      "--peer-tls-cert-file", peer.certFile,
      "--peer-tls-key-file", peer.keyFile,
      "--peer-tls-ca-file", pki.caFile,
    ];
  };
  const peers = nodes.map((n) => `${n.id}=127.0.0.1:${n.raft}/127.0.0.1:${n.http}`).join(",");
  const launch = (n: (typeof nodes)[number]): ChildProcess => {
    const log = openSync(join(dataDir, `node-${n.id}.log`), "a");
    const args = [
      "--node-id", String(n.id),
      "--data-dir", join(dataDir, `node-${n.id}`),
      "--http-addr", `127.0.0.1:${n.http}`,
      "--raft-addr", `127.0.0.1:${n.raft}`,
      "--peers", peers,
      ...(dev ? ["--dev"] : []),
      // LOCKD_WEB_DIR: another build of the app, e.g. the previous commit's, to see a new test fail on it.
      "--web-dir", process.env.LOCKD_WEB_DIR ?? join(repo, "web", "dist"),
      ...secrets,
      ...tlsArgs(n.id),
      "--lock-ttl-ms", String(options.lockTtlMs ?? 300_000),
      "--disconnect-grace-ms", String(options.disconnectGraceMs ?? 5_000),
      ...(n.id === 1 ? ["--seed-demo"] : []),
      ...(options.extraArgs ?? []),
    ];
    return spawn(lockdBinary(), args, { stdio: ["ignore", log, log] });
  };
  const children = nodes.map(launch);
  const urls = nodes.map((n) => `${secure ? "https" : "http"}://127.0.0.1:${n.http}`);
  const get: NodeFetch = pki ? fetchTrusting(pki.caPem) : (url, init) => fetch(url, init);
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              done();
              return;
            }
            child.once("exit", () => done());
            child.kill("SIGTERM");
            setTimeout(() => {
              if (child.exitCode === null) child.kill("SIGKILL");
            }, 5_000).unref();
          }),
      ),
    );
    if (!process.env.LOCKD_E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (const url of urls) {
      await waitFor(`${url}/readyz`, async () => (await get(`${url}/readyz`)).ok, 60_000, children);
    }
    // The demo appointments are created by node 1 once a leader exists.
    await waitFor(
      "the demo appointments",
      async () => {
        const token = options.probeToken
          ? await options.probeToken(nth(urls, 1))
          : await devToken(nth(urls, 1), { userId: "probe", name: "Probe", email: "probe@example.com", role: "user" });
        const answer = await get(`${nth(urls, 2)}/appointments`, { headers: { Authorization: `Bearer ${token}` } });
        const body = (await answer.json()) as { appointments?: unknown[] };
        return (body.appointments?.length ?? 0) >= 4;
      },
      30_000,
      children,
    );
  } catch (error) {
    // Say why: the last lines of each node's log, before they are removed.
    const logs = nodes
      .map((n) => {
        const text = readFileSync(join(dataDir, `node-${n.id}.log`), "utf8").trimEnd().split("\n").slice(-8).join("\n");
        return `--- node ${n.id}\n${text}`;
      })
      .join("\n");
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs}`, { cause: error });
  }
  const exited = (child: ChildProcess) =>
    new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : child.once("exit", () => done())));
  return {
    urls,
    url: (id) => nth(urls, id - 1),
    dataDir,
    peerAddrs: nodes.map((n) => `127.0.0.1:${n.raft}`),
    pki,
    fetch: get,
    stop,
    async leader() {
      const status = (await (await get(`${nth(urls, 0)}/cluster/status`)).json()) as { leaderId: number | null };
      if (status.leaderId === null) throw new Error("no leader");
      return status.leaderId;
    },
    async kill(id) {
      const child = nth(children, id - 1);
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart(id) {
      const child = launch(nth(nodes, id - 1));
      children[id - 1] = child;
      const url = nth(urls, id - 1);
      await waitFor(`${url}/readyz after a restart`, async () => (await get(`${url}/readyz`)).ok, 60_000, [child]);
    },
  };
}

export async function devToken(url: string, profile: { userId: string; name: string; email: string; role: string }): Promise<string> {
  const answer = await fetch(`${url}/auth/dev-login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(profile),
  });
  if (!answer.ok) throw new Error(`dev-login: ${answer.status}`);
  return ((await answer.json()) as { token: string }).token;
}

/** `items[index]`, or a clear error instead of an undefined that fails later. */
export function nth<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`no item ${index} of ${items.length}`);
  return item;
}

export const screenshotDir = join(repo, "docs", "screenshots");
