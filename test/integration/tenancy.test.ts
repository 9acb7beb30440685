import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/services/workspaces.ts";
import {
  CreateEndpointDocument,
  DeleteEndpointDocument,
  GetDeliveryDocument,
  GetEndpointDocument,
  GetEventDocument,
  ListEndpointsDocument,
  ListEventsDocument,
  PublishEventDocument,
  ReplayDeliveryDocument,
  RotateEndpointSecretDocument,
  TestEndpointDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { deliveryOf, listDeliveries, waitForDeliveryStatus } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type ReceivedRequest, type Receiver, startReceiver } from "../support/receiver.ts";

/** The token with one signature character changed (not the last, whose low bits base64url decoding may drop). */
const tamper = (token: string) => {
  const at = token.length - 10;
  return token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
};

type Tenant = {
  id: string;
  url: string;
  client: GraphqlClient;
  endpointId: string;
  eventId: string;
  deliveryId: string;
};

/** Every id-taking operation, run with another workspace's ids. */
const mutationsOn = (ids: Tenant) =>
  [
    [
      "updateEndpoint",
      (c: GraphqlClient) =>
        c.fails(UpdateEndpointDocument, { id: ids.endpointId, input: { description: "mine now" } }),
    ],
    ["deleteEndpoint", (c: GraphqlClient) => c.fails(DeleteEndpointDocument, { id: ids.endpointId })],
    [
      "rotateEndpointSecret",
      (c: GraphqlClient) => c.fails(RotateEndpointSecretDocument, { id: ids.endpointId }),
    ],
    ["testEndpoint", (c: GraphqlClient) => c.fails(TestEndpointDocument, { id: ids.endpointId })],
    ["replayDelivery", (c: GraphqlClient) => c.fails(ReplayDeliveryDocument, { id: ids.deliveryId })],
  ] as const;

