import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portalKey, signPortalToken } from "../../src/services/portalSessions.ts";
import {
  CancelReplayDocument,
  CreateEndpointDocument,
  CreatePortalSessionDocument,
  DeleteEndpointDocument,
  GetDeliveryDocument,
  GetEndpointDocument,
  GetEventDocument,
  GetReplayDocument,
  ListEndpointsDocument,
  ListEventsDocument,
  ListReplaysDocument,
  LiveDeliveryAttemptsDocument,
  type LiveDeliveryAttemptsSubscription,
  PublishEventDocument,
  ReplayDeliveryDocument,
  ReplayEventsDocument,
  RotateEndpointSecretDocument,
  TestEndpointDocument,
  UpdateEndpointDocument,
  ViewerDocument,
} from "../generated/graphql.ts";
import { deliveryOf, listDeliveries, waitForDeliveryStatus } from "../support/deliveries.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Live, sseSubscribe, wsClient, wsSubscribe } from "../support/live.ts";
import { postGraphql } from "../support/rawGraphql.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

type Attempt = LiveDeliveryAttemptsSubscription["deliveryAttempts"];

/** The token with one signature character changed (not the last, whose low bits base64url decoding may drop). */
const tamper = (token: string) => {
  const at = token.length - 10;
  return token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
};

