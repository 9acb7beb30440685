import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "../config.ts";
import { rateLimited } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { type RedisClient, redisKeyPrefix } from "../redis.ts";

const WINDOW_S = 60;
/** Client addresses an api process remembers as refused; past this many it forgets the oldest. */
const MAX_REFUSED_ADDRESSES = 10_000;

/** Who a request is counted against: its API key, or the workspace of its JWT. */
export type Caller = Readonly<{ workspaceId: string; keyId: string | null }>;

export type RateLimits = {
  /** Counts one GraphQL request; throws RATE_LIMITED past the caller's limit. */
  request(caller: Caller): Promise<void>;
  /** Counts one call that sends requests out (testEndpoint, replayDelivery, replayEvents). */
  outbound(caller: Caller): Promise<void>;
  /** Counts a bad credential from `address`; throws RATE_LIMITED past the limit. */
  failedAuth(address: string): Promise<void>;
  /** Counts one request to an inbound source; throws RATE_LIMITED past the source's limit. */
  inbound(sourceId: string): Promise<void>;
  /** Throws RATE_LIMITED while `address` is refused for failing too often, valid credential or not. */
  refuseIfBlocked(address: string): void;
};

const callerKey = (caller: Caller) => caller.keyId ?? `jwt:${caller.workspaceId}`;

/**
 * Fixed one-minute windows counted in Redis, so every api process shares them
 * (rate-limiter-flexible: one round trip per count). A Redis failure lets the
 * request through: an outage of the limiter must not become an outage of the API.
 */
export function createRateLimits(
  redis: RedisClient,
  config: Pick<Config, "redis" | "rateLimits">,
  logger: Logger,
): RateLimits {
  const refusedUntil = new Map<string, number>();
  const limiter = (
    name: string,
    perMinute: number,
    what: string,
    onRefused = (_key: string, _forMs: number) => {},
  ) => {
    if (perMinute === 0) return async (_key: string) => {};
    const store = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${redisKeyPrefix(config)}:rate:${name}`,
      points: perMinute,
      duration: WINDOW_S,
    });
    return async (key: string): Promise<void> => {
      try {
        await store.consume(key);
      } catch (outcome) {
        if (!(outcome instanceof RateLimiterRes)) {
          logger.warn(
            { limiter: name, error: (outcome as Error).message },
            "rate limiter unavailable; request let through",
          );
          return;
        }
        onRefused(key, outcome.msBeforeNext);
        throw rateLimited(what, Math.max(1, Math.ceil(outcome.msBeforeNext / 1_000)));
      }
    };
  };
  const remember = (address: string, forMs: number) => {
    if (refusedUntil.size >= MAX_REFUSED_ADDRESSES)
      refusedUntil.delete(refusedUntil.keys().next().value ?? "");
    refusedUntil.set(address, Date.now() + forMs);
  };

  const limits = config.rateLimits;
  const requests = limiter("requests", limits.requestsPerMinute, "requests for this API key");
  const outbound = limiter("outbound", limits.outboundPerMinute, "test sends and replays for this API key");
  const inbound = limiter("inbound", limits.inboundPerMinute, "requests to this inbound source");
  const failedAuth = limiter(
    "failed-auth",
    limits.failedAuthPerMinute,
    "failed authentications from this address",
    remember,
  );
  return {
    request: (caller) => requests(callerKey(caller)),
    outbound: (caller) => outbound(callerKey(caller)),
    inbound,
    failedAuth,
    refuseIfBlocked(address) {
      const until = refusedUntil.get(address);
      if (until === undefined) return;
      const leftMs = until - Date.now();
      if (leftMs <= 0) refusedUntil.delete(address);
      else throw rateLimited("failed authentications from this address", Math.ceil(leftMs / 1_000));
    },
  };
}
