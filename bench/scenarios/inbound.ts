import { randomBytes } from "node:crypto";
import { Pool } from "undici";
import { createInboundSource } from "../../src/inbound/sources.ts";
import { sendgridHeaders, sendgridKeys } from "../../test/support/inboundSigning.ts";
import { epochMs } from "../clock.ts";
import { cpuPer, measureCpu } from "../cpu.ts";
import type { Row } from "../report.ts";
import { benchEvent, publishInBatches, round } from "../workload.ts";
import type { BenchContext } from "./context.ts";

/** Events per request, both ways: SendGrid posts batches of up to this many. */
const BATCH_EVENTS = 1_000;
/** Requests in flight at once, both ways. */
const PARALLEL = 4;
const LABEL = "inbound";

/** SendGrid event types a sending day is made of, roughly in their proportions. */
const SENDGRID_MIX = ["processed", "delivered", "delivered", "open", "click", "bounce", "deferred"];

/** One SendGrid event as its Event Webhook posts it. */
function sendgridEvent(i: number, run: string) {
  const event = SENDGRID_MIX[i % SENDGRID_MIX.length]!;
  const messageId = `${run}${Math.floor(i / SENDGRID_MIX.length)}.filterdrecv-5bd4f6b8-2kx9p-1-64A1B2C3-7.0`;
  return {
    email: `recipient${i}@example.com`,
    timestamp: Math.floor(Date.now() / 1_000),
    "smtp-id": `<${run}.${i}@ismtpd0001p1lon1.sendgrid.net>`,
    event,
    category: ["transactional", "receipts"],
    sg_event_id: `${run}-${i}`,
    sg_message_id: messageId,
    ...(event === "delivered" ? { response: "250 2.0.0 OK 1690000000 a1b2c3d4e5f6 - gsmtp", tls: 1 } : {}),
    ...(event === "open" || event === "click"
      ? { useragent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36", ip: "203.0.113.7" }
      : {}),
    ...(event === "click" ? { url: "https://example.com/orders/1042?utm_source=email" } : {}),
    ...(event === "bounce" ? { type: "bounce", status: "5.1.1", reason: "550 5.1.1 user unknown" } : {}),
    ...(event === "deferred" ? { response: "421 4.7.0 try again later", attempt: "1" } : {}),
  };
}

/** Signed SendGrid batches, ready to post: signed up front, so the bench's own CPU stays out of the timing. */
function signedBatches(events: number) {
  const { privateKey, publicKey } = sendgridKeys();
  const run = randomBytes(6).toString("base64url");
  const bodies = [];
  for (let start = 0; start < events; start += BATCH_EVENTS) {
    const count = Math.min(BATCH_EVENTS, events - start);
    const body = JSON.stringify(Array.from({ length: count }, (_, i) => sendgridEvent(start + i, run)));
    bodies.push({ body, count, headers: sendgridHeaders(body, privateKey) });
  }
  return { publicKey, bodies };
}

/**
 * SendGrid-style batches of 1,000 events posted to an inbound source, next
 * to publishEvents batches of as many events in the same run, both with
 * PARALLEL requests in flight and one endpoint subscribed: events made
 * durable (and their deliveries enqueued) per second, each way. Each phase
 * starts once the previous one's deliveries have arrived.
 */
export async function inbound(ctx: BenchContext): Promise<Row> {
  const events = Math.max(BATCH_EVENTS, Math.round(ctx.events / BATCH_EVENTS) * BATCH_EVENTS);
  const { id: workspaceId, api } = await ctx.stack.newWorkspace(LABEL);
  const pool = new Pool(new URL(ctx.stack.graphqlUrl).origin, { connections: PARALLEL });
  let delivered = 0;
  /** Runs one phase of `count` events and waits for its deliveries; its events/s and CPU per event. */
  const phase = async (name: string, count: number, send: () => Promise<void>) => {
    ctx.progress(`${LABEL}: ${name}, ${count} events in batches of ${BATCH_EVENTS}`);
    const cpuUsed = await measureCpu(ctx.cpu);
    const start = epochMs();
    await send();
    const seconds = (epochMs() - start) / 1_000;
    const cpu = cpuPer(await cpuUsed(), count);
    delivered += count;
    await ctx.receiver.waitForCount(LABEL, delivered);
    return {
      perSecond: count / seconds,
      seconds,
      apiCpuUs: cpu["cpuUs.api"] ?? 0,
      pgCpuUs: cpu["cpuUs.postgres"] ?? 0,
    };
  };
  const publish = (count: number) =>
    phase("publishEvents", count, async () => {
      const inputs = Array.from({ length: count }, () => benchEvent());
      await publishInBatches(api, inputs, { batchSize: BATCH_EVENTS, parallel: PARALLEL });
    });
  const ingest = async (count: number) => {
    const { publicKey, bodies } = signedBatches(count);
    const source = await createInboundSource(ctx.stack.db.prisma, workspaceId, {
      provider: "SENDGRID",
      name: `bench ${randomBytes(3).toString("hex")}`,
      verification: { publicKey },
    });
    return phase("SendGrid inbound", count, async () => {
      let next = 0;
      const poster = async () => {
        while (next < bodies.length) {
          const { body, headers } = bodies[next++]!;
          const res = await pool.request({
            path: `/inbound/${source.id}`,
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body,
          });
          const text = await res.body.text();
          if (res.statusCode !== 200) throw new Error(`inbound answered ${res.statusCode}: ${text}`);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, poster));
    });
  };
  try {
    await api.createEndpoint({ url: `${ctx.receiver.healthyBase}/ok/${LABEL}`, eventTypes: ["*"] });
    // Warm-up: one batch each way.
    await publish(BATCH_EVENTS);
    await ingest(BATCH_EVENTS);
    const published = await publish(events);
    const ingested = await ingest(events);
    await ctx.receiver.forget(LABEL);
    return {
      scenario: LABEL,
      count: events,
      seconds: ingested.seconds,
      perSecond: ingested.perSecond,
      detail: {
        batchEvents: BATCH_EVENTS,
        parallel: PARALLEL,
        publishEventsPerS: round(published.perSecond),
        ofPublishEvents: round(ingested.perSecond / published.perSecond, 2),
        "cpuUs.api.inbound": ingested.apiCpuUs,
        "cpuUs.api.publishEvents": published.apiCpuUs,
        "cpuUs.postgres.inbound": ingested.pgCpuUs,
        "cpuUs.postgres.publishEvents": published.pgCpuUs,
      },
    };
  } finally {
    await pool.close();
    await api.close();
  }
}
