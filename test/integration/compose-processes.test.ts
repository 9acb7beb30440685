import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkspace } from "../../src/services/workspaces.ts";
import { CreateEndpointDocument, PublishEventsDocument } from "../generated/graphql.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { type ComposeService, composeServices, imageDefaults } from "../support/deployFiles.ts";
import { graphqlClient } from "../support/graphql.ts";
import { freePort } from "../support/processes.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const REPO = new URL("../..", import.meta.url).pathname;
const EVENTS = 20;
const OUTPUT_LIMIT_CHARS = 100_000;
const STOP_GRACE_MS = 20_000;

type Service = {
  name: string;
  child: ChildProcess;
  port: number;
  output(): string;
  exit: Promise<unknown>;
  /** The environment it was started with. */
  env: Record<string, string | undefined>;
};

/** SIGTERM, then SIGKILL once the grace period is over. */
async function stop(service: Service): Promise<void> {
  const { child } = service;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  await service.exit;
  clearTimeout(timer);
}

/**
 * deploy/compose.yaml run without a container engine: each Hookpost service's
 * command, after the image's ENTRYPOINT, with the image's ENV and the
 * service's environment, as a local process (cwd: the repository, as /app in
 * the image). Redis runs with the redis service's own command. Only what
 * names this machine's resources is replaced: the database and Redis URLs,
 * the key prefix, the ports two replicas on one host need, the data folder,
 * and OUTBOUND_ALLOW for the loopback receiver.
 */
describe("deploy/compose.yaml as local processes", () => {
  let services: Record<string, ComposeService>;
  let db: TestDatabase;
  let scratchDir: string;
  let redisUrl: string;
  let receiver: Receiver;
  /** Hookpost's processes, stopped before Redis so that they shut down cleanly. */
  const running: Service[] = [];
  let redisServer: Service | undefined;

  async function run(name: string, replica: number, overrides: Record<string, string>): Promise<Service> {
    const { entrypoint, env } = await imageDefaults();
    const service = services[name]!;
    const [program, ...args] = [...entrypoint, ...(service.command ?? [])];
    expect(program).toBe("node");
    const environment = Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value)]),
    );
    const port = Number(overrides.PORT ?? overrides.WORKER_PORT ?? 0);
    const serviceEnv = { PATH: process.env.PATH, ...env, ...environment, ...overrides };
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: serviceEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-OUTPUT_LIMIT_CHARS);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const exit = new Promise((resolve) => child.once("exit", resolve));
    const started = {
      name: `${name}-${replica}`,
      child,
      port,
      output: () => output,
      exit,
      env: serviceEnv,
    };
    running.push(started);
    return started;
  }

  /** What every Hookpost service gets in place of the compose network's hosts and the image's paths. */
  const local = () => ({
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: `hp-compose-${process.pid}`,
    HOST: "127.0.0.1",
    DATA_DIR: scratchDir,
    OUTBOUND_ALLOW: "127.0.0.0/8",
  });

  async function ready(service: Service): Promise<void> {
    await waitFor(
      async () => {
        if (service.child.exitCode !== null) throw new Error(`${service.name} exited:\n${service.output()}`);
        const res = await fetch(`http://127.0.0.1:${service.port}/readyz`).catch(() => null);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      `${service.name} to answer /readyz`,
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${service.name} output ---\n${service.output()}`);
    });
  }

  beforeAll(async () => {
    services = await composeServices();
    db = await createTestDatabase({ migrate: false });
    scratchDir = await mkdtemp(join(tmpdir(), "hp-compose-"));
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await Promise.all(running.map(stop));
    if (redisServer) await stop(redisServer);
    await receiver?.close();
    await db?.drop();
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  });

  it("redis runs with its compose command: noeviction and AOF", async () => {
    const [program, ...args] = services.redis!.command!;
    const port = await freePort();
    const child = spawn(
      program!,
      [...args, "--port", String(port), "--bind", "127.0.0.1", "--dir", scratchDir],
      {
        stdio: "ignore",
      },
    );
    redisServer = {
      name: "redis",
      child,
      port,
      output: () => "",
      exit: new Promise((r) => child.once("exit", r)),
      env: {},
    };
    redisUrl = `redis://127.0.0.1:${port}`;
    const redis = new Redis(redisUrl, { retryStrategy: () => 100 });
    // Refused until redis-server listens: waited for below.
    redis.on("error", () => {});
    try {
      await waitFor(() => redis.ping().then(() => true), "redis-server to answer");
      expect(await redis.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    } finally {
      redis.disconnect();
    }
  });

  it("migrate runs once and exits 0; api and worker wait for it", async () => {
    for (const name of ["api", "worker"])
      expect(services[name]!.depends_on?.migrate).toEqual({ condition: "service_completed_successfully" });
    const migrate = await run("migrate", 1, local());
    const code = await migrate.exit;
    expect(code, migrate.output()).toBe(0);
    expect(await db.prisma.workspace.count()).toBe(0);
  });

  it("both apis and both workers answer /readyz, and the workers deliver what the apis accept", async () => {
    const replicas = (name: string) => services[name]!.deploy?.replicas ?? 1;
    expect([replicas("api"), replicas("worker")]).toEqual([2, 2]);
    const apis: Service[] = [];
    const workers: Service[] = [];
    for (let i = 1; i <= replicas("api"); i++)
      apis.push(await run("api", i, { ...local(), PORT: String(await freePort()) }));
    for (let i = 1; i <= replicas("worker"); i++)
      workers.push(await run("worker", i, { ...local(), WORKER_PORT: String(await freePort()) }));
    await Promise.all([...apis, ...workers].map(ready));
    // The image's HEALTHCHECK, run with each container's environment, finds each role healthy.
    const [, ...healthcheckArgs] = (await imageDefaults()).healthcheck;
    for (const service of [...apis, ...workers]) {
      await expect(
        promisify(execFile)(process.execPath, healthcheckArgs, { cwd: REPO, env: service.env }),
        service.name,
      ).resolves.toBeDefined();
    }

    const { apiKey } = await createWorkspace(db.prisma, "compose");
    const [first, second] = apis.map((api) =>
      graphqlClient(`http://127.0.0.1:${api.port}/graphql`, `Bearer ${apiKey}`),
    );
    await first!.ok(CreateEndpointDocument, { input: { url: receiver.url, eventTypes: ["*"] } });
    await second!.ok(PublishEventsDocument, {
      inputs: Array.from({ length: EVENTS }, (_, n) => ({ type: "email.sent", data: { n } })),
    });
    await waitFor(() => receiver.requests.length >= EVENTS, `${EVENTS} deliveries at the receiver`);
    const delivered = new Set(receiver.requests.map((req) => req.headers["webhook-id"]));
    expect(delivered.size).toBe(EVENTS);

    const metrics = await fetch(`http://127.0.0.1:${workers[0]!.port}/metrics`);
    expect(metrics.status).toBe(200);
    await metrics.body?.cancel();
  });
});
