import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPrismaClient, type Db, preparedStatementName } from "../../src/db/client.ts";
import { createDeliveryLoader } from "../../src/services/deliveryLoader.ts";
import { insertEventsAndDeliveries } from "../../src/services/eventInserts.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

describe("preparedStatementName", () => {
  it("names only marked statements, one name per text", () => {
    expect(preparedStatementName('SELECT 1 FROM "Delivery"')).toBeUndefined();
    const a = preparedStatementName("/* prepared:load */ SELECT $1");
    const b = preparedStatementName("\n  /* prepared:load */ SELECT $1, $2");
    expect(a).toMatch(/^load_[0-9a-z]+$/);
    expect(b).toMatch(/^load_[0-9a-z]+$/);
    expect(a).not.toBe(b);
    expect(preparedStatementName("/* prepared:load */ SELECT $1")).toBe(a);
  });
});

describe("the hot statements", () => {
  let t: TestDatabase;
  /** One connection, so its prepared statements can be listed. */
  let prisma: Db;
  beforeAll(async () => {
    t = await createTestDatabase();
    prisma = createPrismaClient({ url: t.url, poolMax: 1 });
    await prisma.workspace.create({ data: { id: "ws_p", name: "p" } });
    await prisma.endpoint.create({
      data: {
        id: "ep_p",
        workspaceId: "ws_p",
        url: "https://example.com/",
        eventTypes: ["*"],
        secret: "whsec_x",
      },
    });
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await t?.drop();
  });

  it("are parsed once per connection and then only executed", async () => {
    const loader = createDeliveryLoader(prisma);
    const runs = 7;
    for (let n = 0; n < runs; n++) {
      const events = Array.from({ length: n + 1 }, (_, i) => ({
        id: `evt_p_${n}_${i}`,
        workspaceId: "ws_p",
        type: "email.sent",
        payload: { n, i },
        occurredAt: new Date(),
      }));
      const { deliveryIds } = await insertEventsAndDeliveries(prisma, "ws_p", new Date(), events);
      expect(deliveryIds).toHaveLength(n + 1);
      const loaded = await Promise.all(deliveryIds.map((id) => loader.run(id)));
      expect(loaded.map((d) => d?.event.payload)).toEqual(events.map((e) => e.payload));
    }
    const statements = await prisma.$queryRaw<{ name: string; executions: number }[]>`
      SELECT name, (generic_plans + custom_plans)::int AS executions FROM pg_prepared_statements ORDER BY name`;
    expect(statements).toEqual([
      { name: expect.stringMatching(/^insert-events_/), executions: runs },
      { name: expect.stringMatching(/^load-deliveries_/), executions: runs },
    ]);
  });
});
