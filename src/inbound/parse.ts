import { createHash, timingSafeEqual } from "node:crypto";
import { InboundBodyError, TIMESTAMP_TOLERANCE_SECONDS } from "./types.ts";

export type Json = Record<string, unknown>;

/** The body as JSON, or InboundBodyError. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new InboundBodyError("the body is not JSON");
  }
}

export function asObject(value: unknown, what: string): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InboundBodyError(`${what} is not a JSON object`);
  }
  return value as Json;
}

/** The value when it is a JSON object, else an empty one: for optional nested fields. */
export const objectAt = (value: unknown): Json =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};

export const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : typeof value === "number" ? String(value) : undefined;

export const strings = (value: unknown): string[] | undefined => {
  if (typeof value === "string" && value !== "") return [value];
  if (!Array.isArray(value)) return undefined;
  const list = value.filter((v): v is string => typeof v === "string");
  return list.length > 0 ? list : undefined;
};

/** A date from ISO text or Unix seconds; null when absent or unreadable. */
export function dateOf(value: unknown): Date | null {
  const date =
    typeof value === "number" ? new Date(value * 1000) : typeof value === "string" ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/** A stable id for a provider event that carries none: retries send the same bytes. */
export const contentId = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);

/** Constant-time comparison of two strings (false when their lengths differ). */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Null when `seconds` (Unix time, as sent) is within the tolerance of now, else why not. */
export function staleTimestamp(seconds: string | undefined, now: Date): string | null {
  const at = Number(seconds);
  if (!seconds || !Number.isFinite(at)) return "missing or unreadable timestamp";
  return Math.abs(now.getTime() / 1000 - at) > TIMESTAMP_TOLERANCE_SECONDS
    ? `timestamp outside the ${TIMESTAMP_TOLERANCE_SECONDS} s tolerance`
    : null;
}

/** Drops undefined fields so stored data carries only what the provider sent. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
