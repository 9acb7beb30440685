import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForDeliveryStatus } from "../support/deliveries.ts";
import { requestsFor } from "../support/eventRequests.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { wsClient, wsSubscribe } from "../support/live.ts";
import { postGraphql, untypedDocument } from "../support/rawGraphql.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const SENT = {
  authorization: "Bearer receiver-credential",
  "x-signing-key": "receiver-secret",
  "x-tenant": "acme",
};
const SECRETS = ["receiver-credential", "receiver-secret"];

const ENDPOINT_FIELDS = "id headers sensitiveHeaders";

describe("sensitive custom headers", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  let endpointId: string;
  const call = (query: string, variables?: Record<string, unknown>) =>
    postGraphql(hp.url, `Bearer ${hp.workspace.apiKey}`, query, variables);

  beforeAll(async () => {
    hp = await startTestHookpost();
    receiver = await startReceiver();
    const { body } = await call(
      `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { ${ENDPOINT_FIELDS} } } }`,
      { input: { url: receiver.url, eventTypes: ["*"], headers: SENT, sensitiveHeaders: ["X-Signing-Key"] } },
    );
    endpointId = body.data.createEndpoint.endpoint.id;
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  it("sends the values, but stores and shows them redacted in attempts, the API and live messages", async () => {
    const ws = wsClient(hp.url, `Bearer ${hp.workspace.apiKey}`);
    const live = wsSubscribe(
      ws,
      untypedDocument(`subscription { deliveryAttempts { id requestHeaders endpoint { headers } } }`),
      {},
    );
    try {
      await waitFor(() => live.open, "the subscription to open");
      const { body } = await call(
        `mutation { publishEvent(input: { type: "email.sent", data: { to: "a@example.com" } }) { id deliveries { id } } }`,
      );
      const event = body.data.publishEvent;
      const delivery = await waitForDeliveryStatus(hp.workspace.client, event.deliveries[0].id, "SUCCEEDED");

      const [received] = requestsFor(receiver, event.id);
      expect(received?.headers).toMatchObject(SENT);

      const attempts = await hp.db.prisma.deliveryAttempt.findMany({ where: { deliveryId: delivery.id } });
      const shown = await call(`query ($id: ID!) { delivery(id: $id) { attempts { requestHeaders } } }`, {
        id: delivery.id,
      });
      const message = await waitFor(() => live.data[0], "a live attempt");
      const endpoint = await call(`query ($id: ID!) { endpoint(id: $id) { ${ENDPOINT_FIELDS} } }`, {
        id: endpointId,
      });
      const everyCopy = JSON.stringify([attempts, shown.body, message, endpoint.body]);
      for (const secret of SECRETS) expect(everyCopy).not.toContain(secret);

      expect(attempts[0]?.requestHeaders).toMatchObject({
        authorization: "[redacted]",
        "x-signing-key": "[redacted]",
        "x-tenant": "acme",
      });
      expect(endpoint.body.data.endpoint).toMatchObject({
        headers: { authorization: "[redacted]", "x-signing-key": "[redacted]", "x-tenant": "acme" },
        sensitiveHeaders: ["x-signing-key"],
      });
    } finally {
      live.stop();
      await ws.dispose();
    }
  });

  it("keeps the stored values when the headers come back as the API showed them", async () => {
    const shown = await call(`query ($id: ID!) { endpoint(id: $id) { headers } }`, { id: endpointId });
    const headers = { ...shown.body.data.endpoint.headers, "x-tenant": "globex" };
    const updated = await call(
      `mutation ($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id } }`,
      { id: endpointId, input: { headers } },
    );
    expect(updated.body.errors).toBeUndefined();
    const stored = await hp.db.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointId } });
    expect(stored.headers).toEqual({ ...SENT, "x-tenant": "globex" });
  });
});
