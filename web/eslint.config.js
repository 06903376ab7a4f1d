// ESLint for the web app, part of the test suite (`npm run lint`, run by deploy/test.sh) so that
// reviews are about meaning. Type-aware rules: the TypeScript project service reads the same
// tsconfig files `tsc -b` does, so the linter and the compiler agree on every type.
import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: [
      "dist/",
      "test-results/",
      "node_modules/",
      "playwright-report/",
      "packages/*/dist/",
      // Written by openapi-typescript (`npm run generate`), checked against openapi.json by a test.
      "packages/client/src/generated/",
      // Installs the packed tarballs, outside the workspace; its own build checks it.
      "examples/",
    ],
  },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // These files are plain JavaScript outside every tsconfig; lint them with the defaults.
          allowDefaultProject: ["eslint.config.js", "e2e/idp/*.mjs"],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Numbers and booleans in template strings read naturally ("version 3", "2 s").
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      // `void promise` marks a deliberately unawaited call (the handlers of React events).
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
    },
  },
  {
    files: ["src/**/*.{ts,tsx}", "packages/*/src/**/*.{ts,tsx}"],
    ...reactHooks.configs.flat["recommended-latest"],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ["e2e/**/*.ts", "*.config.{ts,js}"],
    languageOptions: { globals: globals.node },
  },
  {
    // The config and the test identity provider (run by node as it is) are JavaScript: no
    // type information to check them against.
    files: ["eslint.config.js", "e2e/idp/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["e2e/idp/*.mjs"],
    languageOptions: { globals: globals.node },
  },
);
