import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { sleep } from "./clock.ts";

export type Receipts = { ids: string[]; at: number[] };

type Query = { op: "counts" } | { op: "receipts"; label: string } | { op: "forget"; label: string };
export type ReceiverRequest = Query & { seq: number };
type Answer = { seq: number; counts?: Record<string, number>; receipts?: Receipts };
type Ports = { healthy: number; "500": number; hang: number };
export type ReceiverReply = { ready: Ports } | Answer;

export type ReceiverProcess = {
  pid: number;
  /** Base URLs; append `/<ok|500|hang>/<label>`. */
  healthyBase: string;
  failingBase: { "500": string; hang: string };
  counts(): Promise<Record<string, number>>;
  count(label: string): Promise<number>;
  receipts(label: string): Promise<Receipts>;
  forget(label: string): Promise<void>;
  /** Polls until `label` has received `total` requests; reports progress every second. */
  waitForCount(label: string, total: number, opts?: WaitOpts): Promise<void>;
  stop(): Promise<void>;
};

/** `stallMs`: give up when no request has arrived for that long. */
type WaitOpts = { stallMs?: number; progress?: (received: number) => void };

/** Starts bench/receiver.ts in a child process and talks to it over IPC. */
export async function startReceiverProcess(): Promise<ReceiverProcess> {
  const script = fileURLToPath(new URL("./receiver.ts", import.meta.url));
  const child = fork(script, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (answer: Answer) => void>();
  let seq = 0;
  const ports = await new Promise<Ports>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`receiver exited with ${code} before it was ready`)));
    child.on("message", (message: ReceiverReply) => {
      if ("ready" in message) resolve(message.ready);
      else pending.get(message.seq)?.(message);
    });
  });

  const ask = (query: Query) =>
    new Promise<Answer>((resolve) => {
      const id = ++seq;
      pending.set(id, (answer) => {
        pending.delete(id);
        resolve(answer);
      });
      child.send({ ...query, seq: id });
    });
  const counts = async () => (await ask({ op: "counts" })).counts ?? {};
  const count = async (label: string) => (await counts())[label] ?? 0;

  return {
    pid: child.pid!,
    healthyBase: `http://127.0.0.1:${ports.healthy}`,
    failingBase: { "500": `http://127.0.0.1:${ports["500"]}`, hang: `http://127.0.0.1:${ports.hang}` },
    counts,
    count,
    receipts: async (label) => (await ask({ op: "receipts", label })).receipts ?? { ids: [], at: [] },
    forget: async (label) => {
      await ask({ op: "forget", label });
    },
    async waitForCount(label, total, { stallMs = 60_000, progress } = {}) {
      let lastReport = Date.now();
      let lastCount = -1;
      let lastChange = Date.now();
      for (;;) {
        const received = await count(label);
        if (received >= total) return;
        if (received !== lastCount) {
          lastCount = received;
          lastChange = Date.now();
        } else if (Date.now() - lastChange > stallMs) {
          throw new Error(
            `receiver got ${received}/${total} requests for "${label}", none for ${stallMs} ms`,
          );
        }
        if (progress && Date.now() - lastReport >= 1_000) {
          progress(received);
          lastReport = Date.now();
        }
        await sleep(20);
      }
    },
    stop: () => stopChild(child),
  };
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
