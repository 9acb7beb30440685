/**
 * Replay benchmark (not a test): 100,000 events over 7 days for one endpoint,
 * seeded straight into a scratch PostgreSQL database, then one replayEvents
 * over the whole range, run by `hookpost worker` in a process of its own (the
 * built bundle, as production runs it) delivering to a receiver process on
 * loopback. Reports the time until every delivery is enqueued, the time until
 * the Replay is COMPLETED, and the worker process's peak RSS.
 * Targets: enqueue < 20 s, peak RSS < 300 MB.
 *
 *   npm run bench:replay            (EVENTS=… to change the size,
 *                                    WORKER_NODE_OPTIONS=… for the worker's node flags)
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { availableParallelism, loadavg } from "node:os";
import { createInterface } from "node:readline";
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import { openRuntime } from "../src/runtime.ts";
import { requestReplay } from "../src/services/replays.ts";
import { createTestDatabase, type TestDatabase } from "../test/support/db.ts";
import { spawnHookpost } from "../test/support/processes.ts";
import { deleteRedisKeys } from "../test/support/redis.ts";
import { peakRssMb, rssMb } from "./rss.ts";

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const SPAN_MS = 7 * 86_400_000;
const TARGET_S = 20;
const TARGET_MB = 300;
const POLL_MS = 500;

const seconds = (since: number) => (Date.now() - since) / 1_000;

/** Answers every POST with 200 and counts them; GET returns the count. */
const RECEIVER_SOURCE = `
  let received = 0;
  const server = require("node:http").createServer((req, res) => {
    if (req.method === "GET") return res.end(String(received));
    req.resume();
    req.on("end", () => { received++; res.end("ok"); });
  });
  server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;

/** The receiver runs in its own process, so its work and memory are not counted as Hookpost's. */
async function startReceiverProcess() {
  const child = spawn(process.execPath, ["-e", RECEIVER_SOURCE], { stdio: ["ignore", "pipe", "inherit"] });
  const [port] = await once(createInterface({ input: child.stdout }), "line");
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/hooks`,
    received: async () => Number(await (await fetch(base)).text()),
    close: () => child.kill(),
  };
}

/** One workspace, one endpoint, EVENTS events spread over 7 days, each already delivered once. */
async function seed(db: TestDatabase, url: string, since: Date): Promise<void> {
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
  const receiver = await startReceiverProcess();
  const db = await createTestDatabase();
  const settings = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    DATABASE_URL: db.url,
    REDIS_PREFIX: `hp-bench-replay-${randomBytes(4).toString("hex")}`,
    OUTBOUND_ALLOW: "127.0.0.0/8",
    BOOTSTRAP_WORKSPACE: "false",
  };
  // This process only asks for the replay and watches it, as the api would.
  const config = loadConfig({ ...process.env, ...settings });
  const runtime = await openRuntime(config, createLogger(config));
  const { deps } = runtime;
  // Node flags for the worker (e.g. --trace-gc); its output is then shown too.
  const nodeArgs = process.env.WORKER_NODE_OPTIONS?.split(/\s+/).filter(Boolean) ?? [];
  const worker = await spawnHookpost("worker", settings, {
    nodeArgs,
    echo: nodeArgs.length ? process.stderr : undefined,
  });
  const mb = (value: number | null) => `${value?.toFixed(0)} MB`;
  // Ctrl-C stops the run but still drops the scratch database and the Redis keys.
  const interrupted = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => interrupted.abort());
  try {
    const until = new Date();
    const since = new Date(until.getTime() - SPAN_MS);
    const seeding = Date.now();
    await seed(db, receiver.url, since);
    console.log(`seeded ${EVENTS} events over 7 days in ${seconds(seeding).toFixed(1)} s`);
    const baselineMb = rssMb(worker.pid);

    const started = Date.now();
    const { id } = await requestReplay(deps, "ws_bench", { since, until });
    let enqueuedS: number | null = null;
    for (;;) {
      const r = await deps.prisma.replay.findUniqueOrThrow({ where: { id } });
      if (enqueuedS === null && r.enqueued >= EVENTS) enqueuedS = seconds(started);
      console.log(
        `${seconds(started).toFixed(1).padStart(6)} s  ${r.status.padEnd(9)} enqueued ${r.enqueued}/${r.total}` +
          `  delivered ${r.delivered}  failed ${r.failed}  received ${await receiver.received()}` +
          `  worker RSS ${mb(rssMb(worker.pid))} (peak ${mb(peakRssMb(worker.pid))})`,
      );
      if (r.status !== "QUEUED" && r.status !== "RUNNING") break;
      if (interrupted.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const completedS = seconds(started);
    const peakMb = peakRssMb(worker.pid) ?? Number.NaN;
    const met = enqueuedS !== null && enqueuedS < TARGET_S && peakMb < TARGET_MB;
    console.log(
      [
        "",
        `events replayed:          ${EVENTS}`,
        `time to enqueue all:      ${enqueuedS?.toFixed(1)} s   (target < ${TARGET_S} s)`,
        `time to COMPLETED:        ${completedS.toFixed(1)} s`,
        `peak RSS of the worker:   ${mb(peakMb)}   (target < ${TARGET_MB} MB; ${mb(baselineMb)} before the replay)`,
        `targets met:              ${met ? "yes" : "NO"}`,
        `machine:                  ${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)}`,
      ].join("\n"),
    );
  } finally {
    await worker.stop();
    await runtime.close();
    await deleteRedisKeys(config.redis.url, config.redis.prefix);
    await db.drop();
    receiver.close();
  }
}

await main();
