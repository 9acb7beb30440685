import { afterAll, beforeAll, expect, it } from "vitest";
import type { Deps } from "../../src/deps.ts";
import { pruneExpired } from "../../src/services/retention.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

it("prunes inbound log entries older than the retention period and keeps newer ones", async () => {
  const { prisma } = t;
  await prisma.workspace.create({ data: { id: "ws_r", name: "R" } });
  await prisma.inboundSource.create({
    data: {
      id: "isrc_r",
      workspaceId: "ws_r",
      provider: "GENERIC",
      name: "g",
      verification: { secret: "s" },
    },
  });
  const now = new Date("2026-06-01T00:00:00Z");
  const entry = (id: string, daysAgo: number) => ({
    id,
    workspaceId: "ws_r",
    sourceId: "isrc_r",
    status: "ACCEPTED" as const,
    eventIds: [],
    body: "{}",
    createdAt: new Date(now.getTime() - daysAgo * 86_400_000),
  });
  await prisma.inboundMessage.createMany({ data: [entry("imsg_old", 31), entry("imsg_new", 29)] });
  const deps = { prisma, config: { retention: { days: 30 } } } as unknown as Deps;
  expect(await pruneExpired(deps, now)).toMatchObject({ inboundMessages: 1 });
  expect((await prisma.inboundMessage.findMany()).map((m) => m.id)).toEqual(["imsg_new"]);
});
