import { readFileSync } from "node:fs";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  PublishEventDocument,
  RotateEndpointSecretDocument,
} from "../generated/graphql.ts";
import { deliveryOf, waitForDeliveryStatus } from "../support/deliveries.ts";
import { firstAttemptPerEvent, requestsFor } from "../support/eventRequests.ts";
import type { GraphqlClient } from "../support/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type ReceivedRequest, type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** Verifies like a receiver would, with both public libraries; returns whether each accepted. */
function verifies(secret: string, req: ReceivedRequest): { standardwebhooks: boolean; svix: boolean } {
  const headers = req.headers as Record<string, string>;
  const accepts = (verify: () => unknown) => {
    try {
      verify();
      return true;
    } catch {
      return false;
    }
  };
  return {
    standardwebhooks: accepts(() => new StandardWebhook(secret).verify(req.body, headers)),
    svix: accepts(() => new SvixWebhook(secret).verify(req.body, headers)),
  };
}

const BOTH = { standardwebhooks: true, svix: true };
const NEITHER = { standardwebhooks: false, svix: false };

describe("signed deliveries", () => {
  let hp: TestHookpost;
  let client: GraphqlClient;
  const receivers: Receiver[] = [];

  async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  }

  async function endpointFor(r: Receiver, headers?: Record<string, string>) {
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: r.url, eventTypes: ["email.*"], headers },
    });
    return { id: createEndpoint.endpoint.id, secret: createEndpoint.secret };
  }

  async function publish(data: Record<string, unknown> = { to: "a@example.com" }) {
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.bounced", data },
    });
    return publishEvent.id;
  }

  beforeAll(async () => {
    hp = await startTestHookpost();
    client = hp.workspace.client;
  });
  afterAll(async () => {
    await hp?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("signs per Standard Webhooks with the documented headers and body", async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r, { "X-Tenant": "acme", Authorization: "Bearer receiver-token" });
    const data = { messageId: "msg_1", to: ["a@example.com"], bounce: { type: "hard", code: 550 } };
    const occurredAt = "2026-03-01T12:00:00.000Z";
    const { publishEvent } = await client.ok(PublishEventDocument, {
      input: { type: "email.bounced", data, occurredAt },
    });

    const req = await waitFor(() => requestsFor(r, publishEvent.id)[0], "the delivery");
    expect(verifies(endpoint.secret, req)).toEqual(BOTH);
    expect(req.method).toBe("POST");
    expect(req.headers).toMatchObject({
      "webhook-id": publishEvent.id,
      "content-type": "application/json",
      "user-agent": `Hookpost/${version}`,
      "x-hookpost-event": "email.bounced",
      "x-tenant": "acme",
      authorization: "Bearer receiver-token",
    });
    const timestampS = Number(req.headers["webhook-timestamp"]);
    expect(Math.abs(timestampS - req.at / 1_000)).toBeLessThan(300);
    expect(req.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(req.body)).toEqual({
      id: publishEvent.id,
      type: "email.bounced",
      timestamp: occurredAt,
      data,
    });
    // A forged body fails verification: the signature covers the bytes sent.
    expect(verifies(endpoint.secret, { ...req, body: req.body.replace("hard", "soft") })).toEqual(NEITHER);
  });

  it("keeps webhook-id constant across retries, and signs every attempt", async () => {
    const r = await receiver(firstAttemptPerEvent({ status: 500 }));
    const endpoint = await endpointFor(r);
    // Keys out of order, nesting and non-ASCII: the logged body must still be the bytes sent.
    const eventId = await publish({ zeta: 1, to: "é@example.com", nested: { bb: [2, 1], a: null } });
    const delivery = await deliveryOf(client, eventId, endpoint.id);
    const { attempts } = await waitForDeliveryStatus(client, delivery.id, "SUCCEEDED");

    const requests = requestsFor(r, eventId);
    expect(requests).toHaveLength(2);
    for (const req of requests) {
      expect(req.headers["webhook-id"]).toBe(eventId);
      expect(verifies(endpoint.secret, req)).toEqual(BOTH);
    }
    expect(requests[1]!.body).toBe(requests[0]!.body);
    // The delivery log gives each attempt's exact bytes and signed headers: they verify as sent.
    expect(attempts.map((a) => a.requestBody)).toEqual(requests.map((req) => req.body));
    for (const [i, a] of attempts.entries()) {
      const headers = a.requestHeaders as Record<string, string>;
      expect(headers["webhook-signature"]).toBe(requests[i]!.headers["webhook-signature"]);
      expect(verifies(endpoint.secret, { ...requests[i]!, headers, body: a.requestBody })).toEqual(BOTH);
    }
  });

  it("signs with both the old and the new secret during the rotation grace period", async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r);
    const { rotateEndpointSecret } = await client.ok(RotateEndpointSecretDocument, {
      id: endpoint.id,
      gracePeriodSeconds: 3_600,
    });
    expect(rotateEndpointSecret.secret).toMatch(/^whsec_/);
    expect(rotateEndpointSecret.secret).not.toBe(endpoint.secret);
    const expiresInS = (Date.parse(rotateEndpointSecret.previousSecretExpiresAt!) - Date.now()) / 1_000;
    expect(expiresInS).toBeGreaterThan(3_000);
    expect(expiresInS).toBeLessThanOrEqual(3_600);

    const eventId = await publish();
    const req = await waitFor(() => requestsFor(r, eventId)[0], "the delivery after rotation");
    expect(String(req.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    expect(verifies(endpoint.secret, req)).toEqual(BOTH);
    expect(verifies(rotateEndpointSecret.secret, req)).toEqual(BOTH);
  });

  it("signs with the new secret only when the grace period is 0", async () => {
    const r = await receiver();
    const endpoint = await endpointFor(r);
    const { rotateEndpointSecret } = await client.ok(RotateEndpointSecretDocument, {
      id: endpoint.id,
      gracePeriodSeconds: 0,
    });
    expect(rotateEndpointSecret.previousSecretExpiresAt).toBeNull();

    const eventId = await publish();
    const req = await waitFor(() => requestsFor(r, eventId)[0], "the delivery after rotation");
    expect(String(req.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(verifies(rotateEndpointSecret.secret, req)).toEqual(BOTH);
    expect(verifies(endpoint.secret, req)).toEqual(NEITHER);
  });
});
