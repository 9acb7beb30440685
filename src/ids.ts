import { randomBytes } from "node:crypto";

/**
 * Sortable ids: `<prefix>_<26 chars>`, a ULID (48-bit millisecond time + 80
 * random bits, Crockford base32). Lexical order is creation order, so lists page
 * by id and ids tell when a row was made.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export const ID_PREFIX = {
  workspace: "ws",
  apiKey: "key",
  endpoint: "ep",
  event: "evt",
  delivery: "dlv",
  attempt: "att",
  replay: "rpl",
  inboundSource: "isrc",
  inboundMessage: "imsg",
} as const;

export type IdKind = keyof typeof ID_PREFIX;

export function newId(kind: IdKind, now = Date.now()): string {
  return `${ID_PREFIX[kind]}_${ulid(now)}`;
}

export function ulid(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomChunk(16);
  let rand = "";
  for (let i = 0; i < 16; i++) rand += ALPHABET[(bytes[i] ?? 0) % 32];
  return time + rand;
}

/**
 * Random bytes drawn from a pool refilled 4 KiB at a time: one crypto call per
 * 256 ids instead of one each (every delivery attempt makes an id).
 */
const POOL_BYTES = 4_096;
let pool = randomBytes(POOL_BYTES);
let poolOffset = 0;
function randomChunk(size: number): Buffer {
  if (poolOffset + size > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const chunk = pool.subarray(poolOffset, poolOffset + size);
  poolOffset += size;
  return chunk;
}

/** Smallest id of `kind` that can be made at `at`: a lower bound for time-range queries over ids. */
export function minIdAt(kind: IdKind, at: Date): string {
  return `${ID_PREFIX[kind]}_${ulid(at.getTime()).slice(0, 10)}${"0".repeat(16)}`;
}
