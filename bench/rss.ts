import { readFileSync } from "node:fs";

export type RssSummary = { startMb: number; peakMb: number; endMb: number; samples: number };

/** Resident memory of a process in MB, from /proc/<pid>/status (VmRSS); null once it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1_024 : null;
  } catch {
    return null;
  }
}

/** Samples a process's RSS every `everyMs` until stop(), which returns start, peak and last sample. */
export function sampleRss(pid: number, everyMs = 500) {
  const samples: { at: number; mb: number }[] = [];
  const take = () => {
    const mb = rssMb(pid);
    if (mb !== null) samples.push({ at: Date.now(), mb });
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    samples,
    /** The summary of samples taken since index `from` (e.g. the start of a soak phase). */
    summary(from = 0): RssSummary {
      const window = samples.slice(from);
      const mbs = window.map((s) => s.mb);
      return {
        startMb: mbs[0] ?? Number.NaN,
        peakMb: Math.max(...mbs),
        endMb: mbs[mbs.length - 1] ?? Number.NaN,
        samples: mbs.length,
      };
    },
    stop(): void {
      take();
      clearInterval(timer);
    },
  };
}

export type RssSampler = ReturnType<typeof sampleRss>;
