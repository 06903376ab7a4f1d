/// <reference types="vitest/config" />
import { defaultClientConditions, defaultServerConditions, defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// `npm run dev` serves the app with hot reload and sends API and WebSocket traffic to a node
// of the local cluster (deploy/local-cluster.sh up), so the app keeps one origin as in production.
const node = process.env.LOCKD_DEV_NODE ?? "http://127.0.0.1:8081";
// `/auth/callback` is the app's (the identity provider's way back), the rest of `/auth` the API's.
const api = ["/appointments", "/updates", "/audit", "^/auth/(?!callback)", "/cluster", "/healthz", "/readyz"];

// The workspace's packages are read from their sources ("@lockd/source" in their exports), so
// the app, its tests and its dev server need no build of them first.
const sourceConditions = ["@lockd/source"];

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { conditions: [...sourceConditions, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [...sourceConditions, ...defaultServerConditions] } },
  server: {
    proxy: Object.fromEntries(api.map((path) => [path, { target: node, ws: true }])),
  },
  build: { sourcemap: true },
  test: {
    include: ["src/**/*.test.ts", "packages/*/src/**/*.test.{ts,tsx}"],
    // Node by default; a file that mounts components says `// @vitest-environment happy-dom`
    // on its first line. happy-dom rather than jsdom: jsdom 31 needs Node 22.22 or later, and
    // the workspace supports Node 20.19 (`engines`).
    environment: "node",
  },
});
