import { defineConfig } from "vitest/config";
import base, { CLUSTER_TESTS } from "./vitest.config.ts";

/** `npm run test:cluster`: the Redis Cluster test, on its own (it starts a cluster and four processes). */
export default defineConfig({
  ...base,
  test: { ...base.test, include: CLUSTER_TESTS, exclude: [] },
});
