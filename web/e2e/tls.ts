// Certificates for a secured test cluster (`startCluster({ secure: true })`): a CA made for the
// run, an HTTPS certificate every node serves, and one peer certificate per node, each with its
// own key pair. Keys and certificates live in the run's temp dir and go with it.
//
// Made with Debian's `openssl` CLI rather than an npm package (`@peculiar/x509`, `selfsigned`):
// it is on every machine that runs these tests already (Debian's base), adds nothing to
// package-lock.json, and its commands are the ones an operator types for a private CA
// (docs/operations.md, "HTTPS" and "Mutual TLS between peers"), so the test exercises lockd with
// files made the way people make them. Node's own crypto reads them back (the SPKI pin).

import { execFileSync } from "node:child_process";
import { createHash, createPublicKey, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";

export interface KeyPair {
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  /** The CA's certificate (PEM file), which every node's peer certificate and the HTTPS one chain to. */
  caFile: string;
  caPem: string;
  /** The HTTPS certificate every node serves: names 127.0.0.1 (IP SAN) and localhost. */
  https: KeyPair;
  /** base64 SHA-256 of the HTTPS key's SubjectPublicKeyInfo, as Chromium's
   * `--ignore-certificate-errors-spki-list` takes it. */
  httpsSpkiPin: string;
  /** Each node's peer (mutual TLS) certificate, by node id: names 127.0.0.1, the host of its
   * member address; server and client use. */
  peers: Map<number, KeyPair>;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A P-256 key, PKCS#8 PEM (`BEGIN PRIVATE KEY`), readable only by us. */
function newKey(file: string): void {
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file]);
}

/** The run's PKI in `dir`, with a peer certificate for each of `nodeIds`. */
export function makeTestPki(dir: string, nodeIds: number[]): TestPki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.crt");
  newKey(caKey);
  const caConfig = join(dir, "ca.cnf");
  writeFileSync(
    caConfig,
    [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "x509_extensions = ext",
      "[dn]",
      `CN = lockd e2e CA ${randomBytes(4).toString("hex")}`,
      "[ext]",
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign",
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  openssl(["req", "-new", "-x509", "-config", caConfig, "-key", caKey, "-days", "2", "-out", caFile]);

  /** A leaf of the CA for `sans`, with `usage` (extendedKeyUsage). */
  const leaf = (name: string, sans: string, usage: string): KeyPair => {
    const keyFile = join(dir, `${name}.key`);
    const certFile = join(dir, `${name}.crt`);
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    newKey(keyFile);
    openssl(["req", "-new", "-key", keyFile, "-subj", `/CN=${name}`, "-out", csr]);
    writeFileSync(
      ext,
      [
        "basicConstraints = critical, CA:FALSE",
        "keyUsage = critical, digitalSignature",
        `extendedKeyUsage = ${usage}`,
        `subjectAltName = ${sans}`,
        "authorityKeyIdentifier = keyid",
        "",
      ].join("\n"),
    );
    const serial = `0x${randomBytes(8).toString("hex")}`;
    openssl(["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-set_serial", serial, "-days", "2", "-extfile", ext, "-out", certFile]);
    return { certFile, keyFile };
  };

  const https = leaf("https", "IP:127.0.0.1, DNS:localhost", "serverAuth");
  const peers = new Map(nodeIds.map((id) => [id, leaf(`peer-${id}`, "IP:127.0.0.1", "serverAuth, clientAuth")]));
  const spki = createPublicKey(readFileSync(https.keyFile)).export({ type: "spki", format: "der" });
  return {
    caFile,
    caPem: readFileSync(caFile, "utf8"),
    https,
    httpsSpkiPin: createHash("sha256").update(spki).digest("base64"),
    peers,
  };
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The name to check the node's certificate against (SNI too), when not the URL's host. */
  servername?: string;
}

/** What the tests use to call a node. */
export type NodeFetch = (url: string, init?: FetchInit) => Promise<Response>;

/**
 * `fetch` for nodes whose HTTPS certificate is of `caPem`: Node checks the chain against that
 * CA alone and the certificate's name against the URL's host (an IP SAN for 127.0.0.1), as a
 * real client does. Node 20's global fetch cannot be given a CA per call (no undici Agent to
 * pass without the package), so this is `https.request` with the answer as a `Response`.
 */
export function fetchTrusting(caPem: string): NodeFetch {
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? "GET",
          headers: init.headers ?? {},
          ca: caPem,
          agent: false,
          ...(init.servername ? { servername: init.servername } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", reject);
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const headers = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
            }
            const body = Buffer.concat(chunks);
            resolve(new Response(status === 204 || status === 304 || body.length === 0 ? null : body, { status, headers }));
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer in 10 s`)));
      req.on("error", reject);
      req.end(init.body);
    });
}
