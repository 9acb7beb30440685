import { type DestinationStream, type Logger, pino } from "pino";
import type { Config } from "./config.ts";
import { CREDENTIAL_HEADERS, REDACTED_VALUE } from "./delivery/redaction.ts";

export type { Logger };

/** What a redacted value is logged as: what the API shows for a sensitive header too. */
export const LOG_REDACTED = REDACTED_VALUE;

/** Header names whose values are credentials or signatures, wherever a logged object carries headers. */
const SECRET_HEADERS = [
  ...CREDENTIAL_HEADERS,
  "webhook-signature",
  "svix-signature",
  "x-hookpost-signature",
  "x-signature",
  "signature",
];
/** Field names whose values are secrets: endpoint signing secrets, API keys, tokens, passwords. */
const SECRET_FIELDS = [
  "secret",
  "secrets",
  "previousSecret",
  "apiKey",
  "key",
  "token",
  "password",
  "jwtSecret",
];

/**
 * pino `redact` paths: the secret fields at the top of a log object and one
 * level down, and the secret headers of any `headers`/`requestHeaders` object
 * at the top, one or two levels down (`{ req: { headers } }`).
 */
const REDACTED_LOG_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`]),
  ...SECRET_HEADERS.flatMap((h) =>
    ["headers", "requestHeaders"].flatMap((holder) => [
      `${holder}["${h}"]`,
      `*.${holder}["${h}"]`,
      `*.*.${holder}["${h}"]`,
    ]),
  ),
];

/**
 * The process logger: JSON lines, secrets redacted, errors (`err`) with their
 * stacks. `destination` is for tests; stdout otherwise.
 */
export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  const options = {
    level: config.logLevel,
    base: { service: "hookpost" },
    redact: { paths: [...REDACTED_LOG_PATHS], censor: LOG_REDACTED },
  };
  return destination ? pino(options, destination) : pino(options);
}
