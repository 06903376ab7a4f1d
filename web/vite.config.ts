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
  build: {
    sourcemap: true,
    rolldownOptions: {
      output: {
        // One bundle was 584 kB (over Vite's 500 kB warning). The libraries that change only
        // with their version go in chunks of their own, so a release of the app leaves them in
        // the browser's cache: React (~215 kB of it), Motion (~140 kB), oidc-client-ts (~65 kB).
        // Every page needs all three (the sign-in and its renewals use oidc-client-ts; the list
        // and the form animate with Motion), so they are loaded at start, not on demand.
        codeSplitting: {
          groups: [
            { name: "react", test: /[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            { name: "motion", test: /[\\/]node_modules[\\/](motion|motion-dom|motion-utils|framer-motion)[\\/]/ },
            { name: "oidc", test: /[\\/]node_modules[\\/](oidc-client-ts|jwt-decode)[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "packages/*/src/**/*.test.{ts,tsx}"],
    // Node by default; a file that mounts components says `// @vitest-environment happy-dom`
    // on its first line. happy-dom rather than jsdom: jsdom 31 needs Node 22.22 or later, and
    // the workspace supports Node 20.19 (`engines`).
    environment: "node",
  },
});
