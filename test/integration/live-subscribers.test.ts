import { type ExecutionResult, subscribe } from "graphql";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Deps } from "../../src/deps.ts";
import { createLivePubSub, type LivePubSub } from "../../src/pubsub/pubsub.ts";
import { liveChannel } from "../../src/pubsub/topics.ts";
import type { DeliveryAttemptView } from "../../src/pubsub/views.ts";
import type { Context } from "../../src/schema/builder.ts";
import { schema } from "../../src/schema/index.ts";
import {
  CreateEndpointDocument,
  LiveDeliveryAttemptsDocument,
  type LiveDeliveryAttemptsSubscription,
  PublishEventDocument,
} from "../generated/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const BACKLOG_LIMIT = 5;

/**
 * The subscription resolvers, run directly against the schema on a real
 * Hookpost's Redis channels: a live pub/sub of our own (with a small backlog
 * limit) and a Prisma client that counts what touches it.
 */
describe("live subscribers", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  let pubsub: LivePubSub;
  const connections: Redis[] = [];
  const prismaUse: string[] = [];
  let context: Context;

  beforeAll(async () => {
    hp = await startTestHookpost();
    receiver = await startReceiver();
    connections.push(new Redis(hp.config.redis.url), new Redis(hp.config.redis.url));
    pubsub = createLivePubSub(hp.config, connections[0]!, connections[1]!, { backlogLimit: BACKLOG_LIMIT });
    const prisma = new Proxy(hp.db.prisma, {
      get(target, key, receiver) {
        prismaUse.push(String(key));
        return Reflect.get(target, key, receiver);
      },
    });
    // Only what the live resolvers use.
    const deps = { config: hp.config, prisma, pubsub } as unknown as Deps;
    context = {
      viewer: { workspaceId: hp.workspace.id, via: "api-key", keyId: null, scopes: ["ADMIN"] },
      deps,
    };
    await hp.workspace.client.ok(CreateEndpointDocument, { input: { url: receiver.url, eventTypes: ["*"] } });
  });

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.quit()));
    await receiver?.close();
    await hp?.stop();
  });

  const subscribeToAttempts = async () => {
    const result = await subscribe({ schema, document: LiveDeliveryAttemptsDocument, contextValue: context });
    if (!(Symbol.asyncIterator in result)) throw new Error(`not a stream: ${JSON.stringify(result)}`);
    return result as AsyncGenerator<ExecutionResult<LiveDeliveryAttemptsSubscription>>;
  };

  it("resolves a message's event, endpoint and delivery from the message itself, without a query", async () => {
    const stream = await subscribeToAttempts();
    const captured = pubsub.subscribe("delivery-attempt", hp.workspace.id);
    await captured.ready;
    const { publishEvent } = await hp.workspace.client.ok(PublishEventDocument, {
      input: { type: "email.sent", data: { to: "a@example.com" } },
    });
    prismaUse.length = 0;
    const { value } = await stream.next();
    expect(value?.errors).toBeUndefined();
    expect(value?.data?.deliveryAttempts).toMatchObject({
      number: 1,
      responseStatus: 200,
      event: { id: publishEvent.id, type: "email.sent" },
      endpoint: { url: receiver.url, enabled: true },
      delivery: { status: "SUCCEEDED", attemptCount: 1 },
    });
    expect(prismaUse).toEqual([]);
    // Signing secrets do not cross Redis.
    const { value: onTheWire } = await captured.next();
    expect(onTheWire?.endpoint).not.toHaveProperty("secret");
    expect(onTheWire?.endpoint).not.toHaveProperty("previousSecret");
    await captured.return();
    await stream.return(undefined);
  });

  it("drops a subscriber that falls too far behind, and only that one", async () => {
    const healthy = await subscribeToAttempts();
    const stalled = await subscribeToAttempts();
    const source = pubsub.subscribe("delivery-attempt", hp.workspace.id);
    await source.ready;
    await hp.workspace.client.ok(PublishEventDocument, { input: { type: "email.opened", data: {} } });
    const { value: real } = await source.next();
    await source.return();

    // The healthy subscriber reads each message as it comes; the stalled one reads none.
    const received = [(await healthy.next()).value?.data?.deliveryAttempts.number];
    for (let n = 101; n <= 100 + 3 * BACKLOG_LIMIT; n++) {
      pubsub.publish("delivery-attempt", hp.workspace.id, { ...(real as DeliveryAttemptView), number: n });
      received.push((await healthy.next()).value?.data?.deliveryAttempts.number);
    }
    expect(received).toEqual([1, ...Array.from({ length: 3 * BACKLOG_LIMIT }, (_, i) => 101 + i)]);

    await expect(stalled.next()).rejects.toMatchObject({ extensions: { code: "RATE_LIMITED" } });
    await healthy.return(undefined);
    // Once its last subscriber is gone, the process leaves the channel.
    const channel = liveChannel(hp.config.redis.prefix, "delivery-attempt", hp.workspace.id);
    await waitFor(async () => {
      const [, count] = (await connections[0]!.pubsub("NUMSUB", channel)) as [string, number];
      return Number(count) === 0;
    }, "the channel to be left");
  });
});
