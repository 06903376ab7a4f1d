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
      // What an example's own `npm install` and build leave (e2e/packages.spec.ts builds a copy).
      "examples/*/dist/",
      "examples/*/node_modules/",
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
    // The examples install the packed tarballs and are no workspace members: their own
    // tsconfig.json reads the packages' dist/ declarations, which exist only after a build, so
    // the project service (which picks the nearest tsconfig.json) would find no types in a fresh
    // checkout. They are linted with tsconfig.examples.json instead: their own compiler options
    // with the packages read from source, as the app reads them.
    files: ["examples/*/src/**/*.{ts,tsx}"],
    languageOptions: {
      parserOptions: {
        projectService: false,
        project: "./tsconfig.examples.json",
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ["src/**/*.{ts,tsx}", "packages/*/src/**/*.{ts,tsx}", "examples/*/src/**/*.{ts,tsx}"],
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
