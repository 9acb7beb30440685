import type { CpuSources } from "../cpu.ts";
import type { ReceiverProcess } from "../receiverProcess.ts";
import type { RssSampler } from "../rss.ts";
import type { Stack } from "../stack.ts";

/** What every scenario gets: the running stack, the receiver, the run's mode and a progress line printer. */
export type BenchContext = {
  quick: boolean;
  /** Events of the e2e throughput phase; failing-mix sends as many to its healthy endpoints. */
  events: number;
  stack: Stack;
  receiver: ReceiverProcess;
  workerRss: RssSampler;
  cpu: CpuSources;
  /** The WebhookFormat of the e2e endpoints, when not the default. */
  format?: string;
  progress(message: string): void;
};
