import { isIP } from "node:net";
import { Agent } from "undici";
import { type AnswerPace, msPerAnswer, recordAnswer, startPace } from "../backpressure/answerPace.ts";
import { createStallClock } from "../backpressure/stallClock.ts";
import {
  createAddressPolicy,
  createGuardedLookup,
  FORBIDDEN_ADDRESS_CODE,
  forbiddenTargetMessage,
  urlHost,
} from "./outboundGuard.ts";
import { post } from "./post.ts";
import { type AttemptOutcome, isSuccessStatus } from "./retrySchedule.ts";

export type OutboundRequest = {
  url: string;
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal;
  /** Overrides the sender's timeout for this attempt. */
  timeoutMs?: number;
  /** Called once if the attempt is still in flight after SLOW_MS (500 ms). */
  onSlow?: () => void;
};

export type SendResult = {
  /** 2xx received (and its body read) within the timeout. */
  ok: boolean;
  status: number | null;
  headers: Record<string, string> | null;
  /** At most responseBodyLimitBytes of the response body, as UTF-8. */
  body: string | null;
  error: string | null;
  outcome: AttemptOutcome;
  durationMs: number;
  /** The SSRF guard refused the target's address: nothing was sent. */
  refused?: boolean;
};

export type HttpSender = {
  /** Never throws for network trouble: it comes back as `error` and a timeout/network outcome. */
  send(request: OutboundRequest): Promise<SendResult>;
  /**
   * True when the URL's origin has not answered yet (in this process, lately)
   * and has UNPROVEN_REQUESTS in flight; or when every connection to it is
   * busy and either it has not answered for SLOW_MS (it hangs), or a request
   * sent now would wait for a connection for a tenth of its timeout or more,
   * and at least SLOW_MS (the requests ahead of it times the origin's time
   * per answer lately). A busy origin that answers fast is not saturated
   * however many requests wait for it: the wait is short.
   */
  isSaturated(url: string): boolean;
  /** Waits for in-flight requests, then closes every pooled connection. */
  close(): Promise<void>;
};

const CONNECTIONS_PER_ORIGIN = 128;
/** An origin whose connections are all busy and that has not answered for this long hangs. */
const SLOW_MS = 500;
/**
 * The share of its timeout a request may expect to wait for a connection
 * before its origin counts as saturated. Measured on the expected wait, not
 * on the age of the oldest request in flight: with WORKER_CONCURRENCY above
 * the connections, a fast receiver's requests queue for hundreds of
 * milliseconds on a loaded host, and that age alone marked it slow, which
 * sent its deliveries into a line (src/backpressure/originLines.ts) and dropped
 * e2e from 2,500 to 58 deliveries a second.
 */
const QUEUED_SHARE_OF_TIMEOUT = 0.1;
/**
 * Requests in flight at most to an origin that has not answered yet; its
 * further deliveries wait in its line (src/backpressure/originLines.ts) until it
 * answers. Without it, a new endpoint that hangs took a connection per
 * delivery until SLOW_MS had passed with all of them busy: in failing-mix,
 * 139–161 attempts to the hanging endpoint in three runs, each one a timeout
 * to record and retry, where eight tell as much (21 with it, eight at a
 * time until its circuit opened).
 */
const UNPROVEN_REQUESTS = 8;
/**
 * An origin that has not answered for this long, with nothing in flight, is
 * forgotten: its next requests start as an unproven origin's.
 */
const FORGET_AFTER_MS = 600_000;
/**
 * How many requests an origin has in flight, how fast it answers in its
 * current busy spell, and when it last answered at all (an HTTP response,
 * of any status; null: never, in this process).
 */
type OriginLoad = { inFlight: number; pace: AnswerPace; lastAnswerAt: number | null };

/**
 * Sends delivery attempts. One undici Agent for the whole process keeps a
 * keep-alive pool per origin, so a busy endpoint reuses its connections.
 * Redirects are never followed (a 3xx is a failed attempt, per the delivery
 * contract), and every connection goes through the SSRF guard.
 */
/** Stalls shorter than this are not given back to an attempt. */
const STALL_MS = 100;

