import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createPrismaClient } from "../src/db/client.ts";
const prisma = createPrismaClient({ url: "postgresql://postgres@127.0.0.1:5432/hp_t_48b1057b9443", poolMax: 4 });
const ids = (await prisma.event.findMany({ take: 1000, select: { id: true }, orderBy: { id: "asc" } })).map((e) => e.id);
async function time(label: string, f: () => Promise<unknown>, n = 10) {
  await f();
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  console.log(label, ((performance.now() - t) / n).toFixed(1), "ms");
}
await time("events findMany 1000", () => prisma.event.findMany({ where: { workspaceId: "ws_bench", isTest: false }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], take: 1000, select: { id: true, type: true, stream: true, createdAt: true } }));
await time("prisma findMany in(1000)", () => prisma.delivery.findMany({ where: { eventId: { in: ids }, endpointId: { in: ["ep_bench"] } }, select: { id: true, eventId: true, endpointId: true, status: true, replayId: true } }));
await time("raw findMany ANY", () => prisma.$queryRaw`SELECT id, "eventId", "endpointId", status::text, "replayId" FROM "Delivery" WHERE "eventId" = ANY(${ids}::text[]) AND "endpointId" = ANY(${["ep_bench"]}::text[])`);
const dids = ids.map((i) => "dlv_" + i.slice(4));
await time("prisma updateManyAndReturn in(1000)", () => prisma.delivery.updateManyAndReturn({ where: { id: { in: dids } }, data: { status: "PENDING", trigger: "REPLAY", retryStep: 0, nextAttemptAt: new Date() }, select: { id: true } }));
await time("prisma updateMany in(1000)", () => prisma.delivery.updateMany({ where: { id: { in: dids } }, data: { status: "PENDING", trigger: "REPLAY", retryStep: 0, nextAttemptAt: new Date() } }));
await time("raw update ANY returning", () => prisma.$queryRaw`UPDATE "Delivery" SET status = 'PENDING', trigger = 'REPLAY', "retryStep" = 0, "nextAttemptAt" = now(), "updatedAt" = now() WHERE id = ANY(${dids}::text[]) RETURNING id`);
await time("tx empty", () => prisma.$transaction(async (tx) => { await tx.$queryRaw`SELECT 1`; }));
const redis = new Redis({ maxRetriesPerRequest: null });
const q = new Queue("zzmicro", { connection: redis, prefix: "{hp-micro-zz}" });
let k = 0;
await time("addBulk 1000", async () => { k++; await q.addBulk(dids.map((id) => ({ name: "deliver", data: { deliveryId: id }, opts: { jobId: id + k } }))); }, 5);
await q.obliterate({ force: true });
await q.close(); redis.disconnect(); await prisma.$disconnect();
