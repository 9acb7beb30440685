import { badInput } from "../errors.ts";

/** Longest entry of a list of names: an event type or filter, a stream or sending domain. */
export const MAX_NAME_LENGTH = 255;
/** Most entries in a list of names (an endpoint's eventTypes or streams, a filter's types). */
export const MAX_NAMES = 100;

/** Refuses a list of names with too many entries or an entry too long, before anything else reads it. */
export function checkNames<T extends readonly string[] | null | undefined>(names: T, field: string): T {
  if (!names) return names;
  if (names.length > MAX_NAMES) throw badInput(`${field} takes at most ${MAX_NAMES} entries`, field);
  if (names.some((name) => name.length > MAX_NAME_LENGTH))
    throw badInput(`each entry of ${field} must be at most ${MAX_NAME_LENGTH} characters`, field);
  return names;
}
