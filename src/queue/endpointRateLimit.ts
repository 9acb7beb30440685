import type { Config } from "../config.ts";
import type { Endpoint } from "../db/generated/client.ts";
import { type RedisClient, redisKeyPrefix } from "../redis.ts";

/**
 * Holds deliveries to an endpoint with a rateLimitPerSecond to that rate
 * across every worker process, in one Redis script (times are Redis's own, so
 * the processes' clocks need not agree). A delivery refused now gets the next
 * free time reserved for it, 1/rate after the one before (no burst), and waits
 * for it as a delayed job, not in a worker slot: when it comes back, in
 * whichever process, it takes its reservation, so nothing is reserved twice,
 * dropped, or counted as an attempt. A delivery back later than LATE_MS (or
 * an interval) for its time, its worker busy, goes only if the last send was
 * at least half an interval ago, else it takes a new time at the end: after a
 * stall, late ones do not arrive together.
 */
export type EndpointRateLimit = {
  /** 0: send now. Otherwise how long until this delivery's reserved time. */
  waitMs(endpoint: Pick<Endpoint, "id" | "rateLimitPerSecond">, deliveryId: string): Promise<number>;
};

/** Lateness that is only a worker's usual delay in coming back (a delayed job, a load): it still goes. */
const LATE_MS = 250;
/** How long keys outlive their time: a delivery that never comes back for its reservation frees it then. */
const KEPT_MS = 60_000;

/**
 * KEYS: the endpoint's next free time, its last send's time, this delivery's
 * reservation (epoch ms). ARGV: the interval, how long keys outlive their
 * time, how late a delivery may be and still go whatever the last send (ms).
 */
const WAIT_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local interval = tonumber(ARGV[1])
local keepMs = tonumber(ARGV[2])
local lateMs = tonumber(ARGV[3])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local reserved = redis.call('GET', KEYS[3])
local function send(nextFree)
  redis.call('SET', KEYS[2], tostring(now), 'PX', math.ceil(interval) + keepMs)
  redis.call('SET', KEYS[1], tostring(nextFree), 'PX', math.ceil(nextFree - now) + keepMs)
  redis.call('DEL', KEYS[3])
  return 0
end
if reserved then
  local at = tonumber(reserved)
  if at > now then return math.ceil(at - now) end
  if now - at <= math.max(interval, lateMs) or now - last >= interval / 2 then return send(math.max(free, now + interval)) end
end
local at = math.max(free, now, last + interval)
if at <= now then return send(now + interval) end
redis.call('SET', KEYS[1], tostring(at + interval), 'PX', math.ceil(at + interval - now) + keepMs)
redis.call('SET', KEYS[3], tostring(at), 'PX', math.ceil(at - now) + keepMs)
return math.ceil(at - now)
`;

type WithWaitScript = RedisClient & {
  hookpostDeliveryRateWait(
    nextFreeKey: string,
    lastSendKey: string,
    reservationKey: string,
    intervalMs: number,
    keepMs: number,
    lateMs: number,
  ): Promise<number>;
};

export function createEndpointRateLimit(
  redis: RedisClient,
  config: Pick<Config, "redis">,
): EndpointRateLimit {
  redis.defineCommand("hookpostDeliveryRateWait", { numberOfKeys: 3, lua: WAIT_SCRIPT });
  const scripted = redis as WithWaitScript;
  // The prefix's hash tag puts every key of a call in one Redis Cluster slot.
  const keyOf = (endpointId: string) => `${redisKeyPrefix(config)}:delivery-rate:${endpointId}`;
  return {
    async waitMs(endpoint, deliveryId) {
      const perSecond = endpoint.rateLimitPerSecond;
      if (perSecond === null) return 0;
      const rateKey = keyOf(endpoint.id);
      return scripted.hookpostDeliveryRateWait(
        `${rateKey}:next`,
        `${rateKey}:last`,
        `${rateKey}:${deliveryId}`,
        1_000 / perSecond,
        KEPT_MS,
        LATE_MS,
      );
    },
  };
}