export function createHttpSender(opts: {
  timeoutMs: number;
  responseBodyLimitBytes: number;
  outboundAllow: readonly string[];
  connections?: number;
}): HttpSender {
  const policy = createAddressPolicy(opts.outboundAllow);
  const connections = opts.connections ?? CONNECTIONS_PER_ORIGIN;
  const loads = new Map<string, OriginLoad>();
  const stalls = createStallClock();
  let forgottenAt = performance.now();
  /** Drops the origins idle for FORGET_AFTER_MS, at most once a minute. */
  const forgetIdleOrigins = (now: number) => {
    if (now - forgottenAt < 60_000) return;
    forgottenAt = now;
    for (const [origin, load] of loads) {
      if (load.inFlight === 0 && now - (load.lastAnswerAt ?? 0) >= FORGET_AFTER_MS) loads.delete(origin);
    }
  };
  const agent = new Agent({
    // A worker runs hundreds of attempts at once; to one host they share this many
    // keep-alive connections (the rest wait their turn) instead of opening a socket each.
    connections,
    pipelining: 1,
    connect: { lookup: createGuardedLookup(policy), timeout: opts.timeoutMs },
  });

  const targets = new Map<string, Target | null>();
  /** The parts of a URL that sending needs, parsed once per URL (null: not a URL). */
  const targetOf = (raw: string): Target | null => {
    let target = targets.get(raw);
    if (target === undefined) {
      target = parseTarget(raw);
      if (targets.size >= MAX_REMEMBERED_TARGETS) targets.clear();
      targets.set(raw, target);
    }
    return target;
  };

  /** The origin's load, made on its first request; a new busy spell measures its pace afresh. */
  const originLoad = (origin: string, now: number): OriginLoad => {
    forgetIdleOrigins(now);
    const known = loads.get(origin);
    if (!known) {
      const load: OriginLoad = { inFlight: 0, pace: startPace(now), lastAnswerAt: null };
      loads.set(origin, load);
      return load;
    }
    if (known.inFlight === 0) known.pace = startPace(now);
    return known;
  };

  async function send(request: OutboundRequest): Promise<SendResult> {
    const startedAt = performance.now();
    const timeoutMs = request.timeoutMs ?? opts.timeoutMs;
    const elapsedMs = () => Math.round(performance.now() - startedAt);
    const failure = (error: string, outcome: AttemptOutcome, status: number | null = null) => ({
      ok: false,
      status,
      headers: null,
      body: null,
      error,
      outcome,
      durationMs: elapsedMs(),
    });

    const url = targetOf(request.url);
    if (!url) return failure(`invalid URL ${request.url}`, { kind: "network" });
    // Node connects to IP literals without calling the guarded lookup, so they are checked here.
    const rule = url.isIpLiteral ? policy.forbiddingRule(url.host) : null;
    if (rule) {
      return {
        ...failure(forbiddenTargetMessage({ address: url.host }, rule), { kind: "network" }),
        refused: true,
      };
    }

    // What an answer's status line said, if one came before the attempt ended.
    let status: number | null = null;
    const timedOutFailure = () => failure(`timed out after ${timeoutMs} ms`, { kind: "timeout" }, status);
    const abortedFailure = () => failure("aborted before completion", { kind: "network" }, status);
    if (request.signal?.aborted) return abortedFailure();

    const load = originLoad(url.origin, startedAt);
    load.inFlight += 1;

    const exchange = post(
      agent,
      {
        origin: url.origin,
        path: url.path,
        method: "POST",
        headers: request.headers,
        body: request.body,
        // undici's own phase timers default to 300 s; the attempt's own timer below is the
        // bound, these only a backstop (undici acts on them without reading what has arrived).
        headersTimeout: timeoutMs * 3,
        bodyTimeout: timeoutMs * 3,
      },
      opts.responseBodyLimitBytes,
      (answered) => {
        status = answered;
        load.lastAnswerAt = performance.now();
        recordAnswer(load.pace, load.lastAnswerAt);
      },
    );
    // undici settles an aborted request only once its connection attempt has, and a
    // connect can hang (a receiver whose accept queue overflowed drops the SYN): the
    // timeout and the caller's abort end the attempt themselves, whatever undici does.
    let timedOut = false;
    let ended = false;
    let giveUp!: (result: SendResult) => void;
    const givenUp = new Promise<SendResult>((resolve) => {
      giveUp = resolve;
    });
    const timeOut = () => {
      if (ended) return;
      timedOut = true;
      const failed = timedOutFailure();
      exchange.abort(new Error(failed.error));
      giveUp(failed);
    };
    // A stall of this process (a loaded machine) is not the receiver's: the attempt gets the
    // time it was stalled back (at most its timeout again), and setImmediate lets the loop read
    // whatever answer has arrived before it gives up. Otherwise an answered attempt would be
    // recorded as timed out, and sent again.
    const unwatch = stalls.watch();
    const stalledAtStart = stalls.stalledMs();
    let givenBackMs = 0;
    const expire = () => {
      const stolenMs = Math.min(timeoutMs, stalls.stalledMs() - stalledAtStart);
      if (stolenMs - givenBackMs > STALL_MS) {
        timer = setTimeout(expire, stolenMs - givenBackMs);
        givenBackMs = stolenMs;
        return;
      }
      setImmediate(timeOut);
    };
    let timer: NodeJS.Timeout = setTimeout(expire, timeoutMs);
    const abortFromCaller = () => {
      const failed = abortedFailure();
      exchange.abort(new Error(failed.error));
      giveUp(failed);
    };
    request.signal?.addEventListener("abort", abortFromCaller, { once: true });
    const slowTimer = request.onSlow && setTimeout(request.onSlow, SLOW_MS);

    const outcome = async (): Promise<SendResult> => {
      try {
        const answer = await exchange.answer;
        const { headers } = answer;
        const redirected = answer.status >= 300 && answer.status < 400;
        return {
          ok: isSuccessStatus(answer.status),
          status: answer.status,
          headers,
          body: answer.body,
          error: redirected ? `redirect to ${headers.location ?? "(no location)"} not followed` : null,
          outcome: { kind: "http", status: answer.status, retryAfter: headers["retry-after"] },
          durationMs: elapsedMs(),
        };
      } catch (error) {
        if (timedOut || isUndiciTimeout(error)) return timedOutFailure();
        if (request.signal?.aborted) return abortedFailure();
        // The guarded lookup's refusal arrives unchanged through undici; its message is already user-facing.
        if (error instanceof Error && errorCode(error) === FORBIDDEN_ADDRESS_CODE) {
          return { ...failure(error.message, { kind: "network" }), refused: true };
        }
        return failure(describeError(error), { kind: "network" }, status);
      }
    };

    try {
      return await Promise.race([outcome(), givenUp]);
    } finally {
      ended = true;
      unwatch();
      clearTimeout(timer);
      clearTimeout(slowTimer);
      request.signal?.removeEventListener("abort", abortFromCaller);
      load.inFlight -= 1;
      // An origin that never answered has nothing worth remembering.
      if (load.inFlight === 0 && load.lastAnswerAt === null) loads.delete(url.origin);
    }
  }

  function isSaturated(target: string): boolean {
    // An invalid URL is not saturated: its send fails on its own.
    const load = loads.get(targetOf(target)?.origin ?? "");
    if (!load) return false;
    if (load.lastAnswerAt === null) return load.inFlight >= Math.min(UNPROVEN_REQUESTS, connections);
    if (load.inFlight < connections) return false;
    const now = performance.now();
    if (now - load.pace.answeredAt >= SLOW_MS) return true;
    // Too soon to say (no whole window yet), or no answer lately but not for SLOW_MS either.
    const perAnswerMs = msPerAnswer(load.pace, now);
    if (perAnswerMs === null || perAnswerMs === Number.POSITIVE_INFINITY) return false;
    // Requests that no connection has taken yet, and the new one.
    const ahead = load.inFlight - connections + 1;
    return ahead * perAnswerMs >= Math.max(SLOW_MS, opts.timeoutMs * QUEUED_SHARE_OF_TIMEOUT);
  }

  return { send, isSaturated, close: () => agent.close() };
}

/** A URL as sending uses it. */
type Target = { origin: string; path: string; host: string; isIpLiteral: boolean };
/** Distinct endpoint URLs whose parse is kept; past it the memory starts afresh. */
const MAX_REMEMBERED_TARGETS = 10_000;

function parseTarget(raw: string): Target | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const host = urlHost(url);
  return { origin: url.origin, path: url.pathname + url.search, host, isIpLiteral: isIP(host) !== 0 };
}

const UNDICI_TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

function isUndiciTimeout(error: unknown): boolean {
  return UNDICI_TIMEOUT_CODES.has(errorCode(error) ?? "");
}

/** A one-line reason for the delivery log, e.g. "connect ECONNREFUSED 1.2.3.4:443". */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's happy-eyeballs connect fails with an AggregateError whose message may be empty.
  const message =
    error.message ||
    (error instanceof AggregateError ? error.errors.map(describeError).join("; ") : error.name);
  const code = errorCode(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function errorCode(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return typeof code === "string" ? code : undefined;
}
