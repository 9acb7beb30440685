/**
 * Replay benchmark (not a test): 100,000 events over 7 days for one endpoint,
 * seeded straight into a scratch PostgreSQL database, then one replayEvents
 * over the whole range, run by an in-process worker delivering to a loopback
 * receiver. Reports the time until every delivery is enqueued and this
 * process's peak RSS. Targets: < 20 s, < 300 MB.
 *
 *   npm run bench:replay            (EVENTS=… to change the size)
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import { startWorkers } from "../src/queue/workers.ts";
import { openRuntime } from "../src/runtime.ts";
import { requestReplay } from "../src/services/replays.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/db.ts";

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const SPAN_MS = 7 * 86_400_000;
const TARGET_S = 20;
const TARGET_MB = 300;
const POLL_MS = 500;

const peakRssMb = () => process.resourceUsage().maxRSS / 1_024;

/** A loopback receiver that answers 200 and only counts. */
async function startCountingReceiver() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One workspace, one endpoint, EVENTS events spread over 7 days, each already delivered once. */
async function seed(db: TestDatabase, url: string, until: Date): Promise<void> {
  const since = new Date(until.getTime() - SPAN_MS);
  // One statement at a time: the scratch database is ours, and a transaction would time out.
  const statements = [
    db.prisma.$executeRaw`INSERT INTO "Workspace"(id, name) VALUES ('ws_bench', 'bench')`,
    db.prisma.$executeRaw`
      INSERT INTO "Endpoint"(id, "workspaceId", url, "eventTypes", streams, secret, "updatedAt")
      VALUES ('ep_bench', 'ws_bench', ${url}, ARRAY['*'], ARRAY[]::text[],
              'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', now())`,
    db.prisma.$executeRaw`
      INSERT INTO "Event"(id, "workspaceId", type, payload, "occurredAt", "createdAt")
      SELECT 'evt_' || lpad(g::text, 12, '0'), 'ws_bench',
             (ARRAY['email.sent','email.delivered','email.opened','email.clicked','email.bounced'])[1 + g % 5],
             jsonb_build_object('messageId', 'msg_' || g, 'to', ARRAY['user' || g || '@example.com'],
                                'subject', 'Your receipt', 'tags', ARRAY['receipt']),
             t, t
      FROM (SELECT g, (${since.toISOString()}::timestamptz AT TIME ZONE 'UTC')
                      + (g - 1) * ${SPAN_MS / EVENTS}::float8 * interval '1 millisecond' AS t
            FROM generate_series(1, ${EVENTS}::int) g) s`,
    db.prisma.$executeRaw`
      INSERT INTO "Delivery"(id, "workspaceId", "eventId", "endpointId", "eventType", status, attempts,
                             "succeededAt", "createdAt", "updatedAt")
      SELECT 'dlv_' || substr(id, 5), 'ws_bench', id, 'ep_bench', type, 'SUCCEEDED', 1,
             "createdAt", "createdAt", "createdAt"
      FROM "Event"`,
    db.prisma.$executeRaw`ANALYZE`,
  ];
  for (const statement of statements) await statement;
}

async function main() {
  const receiver = await startCountingReceiver();
  const db = await createTestDatabase();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: db.url,
    REDIS_PREFIX: `hp-bench-replay-${randomBytes(4).toString("hex")}`,
    OUTBOUND_ALLOW: "127.0.0.0/8",
    BOOTSTRAP_WORKSPACE: "false",
  });
  // What a worker process runs (src/main.ts would also load the api's modules).
  const runtime = await openRuntime(config, createLogger(config));
  const { deps } = runtime;
  const workers = startWorkers(deps, process.env.NO_DELIVERY ? { delivery: async () => {} } : {});
  try {
    const until = new Date();
    let started = Date.now();
    await seed(db, receiver.url, until);
    console.log(`seeded ${EVENTS} events over 7 days in ${((Date.now() - started) / 1_000).toFixed(1)} s`);

    started = Date.now();
    const { id } = await requestReplay(deps, "ws_bench", {
      since: new Date(until.getTime() - SPAN_MS),
      until,
    });
    let enqueuedS: number | null = null;
    for (;;) {
      const replay = await deps.prisma.replay.findUniqueOrThrow({ where: { id } });
      const elapsedS = (Date.now() - started) / 1_000;
      if (enqueuedS === null && replay.enqueued >= EVENTS) enqueuedS = elapsedS;
      console.log(
        `${elapsedS.toFixed(1).padStart(6)} s  ${replay.status.padEnd(9)} enqueued ${replay.enqueued}/${replay.total}` +
          `  delivered ${replay.delivered}  received ${receiver.received()}  peak RSS ${peakRssMb().toFixed(0)} MB`,
      );
      if (replay.status !== "QUEUED" && replay.status !== "RUNNING") break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const completedS = (Date.now() - started) / 1_000;
    const rssMb = peakRssMb();
    console.log(
      [
        "",
        `events replayed:          ${EVENTS}`,
        `time to enqueue all:      ${enqueuedS?.toFixed(1)} s   (target < ${TARGET_S} s)`,
        `time to deliver all:      ${completedS.toFixed(1)} s`,
        `peak RSS of this process: ${rssMb.toFixed(0)} MB   (target < ${TARGET_MB} MB)`,
        `targets met:              ${enqueuedS !== null && enqueuedS < TARGET_S && rssMb < TARGET_MB ? "yes" : "NO"}`,
      ].join("\n"),
    );
  } finally {
    const { delivery, replay, maintenance } = deps.queues;
    await Promise.all([delivery, replay, maintenance].map((q) => q.obliterate({ force: true })));
    await workers.close();
    await runtime.close();
    await db.drop();
    await receiver.close();
  }
}

await main();
