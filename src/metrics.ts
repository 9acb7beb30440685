/**
 * Process metrics in the Prometheus text format, for /metrics. Deliberately
 * tiny: counters and one histogram kept in memory, queue depths read at
 * scrape time. Each process reports its own; Prometheus sums across them.
 */
const DURATION_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const attempts = new Map<string, number>();
const durationBuckets = DURATION_BUCKETS_S.map(() => 0);
let durationSum = 0;
let durationCount = 0;
let lineJoins = 0;
let lineDrops = 0;
let slotsSetAside = 0;
let recordingPaused = false;

/** Records one delivery attempt: `result` is "success" or "failure". */
export function observeAttempt(result: "success" | "failure", durationMs: number): void {
  attempts.set(result, (attempts.get(result) ?? 0) + 1);
  const seconds = durationMs / 1_000;
  DURATION_BUCKETS_S.forEach((le, i) => {
    if (seconds <= le) durationBuckets[i]! += 1;
  });
  durationSum += seconds;
  durationCount += 1;
}

/** Counts a delivery that went to wait in line for its saturated origin (src/backpressure/originLines.ts). */
export function observeLineJoin(): void {
  lineJoins += 1;
}

/** Counts deliveries taken out of their line unstarted, their endpoint's circuit open. */
export function observeLineDrops(count: number): void {
  lineDrops += count;
}

/** Counts an attempt that set its slot aside, its receiver slow (src/backpressure/deliverySlots.ts). */
export function observeSlotSetAside(): void {
  slotsSetAside += 1;
}

/** Sets whether this process has stopped starting sends because attempts cannot be recorded. */
export function observeRecordingPaused(paused: boolean): void {
  recordingPaused = paused;
}

export function isRecordingPaused(): boolean {
  return recordingPaused;
}

export function renderMetrics(gauges: Record<string, Record<string, number>>): string {
  const lines: string[] = [];
  lines.push("# HELP hookpost_delivery_attempts_total Delivery attempts made by this process.");
  lines.push("# TYPE hookpost_delivery_attempts_total counter");
  for (const result of ["success", "failure"]) {
    lines.push(`hookpost_delivery_attempts_total{result="${result}"} ${attempts.get(result) ?? 0}`);
  }
  lines.push("# HELP hookpost_delivery_duration_seconds Time from request start to response end.");
  lines.push("# TYPE hookpost_delivery_duration_seconds histogram");
  DURATION_BUCKETS_S.forEach((le, i) => {
    lines.push(`hookpost_delivery_duration_seconds_bucket{le="${le}"} ${durationBuckets[i]}`);
  });
  lines.push(`hookpost_delivery_duration_seconds_bucket{le="+Inf"} ${durationCount}`);
  lines.push(`hookpost_delivery_duration_seconds_sum ${durationSum}`);
  lines.push(`hookpost_delivery_duration_seconds_count ${durationCount}`);
  lines.push(
    "# HELP hookpost_origin_line_joins_total Deliveries that waited in this process for a saturated receiving origin.",
    "# TYPE hookpost_origin_line_joins_total counter",
    `hookpost_origin_line_joins_total ${lineJoins}`,
    "# HELP hookpost_origin_line_drops_total Deliveries taken out of this process's lines unstarted, their endpoint's circuit open.",
    "# TYPE hookpost_origin_line_drops_total counter",
    `hookpost_origin_line_drops_total ${lineDrops}`,
    "# HELP hookpost_slots_set_aside_total Attempts in this process that set their slot aside, their receiver silent for 500 ms.",
    "# TYPE hookpost_slots_set_aside_total counter",
    `hookpost_slots_set_aside_total ${slotsSetAside}`,
    "# HELP hookpost_sends_paused 1 while this process starts no send because attempts cannot be recorded.",
    "# TYPE hookpost_sends_paused gauge",
    `hookpost_sends_paused ${recordingPaused ? 1 : 0}`,
  );
  for (const [name, series] of Object.entries(gauges)) {
    lines.push(`# TYPE ${name} gauge`);
    for (const [label, value] of Object.entries(series)) lines.push(`${name}{state="${label}"} ${value}`);
  }
  const mem = process.memoryUsage();
  lines.push("# TYPE process_resident_memory_bytes gauge", `process_resident_memory_bytes ${mem.rss}`);
  return `${lines.join("\n")}\n`;
}