describe("tenancy and authentication", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  let a: Tenant;
  let b: Tenant;

  /** A workspace with one endpoint, one event and its delivered delivery. */
  async function tenant(name: string): Promise<Tenant> {
    const { id, client } = await hp.newWorkspace(name);
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: `${receiver.url}/${name}`, eventTypes: ["*"], description: name },
    });
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.sent", data: { tenant: name } },
    });
    const delivery = await deliveryOf(client, publishEvent.id, createEndpoint.endpoint.id);
    await waitForDeliveryStatus(client, delivery.id, "SUCCEEDED");
    return {
      id,
      client,
      url: createEndpoint.endpoint.url,
      endpointId: createEndpoint.endpoint.id,
      eventId: publishEvent.id,
      deliveryId: delivery.id,
    };
  }

  /** Requests to the tenant's endpoint (its own path on the shared receiver). */
  const sentFor = (t: Tenant) => (req: ReceivedRequest) => req.url === new URL(t.url).pathname;

  async function listedIds(client: GraphqlClient) {
    const [{ endpoints }, { events }, deliveries] = await Promise.all([
      client.ok(ListEndpointsDocument, { first: 100 }),
      client.ok(ListEventsDocument, { first: 100, filter: { includeTests: true } }),
      listDeliveries(client),
    ]);
    return [...endpoints.edges, ...events.edges].map((e) => e.node.id).concat(deliveries.map((d) => d.id));
  }

  const jwtFor = (workspace: string, secret = hp.config.auth.jwtSecret!, expires = "5m") =>
    new SignJWT({ workspace })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt()
      .setExpirationTime(expires)
      .sign(new TextEncoder().encode(secret));

  beforeAll(async () => {
    hp = await startTestHookpost();
    receiver = await startReceiver();
    a = await tenant("a");
    b = await tenant("b");
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  it("answers null for another workspace's endpoint, event and delivery", async () => {
    expect((await b.client.ok(GetEndpointDocument, { id: a.endpointId })).endpoint).toBeNull();
    expect((await b.client.ok(GetEventDocument, { id: a.eventId })).event).toBeNull();
    expect((await b.client.ok(GetDeliveryDocument, { id: a.deliveryId })).delivery).toBeNull();
    // The same queries find the owner's rows, so null above means "not yours", not "broken".
    expect((await a.client.ok(GetEndpointDocument, { id: a.endpointId })).endpoint?.id).toBe(a.endpointId);
    expect((await a.client.ok(GetEventDocument, { id: a.eventId })).event?.id).toBe(a.eventId);
    expect((await a.client.ok(GetDeliveryDocument, { id: a.deliveryId })).delivery?.id).toBe(a.deliveryId);
  });

  it("answers NOT_FOUND to mutations on another workspace's ids, and changes nothing", async () => {
    const attemptsOf = async () =>
      (await a.client.ok(GetDeliveryDocument, { id: a.deliveryId })).delivery?.attemptCount;
    const attemptsBefore = await attemptsOf();
    const sentBefore = receiver.requests.filter(sentFor(a)).length;
    for (const [name, run] of mutationsOn(a)) {
      expect(await run(b.client), name).toMatchObject({ code: "NOT_FOUND" });
    }
    const { endpoint } = await a.client.ok(GetEndpointDocument, { id: a.endpointId });
    expect(endpoint).toMatchObject({ id: a.endpointId, description: "a" });
    expect(await attemptsOf()).toBe(attemptsBefore);
    expect(receiver.requests.filter(sentFor(a))).toHaveLength(sentBefore);
  });

  it("never lists another workspace's rows", async () => {
    const seenByA = await listedIds(a.client);
    const seenByB = await listedIds(b.client);

    expect(seenByA).toEqual(expect.arrayContaining([a.endpointId, a.eventId, a.deliveryId]));
    expect(seenByB).toEqual(expect.arrayContaining([b.endpointId, b.eventId, b.deliveryId]));
    expect(seenByB.filter((id) => seenByA.includes(id))).toEqual([]);
  });

  it("refuses missing, malformed, unknown and revoked API keys", async () => {
    const revoked = await createApiKey(hp.db.prisma, a.id, "revoked");
    await hp.db.prisma.apiKey.updateMany({
      where: { workspaceId: a.id, name: "revoked" },
      data: { revokedAt: new Date() },
    });

    for (const authorization of [
      null,
      "",
      "Bearer",
      "Basic dXNlcjpwYXNz",
      "Bearer not-a-key",
      `Bearer hp_${"x".repeat(43)}`,
      `Bearer ${revoked}`,
      `${revoked}`,
    ]) {
      const result = await hp.client(authorization).fails(ListEndpointsDocument, {});
      expect(result, String(authorization)).toMatchObject({ code: "UNAUTHENTICATED" });
    }
  });

  it("accepts an HS256 JWT naming a workspace, and shows it only that workspace", async () => {
    const client = hp.client(`Bearer ${await jwtFor(a.id)}`);
    const seen = await listedIds(client);

    expect(seen).toEqual(expect.arrayContaining([a.endpointId, a.eventId, a.deliveryId]));
    expect(seen).not.toContain(b.endpointId);
    expect(seen).not.toContain(b.eventId);
    expect(seen).not.toContain(b.deliveryId);
    for (const [name, run] of mutationsOn(b)) {
      expect(await run(client), name).toMatchObject({ code: "NOT_FOUND" });
    }
  });

  it("refuses JWTs with a wrong secret, an expiry in the past or an unknown workspace", async () => {
    for (const token of [
      await jwtFor(a.id, "another-secret-0123456789abcdef"),
      await jwtFor(a.id, undefined, "-1m"),
      await jwtFor("ws_does_not_exist"),
      tamper(await jwtFor(a.id)),
    ]) {
      expect(await hp.client(`Bearer ${token}`).fails(ListEndpointsDocument, {})).toMatchObject({
        code: "UNAUTHENTICATED",
      });
    }
  });
});
