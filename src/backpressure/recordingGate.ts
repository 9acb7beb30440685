/**
 * Whether attempts can be recorded. A send whose attempt cannot be written
 * leaves its delivery due, so it is sent again once the database is back: a
 * duplicate made by Hookpost itself. So once a write fails the gate closes,
 * the worker starts no new send, and a probe retries every `probeEveryMs`
 * until the database takes writes again.
 */
export type RecordingGate = {
  readonly open: boolean;
  /** Resolves at once while open, otherwise once a probe succeeds. */
  whenOpen(): Promise<void>;
  /** A write failed: closes the gate (if open) and starts probing. */
  failed(err: unknown): void;
  /** Stops probing; waiters are left waiting. */
  close(): void;
};

export function createRecordingGate(opts: {
  /** Resolves if the database takes writes now; rejects otherwise. */
  probe(): Promise<unknown>;
  probeEveryMs: number;
  onChange(open: boolean, err?: unknown): void;
}): RecordingGate {
  let open = true;
  let waiters: (() => void)[] = [];
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  const reopen = () => {
    open = true;
    timer = null;
    opts.onChange(true);
    for (const resolve of waiters) resolve();
    waiters = [];
  };
  const probeLater = () => {
    if (!stopped) timer = setTimeout(probe, opts.probeEveryMs).unref();
  };
  const probe = () => {
    opts.probe().then(reopen, probeLater);
  };

  return {
    get open() {
      return open;
    },
    whenOpen() {
      if (open) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    failed(err) {
      if (!open) return;
      open = false;
      opts.onChange(false, err);
      probeLater();
    },
    close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
