import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { epochMs } from "./clock.ts";
import type { ReceiverReply, ReceiverRequest } from "./receiverProcess.ts";

/**
 * The benchmark's webhook receiver: a plain node:http server in a process of
 * its own, so its CPU is not the bench driver's. Every scenario, the ceiling
 * included, hits the same handler, so they pay the same receiving cost.
 *
 * Paths are /<behaviour>/<label>[/…]: `ok` answers 200, `500` answers 500,
 * `hang` never answers (the sender's timeout ends it). Per label it counts
 * requests and keeps each one's receipt time with its webhook-id header, which
 * the parent fetches over IPC to compute delivery latency.
 *
 * Three listeners: one for healthy endpoints and one per failing behaviour,
 * so that, as real hosts would, each gets its own origin and connection pool.
 */

type Receipts = { ids: string[]; at: number[] };
const receipts = new Map<string, Receipts>();

function record(label: string, id: string): void {
  let r = receipts.get(label);
  if (!r) {
    r = { ids: [], at: [] };
    receipts.set(label, r);
  }
  r.ids.push(id);
  r.at.push(epochMs());
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const [, behaviour = "ok", label = "default"] = (req.url ?? "").split("/");
  req.resume();
  req.on("end", () => {
    record(label, String(req.headers["webhook-id"] ?? ""));
    if (behaviour === "hang") return;
    res.writeHead(behaviour === "500" ? 500 : 200, { "content-type": "text/plain", "content-length": "2" });
    res.end("ok");
  });
}

async function listen(): Promise<number> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function reply(message: ReceiverReply): void {
  process.send?.(message);
}

process.on("message", (message: ReceiverRequest) => {
  if (message.op === "counts") {
    const counts: Record<string, number> = {};
    for (const [label, r] of receipts) counts[label] = r.ids.length;
    reply({ seq: message.seq, counts });
  } else if (message.op === "receipts") {
    reply({ seq: message.seq, receipts: receipts.get(message.label) ?? { ids: [], at: [] } });
  } else if (message.op === "forget") {
    receipts.delete(message.label);
    reply({ seq: message.seq });
  }
});
// The parent going away ends the receiver too.
process.on("disconnect", () => process.exit(0));

const [healthy, erroring, hanging] = await Promise.all([listen(), listen(), listen()]);
reply({ ready: { healthy, "500": erroring, hang: hanging } });
