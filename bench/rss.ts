import { readFileSync } from "node:fs";

export type RssSummary = { startMb: number; peakMb: number; endMb: number; samples: number };

/** A memory figure of a process in MB, from /proc/<pid>/status; null once it is gone. */
function statusMb(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return match ? Number(match[1]) / 1_024 : null;
  } catch {
    return null;
  }
}

/** Resident memory of a process in MB; null once it is gone. */
export const rssMb = (pid: number) => statusMb(pid, "VmRSS");

/** The most resident memory a process has had since it started, in MB (the kernel's high-water mark). */
export const peakRssMb = (pid: number) => statusMb(pid, "VmHWM");

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