/** The token with its scope claim rewritten, keeping the original signature. */
const widen = (token: string) => {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  claims.portal.endpointIds = null;
  claims.portal.readOnly = false;
  return [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");
};

const HOUR_MS = 3_600_000;

describe("portal sessions", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  let admin: GraphqlClient;
  /** e1 receives email.sent; e2 receives email.sent and email.bounced. */
  let e1: string;
  let e2: string;
  let shared: { eventId: string; to1: string; to2: string };
  let onlyE2: { eventId: string; deliveryId: string };
  let workspaceReplayId: string;
  let other: { id: string; client: GraphqlClient; endpointId: string; deliveryId: string };

  const session = async (input: { endpointIds?: string[]; readOnly?: boolean; expiresInSeconds?: number }) =>
    (await admin.ok(CreatePortalSessionDocument, { input })).createPortalSession;
  const bearer = (token: string) => hp.client(`Bearer ${token}`);

  async function endpoint(client: GraphqlClient, name: string, eventTypes: string[]) {
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: `${receiver.url}/${name}`, eventTypes, description: name },
    });
    return createEndpoint.endpoint.id;
  }

  async function publish(client: GraphqlClient, type: string) {
    return (await client.ok(PublishEventDocument, { input: { type, data: { to: ["a@example.com"] } } }))
      .publishEvent.id;
  }

  const listedEndpoints = async (client: GraphqlClient) =>
    (await client.ok(ListEndpointsDocument, { first: 100 })).endpoints.edges.map((e) => e.node.id);
  const listedEvents = async (client: GraphqlClient) =>
    (await client.ok(ListEventsDocument, { first: 100 })).events.edges.map((e) => e.node.id);

  beforeAll(async () => {
    hp = await startTestHookpost();
    receiver = await startReceiver();
    admin = hp.workspace.client;
    e1 = await endpoint(admin, "e1", ["email.sent"]);
    e2 = await endpoint(admin, "e2", ["email.sent", "email.bounced"]);
    const sharedId = await publish(admin, "email.sent");
    const bouncedId = await publish(admin, "email.bounced");
    const [to1, to2, bounced] = await Promise.all([
      deliveryOf(admin, sharedId, e1),
      deliveryOf(admin, sharedId, e2),
      deliveryOf(admin, bouncedId, e2),
    ]);
    for (const d of [to1, to2, bounced]) await waitForDeliveryStatus(admin, d.id, "SUCCEEDED");
    shared = { eventId: sharedId, to1: to1.id, to2: to2.id };
    onlyE2 = { eventId: bouncedId, deliveryId: bounced.id };
    // A workspace-wide replay of an empty range: a replay no endpoint-scoped link may see, that sends nothing.
    const { replayEvents } = await admin.ok(ReplayEventsDocument, {
      input: { since: new Date(0).toISOString(), until: new Date(HOUR_MS).toISOString() },
    });
    workspaceReplayId = replayEvents.id;
    await waitFor(
      async () =>
        (await admin.ok(GetReplayDocument, { id: workspaceReplayId })).replay?.status === "COMPLETED",
      "the replay to complete",
    );

    const b = await hp.newWorkspace("other");
    const bEndpoint = await endpoint(b.client, "b", ["*"]);
    const bEvent = await publish(b.client, "email.sent");
    const bDelivery = await deliveryOf(b.client, bEvent, bEndpoint);
    other = { id: b.id, client: b.client, endpointId: bEndpoint, deliveryId: bDelivery.id };
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  it("creates a link whose token works as a bearer credential and says what it may do", async () => {
    const before = Date.now();
    const { url, token, expiresAt } = await session({ expiresInSeconds: 600 });

    expect(url).toBe(
      `${hp.config.http.publicUrl ?? `http://127.0.0.1:${hp.config.http.port}`}/#token=${token}`,
    );
    const expiresMs = new Date(expiresAt).getTime();
    expect(expiresMs).toBeGreaterThan(before + 500_000);
    expect(expiresMs).toBeLessThan(Date.now() + 700_000);
    const { viewer } = await bearer(token).ok(ViewerDocument);
    expect(viewer).toEqual({
      workspaceId: hp.workspace.id,
      workspaceName: "primary",
      kind: "PORTAL",
      readOnly: false,
      endpointIds: null,
      expiresAt: new Date(expiresMs).toISOString(),
    });
    expect(await listedEndpoints(bearer(token))).toEqual(expect.arrayContaining([e1, e2]));
    expect((await admin.ok(ViewerDocument)).viewer).toMatchObject({ kind: "API_KEY", readOnly: false });
  });

  it("refuses out-of-bounds lifetimes and endpoints that are not the workspace's", async () => {
    for (const input of [
      { expiresInSeconds: 59 },
      { expiresInSeconds: 604_801 },
      { endpointIds: [] },
      { endpointIds: [e1, other.endpointId] },
      { endpointIds: ["ep_does_not_exist"] },
    ]) {
      expect(await admin.fails(CreatePortalSessionDocument, { input }), JSON.stringify(input)).toMatchObject({
        code: "BAD_USER_INPUT",
      });
    }
  });

  it("shows an endpoint-scoped link only its endpoints, their deliveries, events and replays", async () => {
    const { token } = await session({ endpointIds: [e1] });
    const scoped = bearer(token);

    expect(await listedEndpoints(scoped)).toEqual([e1]);
    expect((await scoped.ok(GetEndpointDocument, { id: e2 })).endpoint).toBeNull();
    expect((await listDeliveries(scoped)).map((d) => d.id)).toEqual([shared.to1]);
    expect(await listDeliveries(scoped, { endpointId: e2 })).toEqual([]);
    expect((await scoped.ok(GetDeliveryDocument, { id: shared.to2 })).delivery).toBeNull();
    expect((await scoped.ok(GetDeliveryDocument, { id: shared.to1 })).delivery?.id).toBe(shared.to1);
    expect(await listedEvents(scoped)).toEqual([shared.eventId]);
    expect((await scoped.ok(GetEventDocument, { id: onlyE2.eventId })).event).toBeNull();
    const { event } = await scoped.ok(GetEventDocument, { id: shared.eventId });
    expect(event?.deliveries.map((d) => d.id)).toEqual([shared.to1]);
    expect((await scoped.ok(GetReplayDocument, { id: workspaceReplayId })).replay).toBeNull();
    expect((await scoped.ok(ListReplaysDocument, { first: 100 })).replays.edges).toEqual([]);
    // The same link with every endpoint sees both, so the answers above are the scope's doing.
    expect(await listedEvents(bearer((await session({})).token))).toEqual(
      expect.arrayContaining([shared.eventId, onlyE2.eventId]),
    );
  });

  it("refuses an endpoint-scoped link every change outside its endpoints, and allows it inside", async () => {
    const scoped = bearer((await session({ endpointIds: [e1] })).token);
    const outside = [
      () => scoped.fails(UpdateEndpointDocument, { id: e2, input: { description: "taken" } }),
      () => scoped.fails(DeleteEndpointDocument, { id: e2 }),
      () => scoped.fails(RotateEndpointSecretDocument, { id: e2 }),
      () => scoped.fails(TestEndpointDocument, { id: e2 }),
      () => scoped.fails(ReplayDeliveryDocument, { id: shared.to2 }),
      () => scoped.fails(CancelReplayDocument, { id: workspaceReplayId }),
      () =>
        scoped.fails(ReplayEventsDocument, {
          input: {
            since: new Date(Date.now() - HOUR_MS).toISOString(),
            until: new Date().toISOString(),
            endpointId: e2,
          },
        }),
    ];
    for (const run of outside) expect(await run()).toMatchObject({ code: "NOT_FOUND" });
    const sentBefore = receiver.requests.length;
    expect(
      await scoped.fails(CreateEndpointDocument, {
        input: { url: `${receiver.url}/new`, eventTypes: ["*"] },
      }),
    ).toMatchObject({ code: "FORBIDDEN" });
    expect(
      await scoped.fails(ReplayEventsDocument, {
        input: { since: new Date(Date.now() - HOUR_MS).toISOString(), until: new Date().toISOString() },
      }),
    ).toMatchObject({ code: "FORBIDDEN" });
    expect((await admin.ok(GetEndpointDocument, { id: e2 })).endpoint?.description).toBe("e2");
    expect(receiver.requests.length).toBe(sentBefore);

    const { updateEndpoint } = await scoped.ok(UpdateEndpointDocument, {
      id: e1,
      input: { description: "mine" },
    });
    expect(updateEndpoint.description).toBe("mine");
    await scoped.ok(UpdateEndpointDocument, { id: e1, input: { description: "e1" } });
  });

  it("refuses a read-only link every mutation with FORBIDDEN, and changes nothing", async () => {
    const { token } = await session({ readOnly: true });
    const readOnly = bearer(token);
    const since = new Date(Date.now() - HOUR_MS).toISOString();
    const until = new Date().toISOString();
    const sentBefore = receiver.requests.length;
    const refusals = [
      await readOnly.fails(CreateEndpointDocument, {
        input: { url: `${receiver.url}/ro`, eventTypes: ["*"] },
      }),
      await readOnly.fails(UpdateEndpointDocument, { id: e1, input: { description: "changed" } }),
      await readOnly.fails(DeleteEndpointDocument, { id: e1 }),
      await readOnly.fails(RotateEndpointSecretDocument, { id: e1 }),
      await readOnly.fails(TestEndpointDocument, { id: e1 }),
      await readOnly.fails(ReplayDeliveryDocument, { id: shared.to1 }),
      await readOnly.fails(ReplayEventsDocument, { input: { since, until, endpointId: e1 } }),
      await readOnly.fails(CancelReplayDocument, { id: workspaceReplayId }),
      await readOnly.fails(PublishEventDocument, { input: { type: "email.sent", data: {} } }),
      await readOnly.fails(CreatePortalSessionDocument, { input: {} }),
    ];
    for (const refusal of refusals) expect(refusal).toMatchObject({ code: "FORBIDDEN" });
    for (const mutation of [
      `mutation { createApiKey(input: { name: "x", scopes: [ADMIN] }) { key } }`,
      `mutation { revokeApiKey(id: "key_x") { id } }`,
      `mutation { deleteInboundSource(id: "src_x") }`,
    ]) {
      const { body } = await postGraphql(hp.url, `Bearer ${token}`, mutation);
      expect(body.errors?.[0]?.extensions?.code, mutation).toBe("FORBIDDEN");
    }
    expect((await readOnly.ok(ViewerDocument)).viewer.readOnly).toBe(true);
    expect(await listedEndpoints(readOnly)).toEqual(expect.arrayContaining([e1, e2]));
    expect((await admin.ok(GetEndpointDocument, { id: e1 })).endpoint?.description).toBe("e1");
    expect(receiver.requests.length).toBe(sentBefore);
  });

  it("refuses any portal link the workspace's own settings, publishing and new portal links", async () => {
    const { token } = await session({});
    for (const operation of [
      `mutation { createPortalSession(input: {}) { token } }`,
      `mutation { publishEvent(input: { type: "email.sent", data: {} }) { id } }`,
      `query { apiKeys { id } }`,
      `query { inboundSources { id } }`,
      `query { ...Keys } fragment Keys on Query { apiKeys { id } }`,
    ]) {
      const { body } = await postGraphql(hp.url, `Bearer ${token}`, operation);
      expect(body.errors?.[0]?.extensions?.code, operation).toBe("FORBIDDEN");
    }
  });

  it("streams an endpoint-scoped link's live feed over graphql-ws and SSE with only its endpoints' attempts", async () => {
    const { token } = await session({ endpointIds: [e1] });
    const scopedWs = wsClient(hp.url, `Bearer ${token}`);
    const adminWs = wsClient(hp.url, `Bearer ${hp.workspace.apiKey}`);
    const subscriptions: Live<{ deliveryAttempts: Attempt }>[] = [];
    try {
      const scoped = wsSubscribe(scopedWs, LiveDeliveryAttemptsDocument, {});
      const askedForE2 = wsSubscribe(scopedWs, LiveDeliveryAttemptsDocument, { endpointId: e2 });
      const everything = wsSubscribe(adminWs, LiveDeliveryAttemptsDocument, {});
      const scopedSse = sseSubscribe(hp.url, `Bearer ${token}`, LiveDeliveryAttemptsDocument, {});
      subscriptions.push(scoped, askedForE2, everything, scopedSse);
      // Publishes until the feeds are live, then once more with an event for e2 alone.
      await waitFor(async () => {
        await publish(admin, "email.sent");
        const started = () => [scoped, everything, scopedSse].every((live) => live.data.length > 0);
        return waitFor(started, "warm-up", 5_000).catch(() => false);
      }, "live feeds to start");
      const bounced = await publish(admin, "email.bounced");
      const last = await publish(admin, "email.sent");
      const sawEvent = (live: Live<{ deliveryAttempts: Attempt }>, eventId: string, endpointId: string) =>
        live.data.some(
          (d) => d.deliveryAttempts.event.id === eventId && d.deliveryAttempts.endpoint.id === endpointId,
        );
      await waitFor(
        () =>
          sawEvent(everything, bounced, e2) &&
          sawEvent(everything, last, e2) &&
          sawEvent(scoped, last, e1) &&
          sawEvent(scopedSse, last, e1),
        "the last attempts to be streamed",
      );

      expect(new Set(everything.data.map((d) => d.deliveryAttempts.endpoint.id))).toEqual(new Set([e1, e2]));
      for (const live of [scoped, scopedSse])
        expect(new Set(live.data.map((d) => d.deliveryAttempts.endpoint.id))).toEqual(new Set([e1]));
      expect(askedForE2.data).toEqual([]);
      expect([...scoped.errors, ...askedForE2.errors, ...scopedSse.errors]).toEqual([]);
    } finally {
      for (const s of subscriptions) s.stop();
      await Promise.all([scopedWs.dispose(), adminWs.dispose()]);
    }
  });

  it("refuses expired, tampered, widened and foreign-signed tokens over HTTP and graphql-ws", async () => {
    const claim = { workspaceId: hp.workspace.id, endpointIds: [e1], readOnly: true };
    const key = portalKey(hp.config.auth);
    const expired = (await signPortalToken(key, claim, 60, new Date(Date.now() - HOUR_MS))).token;
    const valid = (await session({ endpointIds: [e1], readOnly: true })).token;
    const foreign = (
      await signPortalToken(new TextEncoder().encode("not-the-secret-0123456789abcdef"), claim, 600)
    ).token;
    // A frontend JWT's claim does not make a portal token: the audience says which kind a token is.
    const noAudience = await new SignJWT({ portal: claim })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(key);

    for (const token of [expired, tamper(valid), widen(valid), foreign, noAudience]) {
      expect(await bearer(token).fails(ViewerDocument)).toMatchObject({ code: "UNAUTHENTICATED" });
      const ws = wsClient(hp.url, `Bearer ${token}`);
      const live = wsSubscribe(ws, LiveDeliveryAttemptsDocument, {});
      await waitFor(() => live.ended, "the socket to be refused");
      expect(live.data).toEqual([]);
      await ws.dispose();
    }
    expect((await bearer(valid).ok(ViewerDocument)).viewer.endpointIds).toEqual([e1]);
  });

  it("ends a live subscription with UNAUTHENTICATED when its link expires", async () => {
    // Signed as if made a while ago, so it expires while the subscription runs.
    const lifetimeMs = 20_000;
    const claim = { workspaceId: hp.workspace.id, endpointIds: null, readOnly: true };
    const madeAt = new Date(Date.now() - 60_000 + lifetimeMs);
    const { token, expiresAt } = await signPortalToken(portalKey(hp.config.auth), claim, 60, madeAt);
    const ws = wsClient(hp.url, `Bearer ${token}`);
    try {
      const live = wsSubscribe(ws, LiveDeliveryAttemptsDocument, {});
      await waitFor(() => live.open, "the socket to open");
      await waitFor(() => live.ended, "the subscription to end");

      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
      expect(live.errors).toMatchObject([{ extensions: { code: "UNAUTHENTICATED" } }]);
    } finally {
      await ws.dispose();
    }
  });

  it("keeps workspaces apart, even for a validly signed token naming another workspace's endpoint", async () => {
    const claim = { workspaceId: hp.workspace.id, endpointIds: [other.endpointId], readOnly: false };
    const { token } = await signPortalToken(portalKey(hp.config.auth), claim, 600);
    const crossing = bearer(token);

    expect(await listedEndpoints(crossing)).toEqual([]);
    expect(await listDeliveries(crossing)).toEqual([]);
    expect((await crossing.ok(GetEndpointDocument, { id: other.endpointId })).endpoint).toBeNull();
    expect((await crossing.ok(GetDeliveryDocument, { id: other.deliveryId })).delivery).toBeNull();
    expect(await crossing.fails(DeleteEndpointDocument, { id: other.endpointId })).toMatchObject({
      code: "NOT_FOUND",
    });
    expect((await other.client.ok(GetEndpointDocument, { id: other.endpointId })).endpoint?.id).toBe(
      other.endpointId,
    );
    const own = bearer((await session({})).token);
    expect(await listedEndpoints(own)).not.toContain(other.endpointId);
    expect((await listDeliveries(own)).map((d) => d.id)).not.toContain(other.deliveryId);
  });
});
