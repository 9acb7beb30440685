import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the receiver answers one request: 200, 200 after SLOW_ANSWER_MS, 500, never, or 200 with a 50 MB body streamed. */
export type Answer = "ok" | "slow" | "fail" | "hang" | "stream";
/** Decides an answer from the request's webhook-id and how many requests with that id came before. */
export type Responder = (webhookId: string, earlier: number) => Answer;

/** What one endpoint's path of the receiver saw. */
export type Mailbox = {
  /** webhook-id → how many times it was accepted (answered 2xx). */
  accepted: Map<string, number>;
  /** Acceptances in all, duplicates included. */
  acceptances: number;
  /** webhook-id → every request with it, whatever the answer. */
  requests: Map<string, number>;
  /** Requests begun and not yet answered or closed: what a sender has in flight here. */
  open: number;
  /** Requests whose sender hung up before the answer was complete (a timeout, a process gone). */
  abandoned: number;
};

export const STREAM_BYTES = 50 * 1024 * 1024;
const STREAM_CHUNK = Buffer.alloc(64 * 1024, "x");
/** Accepted requests are answered after up to this long, as a receiver doing some work would; faults then find requests in flight. */
const ANSWER_DELAY_MAX_MS = 10;
const SLOW_ANSWER_MS = 300;

export type ChaosReceiver = {
  /** Serves `label` with `respond`; returns the URL an endpoint posts to. */
  route(label: string, respond: Responder): string;
  mailbox(label: string): Mailbox;
  close(): Promise<void>;
};

/**
 * The webhook receiver of a chaos run, on loopback in the harness's own
 * process, so that what it recorded (and what is open) is read at the very
 * moment a fault is injected. An id counts as accepted once its request has
 * been read and a 2xx decided: from then on a receiver would act on it, so a
 * second acceptance is a duplicate.
 */
export async function startChaosReceiver(): Promise<ChaosReceiver> {
  const routes = new Map<string, { respond: Responder; box: Mailbox }>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const route = routes.get((req.url ?? "").split("/")[1] ?? "");
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const { respond, box } = route;
    box.open++;
    res.once("close", () => {
      box.open--;
      if (!res.writableFinished) box.abandoned++;
    });
    req.resume();
    req.once("end", () => {
      const id = String(req.headers["webhook-id"] ?? "");
      const earlier = box.requests.get(id) ?? 0;
      box.requests.set(id, earlier + 1);
      const answer = respond(id, earlier);
      if (answer === "hang") return;
      if (answer === "fail") {
        res.writeHead(500, { "content-type": "text/plain" }).end("failing on purpose");
        return;
      }
      box.accepted.set(id, (box.accepted.get(id) ?? 0) + 1);
      box.acceptances++;
      if (answer === "stream") void streamLargeBody(res);
      else {
        const waitMs = answer === "slow" ? SLOW_ANSWER_MS : delayMs();
        setTimeout(() => res.writeHead(200, { "content-type": "text/plain" }).end("ok"), waitMs);
      }
    });
  };
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    route(label, respond) {
      routes.set(label, {
        respond,
        box: { accepted: new Map(), acceptances: 0, requests: new Map(), open: 0, abandoned: 0 },
      });
      return `${base}/${label}`;
    },
    mailbox(label) {
      const route = routes.get(label);
      if (!route) throw new Error(`no receiver route "${label}"`);
      return route.box;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const delayMs = () => Math.floor(Math.random() * (ANSWER_DELAY_MAX_MS + 1));

/** 200 and STREAM_BYTES of body, written as fast as the sender reads, until it has all or hangs up. */
async function streamLargeBody(res: ServerResponse): Promise<void> {
  res.writeHead(200, { "content-type": "text/plain", "content-length": String(STREAM_BYTES) });
  for (let sent = 0; sent < STREAM_BYTES && !res.destroyed; sent += STREAM_CHUNK.length) {
    if (!res.write(STREAM_CHUNK)) await drainedOrClosed(res);
  }
  res.end();
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
