/// <reference types="node" />
// The REST types are written by openapi-typescript from `openapi.json` (`npm run generate`)
// and committed, so a build needs neither a network nor a running node. This test generates
// them again and fails when the committed file is not what the committed document gives:
// someone changed one without the other.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

describe("src/generated/openapi.ts", () => {
  it("is exactly what openapi-typescript makes of openapi.json", () => {
    const require = createRequire(import.meta.url);
    const cli = join(dirname(require.resolve("openapi-typescript/package.json")), "bin", "cli.js");
    const out = mkdtempSync(join(tmpdir(), "lockd-openapi-"));
    try {
      const fresh = join(out, "openapi.ts");
      execFileSync(process.execPath, [cli, join(packageDir, "openapi.json"), "--output", fresh], { stdio: "pipe" });
      const committed = readFileSync(join(packageDir, "src", "generated", "openapi.ts"), "utf8");
      expect(committed, "run `npm run generate` in web/ and commit the result").toBe(readFileSync(fresh, "utf8"));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
