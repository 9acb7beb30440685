import type { IncomingMessage, ServerResponse } from "node:http";
import type { Deps } from "../deps.ts";
import { AppError, ErrorCode } from "../errors.ts";
import { findSourceForInbound, logInbound, receiveInbound } from "../inbound/receive.ts";
import type { InboundRequest } from "../inbound/types.ts";
import { observeInbound } from "../metrics.ts";

export const INBOUND_PATH = "/inbound/";

function answer(res: ServerResponse, status: number, body: unknown) {
  observeInbound(status);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

/** The body as text, or null once it passes `limitBytes` (the rest is not read). */
function readBody(req: IncomingMessage, limitBytes: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        req.removeAllListeners("data");
        req.resume();
        resolve(null);
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Lower-cased single-valued headers, as verifiers read them. */
function headersOf(req: IncomingMessage): InboundRequest["headers"] {
  return Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(", ") : value,
    ]),
  );
}

/** Counts the request against its source's limit; the refusal when it is over. */
async function rateLimitRefusal(
  deps: Deps,
  sourceId: string,
): Promise<{ message: string; retryAfterSeconds: number } | null> {
  try {
    await deps.rateLimits.inbound(sourceId);
    return null;
  } catch (err) {
    if (!(err instanceof AppError) || err.extensions.code !== ErrorCode.RATE_LIMITED) throw err;
    return { message: err.message, retryAfterSeconds: Number(err.extensions.retryAfterSeconds) };
  }
}

/**
 * POST /inbound/<sourceId>: a provider's webhook. Answers 200 once its events
 * are stored, 401 for a bad signature, 413 for a body over the limit, 429 past
 * the source's rate limit, 404 for an unknown source; every request to a
 * known source that is read is logged.
 */
export async function serveInbound(deps: Deps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const sourceId = (req.url ?? "").split("?")[0]!.slice(INBOUND_PATH.length);
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return answer(res, 405, { error: "POST only" });
  }
  const source = sourceId ? await findSourceForInbound(deps, sourceId) : null;
  if (!source) {
    req.resume();
    return answer(res, 404, { error: "no such inbound source" });
  }
  const refusal = await rateLimitRefusal(deps, source.id);
  if (refusal) {
    req.resume();
    res.setHeader("retry-after", String(refusal.retryAfterSeconds));
    return answer(res, 429, { error: refusal.message });
  }
  const limit = deps.config.http.inboundBodyLimitBytes;
  const declared = Number(req.headers["content-length"] ?? 0);
  const body = declared > limit ? null : await readBody(req, limit);
  if (body === null) {
    // The rest of the body is not wanted: the connection closes after the answer.
    res.setHeader("connection", "close");
    req.resume();
    const reason = `body over the ${limit}-byte limit`;
    await logInbound(deps, source, "", { status: "REJECTED", reason, eventIds: [] });
    return answer(res, 413, { error: reason });
  }
  const outcome = await receiveInbound(deps, source, { body, headers: headersOf(req) });
  answer(
    res,
    outcome.httpStatus,
    outcome.httpStatus < 300
      ? { received: true, status: outcome.status, eventIds: outcome.eventIds }
      : { error: outcome.reason },
  );
}
