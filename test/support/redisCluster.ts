import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./processes.ts";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);
const LOG_LIMIT_CHARS = 50_000;

export type RedisCluster = {
  /** REDIS_URL naming the cluster. */
  url: string;
  ports: number[];
  /** What the nodes printed, for a failing test. */
  logs(): string;
  /** Stops every node it started (by PID) and removes their files. */
  stop(): Promise<void>;
};

/**
 * A Redis Cluster of `masters` masters and no replicas on free loopback
 * ports, its node files in a temporary folder, nothing persisted. Resolves
 * once every node reports cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "hookpost-redis-cluster-"));
  const nodes: { port: number; child: ChildProcess; exited: Promise<void> }[] = [];
  let output = "";
  const stop = async () => {
    await Promise.all(
      nodes.map(async ({ child, exited }) => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      const child = spawn(
        "redis-server",
        [
          ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
          ...["--cluster-enabled", "yes", "--cluster-port", String(busPort)],
          ...["--cluster-config-file", `nodes-${port}.conf`],
          ...["--save", "", "--appendonly", "no", "--daemonize", "no"],
        ],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString("utf8")).slice(-LOG_LIMIT_CHARS);
      };
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      nodes.push({ port, child, exited });
    }
    const ports = nodes.map((n) => n.port);
    for (const port of ports) await waitFor(() => ping(port), `redis-server on ${port}`, 30_000);
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      ...["--cluster-replicas", "0", "--cluster-yes"],
    ]);
    for (const port of ports)
      await waitFor(() => clusterStateOk(port), `cluster_state:ok on ${port}`, 60_000);
    return {
      url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(",")}`,
      ports,
      logs: () => output,
      stop,
    };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- redis-server output ---\n${output}`);
  }
}

async function ping(port: number): Promise<boolean> {
  const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function clusterStateOk(port: number): Promise<boolean> {
  const redis = new Redis({ port, host: "127.0.0.1" });
  try {
    const info = String(await redis.cluster("INFO"));
    return info.includes("cluster_state:ok") && info.includes("cluster_slots_ok:16384");
  } finally {
    redis.disconnect();
  }
}
