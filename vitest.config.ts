import { createRequire } from "node:module";
import { configDefaults, defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

/** Too long for `npm test`: run by `npm run test:cluster` (vitest.cluster.config.ts). */
export const CLUSTER_TESTS = ["test/integration/redis-cluster.test.ts"];

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds without an exports map: Node (and so
    // graphql-yoga) loads the CJS one, Vite would pick the ESM one for our
    // sources, and two GraphQLError classes would make yoga mask our errors.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Tests run `hookpost` as users do, from dist/: built here once if src/ changed.
    globalSetup: ["test/support/buildOnce.ts"],
    exclude: [...configDefaults.exclude, ...CLUSTER_TESTS],
    // Bounds for a real failure, never the expected duration: tests wait for outcomes
    // (test/support/wait.ts), and on a loaded 2-core host (load 15–40, or two suites at
    // once) a test that takes 10 s alone can take ten times that.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    // Files run in parallel; each has its own database, Redis prefix and ports.
    // Most of a test's time is spent waiting on I/O (receivers, retries), so
    // more files than cores run at once.
    pool: "forks",
    maxWorkers: 4,
  },
});
