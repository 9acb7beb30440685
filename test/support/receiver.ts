import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { waitFor } from "./wait.ts";

export type ReceivedRequest = {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
};

/** What the receiver does with a request: answer with a status (and body/headers, after `delayMs`), or never answer. */
export type Behaviour =
  | { status: number; body?: string; headers?: Record<string, string>; delayMs?: number }
  | "hang";

/**
 * A real HTTP receiver on loopback that records every request. `respond`
 * decides each answer from the request and how many came before it.
 */
export async function startReceiver(
  respond: (req: ReceivedRequest, index: number) => Behaviour = () => ({ status: 200 }),
) {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let decide = respond;
  // A path prefix of its own: a request for a receiver that used this port
  // before (another test's retries) is answered 404 and not recorded.
  const prefix = `/r-${randomBytes(6).toString("hex")}/`;
  const server = createServer((req, res) => {
    if (!req.url?.startsWith(prefix)) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const received: ReceivedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      const behaviour = decide(received, requests.length);
      requests.push(received);
      if (behaviour === "hang") {
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      const answer = () => {
        res.writeHead(behaviour.status, { "content-type": "text/plain", ...(behaviour.headers ?? {}) });
        res.end(behaviour.body ?? "ok");
      };
      if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}hooks`,
    requests,
    setBehaviour(next: (req: ReceivedRequest, index: number) => Behaviour) {
      decide = next;
    },
    /** Answers, now, every request left hanging: a test then ends a hang when it chooses, not at a timeout. */
    answerHanging(status: number) {
      for (const res of hanging) res.writeHead(status, { "content-type": "text/plain" }).end("ok");
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/** A webhook as a Standard Webhooks receiver parses it. */
export type VerifiedWebhook = { id: string; type: string; data: Record<string, unknown> };

/** Waits until each event reached the receiver, then verifies and parses its request with the endpoint's secret. */
export async function verifiedDeliveries(
  receiver: Receiver,
  secret: string,
  eventIds: readonly string[],
): Promise<VerifiedWebhook[]> {
  const mine = () => receiver.requests.filter((r) => eventIds.includes(String(r.headers["webhook-id"])));
  await waitFor(
    () => new Set(mine().map((r) => r.headers["webhook-id"])).size === eventIds.length,
    "deliveries",
  );
  const signer = new StandardWebhook(secret);
  return eventIds.map((id) => {
    const req = mine().find((r) => r.headers["webhook-id"] === id)!;
    return signer.verify(req.body, req.headers as Record<string, string>) as VerifiedWebhook;
  });
}
