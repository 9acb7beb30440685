/**
 * Custom header values are often the receiver's credentials. They are sent as
 * they are, but every copy Hookpost keeps or shows (attempts, the API, live
 * messages) carries this instead of the value.
 */
export const REDACTED_VALUE = "[redacted]";

/** Names whose values are credentials whether or not the endpoint marks them. */
export const CREDENTIAL_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
];
const SENSITIVE_BY_DEFAULT: ReadonlySet<string> = new Set(CREDENTIAL_HEADERS);

export function isSensitiveHeader(name: string, marked: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_BY_DEFAULT.has(lower) || marked.includes(lower);
}

/** The headers with the value of each sensitive one replaced; the same object when none is. */
export function redactHeaders<T>(
  headers: Record<string, T>,
  marked: readonly string[],
): Record<string, T | string> {
  let redacted: Record<string, T | string> | null = null;
  for (const name of Object.keys(headers)) {
    if (!isSensitiveHeader(name, marked)) continue;
    redacted ??= { ...headers };
    redacted[name] = REDACTED_VALUE;
  }
  return redacted ?? headers;
}

/** An endpoint's custom headers as shown by the API and live messages: sensitive values redacted. */
export function redactedEndpointHeaders<H>(endpoint: { headers: H; sensitiveHeaders: readonly string[] }): H {
  const { headers } = endpoint;
  if (!headers || typeof headers !== "object" || Array.isArray(headers)) return headers;
  return redactHeaders(headers as Record<string, unknown>, endpoint.sensitiveHeaders) as H;
}
