// `hookpost replay`: starts a replay and follows its replayProgress subscription to the end.
import { setTimeout as sleep } from "node:timers/promises";
import { parseDurationMs } from "../config.ts";
import { listFlag, parseCommandArgs } from "./args.ts";
import { ConnectionError, type Remote, RemoteError, remoteFrom, request, subscribe } from "./remote.ts";
import { REPLAY_USAGE } from "./usage.ts";
import { UsageError } from "./usageError.ts";

const REPLAY_FIELDS = "id status total enqueued delivered failed error";

const START_REPLAY = `mutation CliReplay($input: ReplayEventsInput!) {
  replayEvents(input: $input) { ${REPLAY_FIELDS} }
}`;
const REPLAY_PROGRESS = `subscription CliReplayProgress($id: ID!) {
  replayProgress(id: $id) { ${REPLAY_FIELDS} }
}`;
const REPLAY_NOW = `query CliReplay($id: ID!) {
  replay(id: $id) { ${REPLAY_FIELDS} }
}`;
/** How often the replay is asked for when no WebSocket gets through (a proxy without upgrades). */
const POLL_INTERVAL_MS = 1_000;

type ReplayState = {
  id: string;
  status: "QUEUED" | "RUNNING" | "COMPLETED" | "CANCELLED" | "FAILED";
  total: number;
  enqueued: number;
  delivered: number;
  failed: number;
  error: string | null;
};

const BAR_WIDTH = 30;
const FINISHED = new Set(["COMPLETED", "CANCELLED", "FAILED"]);

/** An ISO 8601 time, `now`, or an age (`90m`, `2h`, `3d`) counted back from `now`. */
export function parseTime(text: string, now = Date.now()): string {
  if (text === "now") return new Date(now).toISOString();
  const ageMs = parseDurationMs(text);
  if (ageMs !== undefined) return new Date(now - ageMs).toISOString();
  const time = Date.parse(text);
  if (Number.isNaN(time))
    throw new UsageError(`not a time: "${text}" (ISO 8601, "now", or an age such as 2h)`);
  return new Date(time).toISOString();
}

/** `RUNNING   [#########---------------------]  30/100 delivered 28 failed 2`. */
export function progressLine(replay: ReplayState): string {
  const finished = replay.delivered + replay.failed;
  const fraction = replay.total > 0 ? finished / replay.total : replay.status === "COMPLETED" ? 1 : 0;
  const filled = Math.round(Math.min(1, fraction) * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const error = replay.error ? ` error: ${replay.error}` : "";
  return `${replay.status.padEnd(9)} ${bar} ${finished}/${replay.total} delivered ${replay.delivered} failed ${replay.failed}${error}`;
}

/** Draws progress in place on a terminal; elsewhere writes one line per change. */
function progressWriter(out: NodeJS.WriteStream) {
  let last = "";
  return {
    show(replay: ReplayState) {
      const line = progressLine(replay);
      if (line === last) return;
      last = line;
      out.write(out.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
    },
    end() {
      if (out.isTTY && last) out.write("\n");
    },
  };
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    since: { type: "string" },
    until: { type: "string" },
    endpoint: { type: "string" },
    "only-failed": { type: "boolean" },
    type: { type: "string", multiple: true },
  });
  if (positionals.length > 0 || !values.since) throw new UsageError(`Usage: hookpost\n${REPLAY_USAGE}`);
  const remote = remoteFrom(values);
  const input = {
    since: parseTime(values.since),
    until: parseTime(values.until ?? "now"),
    endpointId: values.endpoint,
    onlyFailed: values["only-failed"] ?? false,
    eventTypes: listFlag(values.type),
  };
  const { replayEvents: started } = await request<{ replayEvents: ReplayState }>(remote, START_REPLAY, {
    input,
  });
  process.stdout.write(`replay ${started.id}\n`);
  const progress = progressWriter(process.stdout);
  progress.show(started);
  let finished = started;
  try {
    if (!FINISHED.has(started.status)) finished = await follow(remote, started, progress.show);
  } finally {
    progress.end();
  }
  return finished.status === "COMPLETED" ? 0 : 1;
}

/** Follows a replay until it ends: live over replayProgress, or by polling when no WebSocket gets through. */
async function follow(remote: Remote, replay: ReplayState, show: (replay: ReplayState) => void) {
  let latest = replay;
  const update = (next: ReplayState) => {
    latest = next;
    show(next);
  };
  const subscription = await subscribe<{ replayProgress: ReplayState }>(
    remote,
    REPLAY_PROGRESS,
    { id: replay.id },
    { onData: ({ replayProgress }) => update(replayProgress) },
  );
  // Ctrl-C stops following; the replay itself goes on (cancelReplay stops it).
  const stopFollowing = () => subscription.stop();
  process.once("SIGINT", stopFollowing);
  try {
    await subscription.done;
    return latest;
  } catch (err) {
    if (!(err instanceof ConnectionError)) throw err;
    process.stderr.write(`no live progress (${err.reason}); asking every ${POLL_INTERVAL_MS / 1_000} s\n`);
  } finally {
    process.off("SIGINT", stopFollowing);
  }
  while (!FINISHED.has(latest.status)) {
    await sleep(POLL_INTERVAL_MS);
    const { replay: now } = await request<{ replay: ReplayState | null }>(remote, REPLAY_NOW, {
      id: replay.id,
    });
    if (!now) throw new RemoteError(`replay ${replay.id} is gone`);
    update(now);
  }
  return latest;
}
