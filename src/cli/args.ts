import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./usageError.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Flags every remote command takes: which api, and the key to use. */
const REMOTE_OPTIONS = { url: { type: "string" }, "api-key": { type: "string" } } as const satisfies Options;

/** Parses a remote command's arguments strictly; a mistake becomes a UsageError naming it. */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({
      args,
      options: { ...REMOTE_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** A repeatable flag that also takes comma-separated values: `--type a --type b,c`. */
export function listFlag(values: string[] | undefined): string[] | undefined {
  const list = values
    ?.flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  return list?.length ? list : undefined;
}
