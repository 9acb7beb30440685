import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkspace } from "../../src/services/workspaces.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { testEnv } from "../support/hookpost.ts";
import { type HookpostProcess, spawnHookpost } from "../support/processes.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";

/** A refusal has to come this fast, whatever the query asks for. */
const REFUSAL_MS = 1_000;
/** A blocked api once stopped answering /healthz for minutes; a busy one answers within this. */
const HEALTH_TIMEOUT_MS = 2_000;

type Answer = {
  status: number;
  ms: number;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
};

/**
 * The requests that once stalled or killed the api (issue 32), sent to a real
 * api process: each must be refused with a code within a second while
 * /healthz keeps answering.
 */
describe("abusive queries", () => {
  let db: TestDatabase;
  let api: HookpostProcess;
  let receiver: Receiver;
  let authorization: string;
  let endpointId: string;
  const healthFailures: string[] = [];
  let healthChecks = 0;
  let watching = true;
  let watcher: Promise<void>;

  const post = async (query: string): Promise<Answer> => {
    const started = performance.now();
    const res = await fetch(api.url!, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as Answer["body"];
    return { status: res.status, ms: performance.now() - started, body };
  };

  /** Polls /healthz until the tests end; every answer must come within HEALTH_TIMEOUT_MS. */
  async function watchHealth(): Promise<void> {
    while (watching) {
      const res = await fetch(`${api.base}/healthz`, {
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      }).catch((err: Error) => err);
      healthChecks++;
      if (res instanceof Error || res.status !== 200)
        healthFailures.push(res instanceof Error ? res.message : `status ${res.status}`);
      else await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    receiver = await startReceiver();
    api = await spawnHookpost("api", testEnv({ DATABASE_URL: db.url }));
    const { apiKey } = await createWorkspace(db.prisma, "abuse");
    authorization = `Bearer ${apiKey}`;
    // One event with two deliveries, as in the report.
    const created = await post(
      `mutation { a: createEndpoint(input: { url: "${receiver.url}", eventTypes: ["*"] }) { endpoint { id } }
                  b: createEndpoint(input: { url: "${receiver.url}", eventTypes: ["*"] }) { endpoint { id } } }`,
    );
    expect(created.body.errors, JSON.stringify(created.body.errors)).toBeUndefined();
    endpointId = (created.body.data as { a: { endpoint: { id: string } } }).a.endpoint.id;
    await post('mutation { publishEvent(input: { type: "email.sent", data: {} }) { id } }');
    watcher = watchHealth();
  }, 240_000);

  afterAll(async () => {
    watching = false;
    await watcher;
    await api?.stop();
    await receiver?.close();
    await db?.drop();
  });

  const expectRefused = (answer: Answer, reason: RegExp) => {
    expect(answer.status).toBeLessThan(500);
    expect(answer.body.data ?? null).toBeNull();
    expect(answer.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(answer.body.errors?.map((e) => e.message).join("\n")).toMatch(reason);
    expect(answer.ms).toBeLessThan(REFUSAL_MS);
  };

  it("refuses a query 50 levels deep through Delivery.attempts.delivery", async () => {
    let selection = "id";
    for (let level = 0; level < 24; level++) selection = `attempts { delivery { ${selection} } }`;
    expectRefused(await post(`{ deliveries(first: 100) { edges { node { ${selection} } } } }`), /depth/);
  });

  it("refuses a query 50 levels deep through Event.deliveries.event", async () => {
    let selection = "id";
    for (let level = 0; level < 24; level++) selection = `deliveries { event { ${selection} } }`;
    expectRefused(await post(`{ events(first: 100) { edges { node { ${selection} } } } }`), /depth/);
  });

  it("refuses 1,000 aliases of deliveries(first: 100) { attempts event }", async () => {
    const aliases = Array.from(
      { length: 1_000 },
      (_, i) => `a${i}: deliveries(first: 100) { edges { node { attempts { id } event { id } } } }`,
    );
    // Its size alone (over GRAPHQL_MAX_TOKENS) refuses it before its aliases are counted.
    expectRefused(await post(`{ ${aliases.join("\n")} }`), /Token limit of 3000/);
  });

  it("refuses 16 aliases, however short the query", async () => {
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: eventTypes { name }`);
    expectRefused(await post(`{ ${aliases.join(" ")} }`), /Aliases limit of 15/);
  });

  it("refuses 200 testEndpoint fields in one request, and sends nothing", async () => {
    const before = receiver.requests.length;
    const aliases = Array.from(
      { length: 200 },
      (_, i) => `t${i}: testEndpoint(id: "${endpointId}") { success }`,
    );
    expectRefused(await post(`mutation { ${aliases.join("\n")} }`), /testEndpoint or replayDelivery/);
    expect(receiver.requests.length).toBe(before);
  });

  it("refuses a single list whose size makes the query too costly", async () => {
    expectRefused(
      await post(
        "{ events(first: 100) { edges { node { deliveries(first: 100) { attempts(first: 100) { id } } } } } }",
      ),
      /costs \d+, over the limit of 20000/,
    );
  });

  it("kept /healthz answering throughout", () => {
    expect(healthChecks).toBeGreaterThan(0);
    expect(healthFailures).toEqual([]);
  });
});
