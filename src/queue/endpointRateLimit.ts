import type { Config } from "../config.ts";
import type { Endpoint } from "../db/generated/client.ts";
import { type RedisClient, redisKeyPrefix } from "../redis.ts";

/**
 * Holds deliveries to an endpoint with a rateLimitPerSecond to that rate
 * across every worker process: one Redis script spaces them 1/rate apart
 * (GCRA, no burst). A delivery refused now gets the next free time reserved
 * for it and waits as a delayed job, not in a worker slot: when it comes back
 * (in whichever process) it takes its reservation, so nothing reserved twice
 * and nothing is dropped or counted as an attempt. Times are Redis's own, so
 * the processes' clocks need not agree.
 */
export type EndpointRateLimit = {
  /** 0: send now. Otherwise how long until this delivery's reserved time. */
  waitMs(endpoint: Pick<Endpoint, "id" | "rateLimitPerSecond">, deliveryId: string): Promise<number>;
};

/** How long a reservation outlives its time: a delivery that never comes back for it frees it then. */
const RESERVATION_KEPT_MS = 60_000;

/**
 * KEYS[1]: the endpoint's theoretical arrival time (ms); KEYS[2]: this
 * delivery's reservation. ARGV: interval ms, how long to keep keys past their time.
 */
const WAIT_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local keepMs = tonumber(ARGV[2])
local reserved = redis.call('GET', KEYS[2])
if reserved then
  local at = tonumber(reserved)
  if at <= now then
    redis.call('DEL', KEYS[2])
    return 0
  end
  return math.ceil(at - now)
end
local at = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local nextAt = at + tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(nextAt), 'PX', math.ceil(nextAt - now) + keepMs)
if at <= now then return 0 end
redis.call('SET', KEYS[2], tostring(at), 'PX', math.ceil(at - now) + keepMs)
return math.ceil(at - now)
`;

type WithWaitScript = RedisClient & {
  hookpostDeliveryRateWait(
    rateKey: string,
    reservationKey: string,
    intervalMs: number,
    keepMs: number,
  ): Promise<number>;
};

export function createEndpointRateLimit(
  redis: RedisClient,
  config: Pick<Config, "redis">,
): EndpointRateLimit {
  redis.defineCommand("hookpostDeliveryRateWait", { numberOfKeys: 2, lua: WAIT_SCRIPT });
  const scripted = redis as WithWaitScript;
  // The prefix's hash tag puts both keys of a call in one Redis Cluster slot.
  const keyOf = (endpointId: string) => `${redisKeyPrefix(config)}:delivery-rate:${endpointId}`;
  return {
    async waitMs(endpoint, deliveryId) {
      const perSecond = endpoint.rateLimitPerSecond;
      if (perSecond === null) return 0;
      const rateKey = keyOf(endpoint.id);
      return scripted.hookpostDeliveryRateWait(
        rateKey,
        `${rateKey}:${deliveryId}`,
        1_000 / perSecond,
        RESERVATION_KEPT_MS,
      );
    },
  };
}
