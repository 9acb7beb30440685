import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { startHookpost } from "../../src/main.ts";
import { createWorkspace } from "../../src/services/workspaces.ts";
import {
  CreateFormattedEndpointDocument,
  PublishEventDocument,
  RotateEndpointSecretToDocument,
} from "../generated/graphql.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { deliveryOf, waitForDeliveryStatus } from "../support/deliveries.ts";
import { graphqlClient } from "../support/graphql.ts";
import { testEnv } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { deleteRedisKeys } from "../support/redis.ts";

describe("secrets in the logs", () => {
  const logged: string[] = [];
  let db: TestDatabase;
  let receiver: Receiver;
  let hookpost: Awaited<ReturnType<typeof startHookpost>>;
  let config: ReturnType<typeof loadConfig>;

  beforeAll(async () => {
    db = await createTestDatabase();
    config = loadConfig(testEnv({ DATABASE_URL: db.url, LOG_LEVEL: "trace" }));
    const logger = pino({ level: "trace" }, { write: (line: string) => logged.push(line) });
    hookpost = await startHookpost(config, logger, ["api", "worker"]);
    receiver = await startReceiver(() => ({ status: 500 }));
  });
  afterAll(async () => {
    await hookpost?.stop();
    await receiver?.close();
    await deleteRedisKeys(config.redis.url, config.redis.prefix);
    await db?.drop();
  });

  it("are never logged, at any level, through create, refusal, rotation and failing deliveries", async () => {
    const { apiKey } = await createWorkspace(db.prisma, "logs");
    const client = graphqlClient(`http://127.0.0.1:${hookpost.port}/graphql`, `Bearer ${apiKey}`);
    const secrets = ["a-first-secret-never-logged", "a-second-secret-never-logged", "too-short"];
    const { createEndpoint } = await client.ok(CreateFormattedEndpointDocument, {
      input: { url: receiver.url, format: "POSTHAWK", eventTypes: ["bounce"], secret: secrets[0] },
    });
    const id = createEndpoint.endpoint.id;
    await client.fails(RotateEndpointSecretToDocument, { id, secret: secrets[2] });
    await client.ok(RotateEndpointSecretToDocument, { id, secret: secrets[1], gracePeriodSeconds: 60 });
    const { publishEvent } = await client.ok(PublishEventDocument, { input: { type: "bounce", data: {} } });
    const delivery = await deliveryOf(client, publishEvent.id, id);
    await waitForDeliveryStatus(client, delivery.id, "FAILED");

    const logs = logged.join("");
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(logs).not.toContain(secret);
  });
});
