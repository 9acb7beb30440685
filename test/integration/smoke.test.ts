import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  GetDeliveryDocument,
  ListDeliveriesDocument,
  PublishEventDocument,
} from "../generated/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

describe("smoke", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  beforeAll(async () => {
    hp = await startTestHookpost();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
    await hp?.stop();
  });

  it("delivers a published event", async () => {
    const c = hp.workspace.client;
    const { createEndpoint } = await c.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["email.*"] },
    });
    const { publishEvent } = await c.ok(PublishEventDocument, {
      input: { type: "email.delivered", data: { to: "a@b.c" } },
    });
    const req = await waitFor(() => receiver.requests[0], "request");
    const wh = new Webhook(createEndpoint.secret);
    expect(wh.verify(req.body, req.headers as Record<string, string>)).toMatchObject({ id: publishEvent.id });
    const { deliveries } = await c.ok(ListDeliveriesDocument, {});
    const id = deliveries.edges[0]!.node.id;
    const { delivery } = await waitFor(async () => {
      const r = await c.ok(GetDeliveryDocument, { id });
      return r.delivery?.status === "SUCCEEDED" ? r : null;
    }, "succeeded");
    expect(delivery?.attempts).toHaveLength(1);
  });
});
