import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkspace } from "../../src/services/workspaces.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

const REPO = new URL("../..", import.meta.url).pathname;

describe("hookpost keys", () => {
  let db: TestDatabase;
  let workspaceId: string;
  const hookpost = (...args: string[]) =>
    promisify(execFile)(process.execPath, ["bin/hookpost.js", "keys", ...args], {
      cwd: REPO,
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: "silent" },
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ workspaceId } = await createWorkspace(db.prisma, "acme"));
  });
  afterAll(async () => {
    await db?.drop();
  });

  // Generous timeout: each child process compiles and loads the app on a busy machine.
  it("creates a scoped key in the only workspace, lists it and revokes it", {
    timeout: 180_000,
  }, async () => {
    const created = await hookpost("create", "ci", "producer", "--scopes", "publish,read");
    const key = /api key: (hp_\S+)/.exec(created.stdout)?.[1];
    expect(key, created.stdout).toBeDefined();
    const row = await db.prisma.apiKey.findFirstOrThrow({ where: { name: "ci producer" } });
    expect(row).toMatchObject({ workspaceId, scopes: ["PUBLISH", "READ"], prefix: key?.slice(0, 10) });

    const listed = await hookpost("list");
    expect(listed.stdout).toContain(row.id);
    expect(listed.stdout).toContain("PUBLISH,READ");
    expect(listed.stdout).not.toContain(key);

    await hookpost("revoke", row.id);
    expect((await db.prisma.apiKey.findUniqueOrThrow({ where: { id: row.id } })).revokedAt).toBeInstanceOf(
      Date,
    );

    const refused = await hookpost("create", "bad", "--scopes", "OWNER").catch(
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--scopes takes ADMIN, PUBLISH, READ"),
    });
  });
});
