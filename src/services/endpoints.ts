import type { Endpoint } from "../db/generated/client.ts";
import { validateEndpointUrl } from "../delivery/outboundGuard.ts";
import { REDACTED_VALUE } from "../delivery/redaction.ts";
import { generateSecret } from "../delivery/signing.ts";
import type { Deps } from "../deps.ts";
import { badInput, notFound, quote } from "../errors.ts";
import { newId } from "../ids.ts";
import { releaseWaiting } from "./circuit.ts";
import { type DeliveryPolicyInput, deliveryPolicyData } from "./endpointPolicy.ts";
import { invalidEventTypeFilter } from "./eventTypes.ts";
import { checkNames } from "./inputBounds.ts";
import { publishEndpointChange } from "./operational.ts";

export type EndpointInput = {
  url?: string | null;
  eventTypes?: readonly string[] | null;
  streams?: readonly string[] | null;
  description?: string | null;
  enabled?: boolean | null;
  headers?: Record<string, unknown> | null;
  /** Custom headers whose values are stored and shown redacted (some names always are). */
  sensitiveHeaders?: readonly string[] | null;
} & DeliveryPolicyInput;

/** Headers Hookpost sets itself (or HTTP owns); custom headers may not replace them. */
const RESERVED_HEADERS = new Set([
  "content-type",
  "content-length",
  "host",
  "user-agent",
  "connection",
  "transfer-encoding",
  "upgrade",
  "expect",
  "keep-alive",
  "te",
  "trailer",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "x-hookpost-event",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_HEADERS = 20;
const MAX_HEADER_NAME_LENGTH = 256;
const MAX_HEADER_VALUE_LENGTH = 4_096;
/** All custom headers' names and values together: every attempt row stores them. */
const MAX_HEADERS_TOTAL_LENGTH = 16_384;
const MAX_URL_LENGTH = 2_048;
const MAX_DESCRIPTION_LENGTH = 500;

function checkUrl(deps: Deps, url: string): string {
  if (url.length > MAX_URL_LENGTH) throw badInput(`url is longer than ${MAX_URL_LENGTH} characters`, "url");
  const result = validateEndpointUrl(url, deps.addressPolicy);
  if (!result.ok) throw badInput(`url is not allowed: ${result.reason}`, "url");
  return result.url.toString();
}

function checkEventTypes(types: readonly string[]): string[] {
  checkNames(types, "eventTypes");
  if (types.length === 0) throw badInput('eventTypes must name at least one type (or "*")', "eventTypes");
  for (const t of types) {
    const reason = invalidEventTypeFilter(t);
    if (reason) throw badInput(reason, "eventTypes");
  }
  return [...new Set(types)];
}

function checkHeaders(headers: Record<string, unknown>): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw badInput(`at most ${MAX_HEADERS} custom headers`, "headers");
  const out: Record<string, string> = {};
  let totalLength = 0;
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    if (name.length > MAX_HEADER_NAME_LENGTH || !HEADER_NAME.test(name))
      throw badInput(`${quote(name)} is not a valid header name`, "headers");
    if (RESERVED_HEADERS.has(lower))
      throw badInput(`header ${quote(name)} is set by Hookpost and cannot be overridden`, "headers");
    if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
      throw badInput(`header ${quote(name)} must be a single-line string`, "headers");
    }
    if (value.length > MAX_HEADER_VALUE_LENGTH)
      throw badInput(`header ${quote(name)} is longer than ${MAX_HEADER_VALUE_LENGTH} characters`, "headers");
    totalLength += name.length + value.length;
    out[lower] = value;
  }
  if (totalLength > MAX_HEADERS_TOTAL_LENGTH)
    throw badInput(`custom headers total more than ${MAX_HEADERS_TOTAL_LENGTH} characters`, "headers");
  return out;
}

function checkSensitiveHeaders(names: readonly string[]): string[] {
  if (names.length > MAX_HEADERS)
    throw badInput(`at most ${MAX_HEADERS} sensitive headers`, "sensitiveHeaders");
  for (const name of names) {
    if (!HEADER_NAME.test(name))
      throw badInput(`"${name.slice(0, 100)}" is not a valid header name`, "sensitiveHeaders");
  }
  return [...new Set(names.map((name) => name.toLowerCase()))];
}

/**
 * Headers sent back as the API showed them keep their stored values where
 * they read as redacted: a form that saves what it loaded changes no credential.
 */
function keepRedactedValues(
  next: Record<string, string>,
  current: Endpoint["headers"],
): Record<string, string> {
  const stored = (current ?? {}) as Record<string, unknown>;
  const kept = { ...next };
  for (const [name, value] of Object.entries(next)) {
    const previous = stored[name];
    if (value === REDACTED_VALUE && typeof previous === "string") kept[name] = previous;
  }
  return kept;
}

function checkDescription(description: string): string {
  if (description.length > MAX_DESCRIPTION_LENGTH) {
    throw badInput(`description is longer than ${MAX_DESCRIPTION_LENGTH} characters`, "description");
  }
  return description;
}

export async function findEndpoint(deps: Deps, workspaceId: string, id: string): Promise<Endpoint> {
  const endpoint = await deps.prisma.endpoint.findFirst({ where: { id, workspaceId } });
  if (!endpoint) throw notFound("endpoint", id);
  return endpoint;
}

export async function createEndpoint(
  deps: Deps,
  workspaceId: string,
  input: EndpointInput & { url: string; eventTypes: readonly string[] },
): Promise<{ endpoint: Endpoint; secret: string }> {
  const secret = generateSecret();
  const enabled = input.enabled ?? true;
  const endpoint = await deps.prisma.endpoint.create({
    data: {
      id: newId("endpoint"),
      workspaceId,
      url: checkUrl(deps, input.url),
      eventTypes: checkEventTypes(input.eventTypes),
      streams: [...(checkNames(input.streams, "streams") ?? [])],
      description: checkDescription(input.description ?? ""),
      enabled,
      disabledReason: enabled ? null : "disabled on creation",
      disabledAt: enabled ? null : new Date(),
      headers: checkHeaders(input.headers ?? {}),
      sensitiveHeaders: checkSensitiveHeaders(input.sensitiveHeaders ?? []),
      ...deliveryPolicyData(input),
      secret,
    },
  });
  return { endpoint, secret };
}

/** The health of an endpoint nobody has seen fail. */
const HEALTHY = { consecutiveFailures: 0, failedAttemptsInRow: 0, failingSince: null };

export async function updateEndpoint(
  deps: Deps,
  workspaceId: string,
  id: string,
  input: EndpointInput,
): Promise<Endpoint> {
  const current = await findEndpoint(deps, workspaceId, id);
  const enabling = input.enabled === true && !current.enabled;
  const disabling = input.enabled === false && current.enabled;
  // A person re-enabling it or pointing it elsewhere has fixed it, as far as anyone knows:
  // what waited behind its open circuit goes now instead of after the next probe.
  const circuitWasOpen = (enabling || input.url != null) && current.circuitOpenUntil !== null;
  const endpoint = await deps.prisma.endpoint.update({
    where: { id: current.id },
    data: {
      ...(input.url != null ? { url: checkUrl(deps, input.url) } : {}),
      ...(input.eventTypes != null ? { eventTypes: checkEventTypes(input.eventTypes) } : {}),
      ...(input.streams != null ? { streams: [...checkNames(input.streams, "streams")] } : {}),
      ...(input.description != null ? { description: checkDescription(input.description) } : {}),
      ...(input.headers != null
        ? { headers: keepRedactedValues(checkHeaders(input.headers), current.headers) }
        : {}),
      ...(input.sensitiveHeaders != null
        ? { sensitiveHeaders: checkSensitiveHeaders(input.sensitiveHeaders) }
        : {}),
      ...deliveryPolicyData(input),
      // Re-enabling starts the failure count afresh; otherwise one more failure would disable it again.
      ...(enabling ? { enabled: true, disabledReason: null, disabledAt: null, ...HEALTHY } : {}),
      ...(disabling ? { enabled: false, disabledReason: "disabled by a user", disabledAt: new Date() } : {}),
      ...(circuitWasOpen ? { circuitOpenUntil: null, ...HEALTHY } : {}),
    },
  });
  // Deliveries due later than now keep their own retry jobs.
  if (circuitWasOpen) await releaseWaiting(deps, endpoint.id, new Date());
  if (enabling || disabling) await publishEndpointChange(deps, endpoint);
  return endpoint;
}

/** Deletes the endpoint and, with it, its deliveries: queued jobs find nothing and send nothing. */
export async function deleteEndpoint(deps: Deps, workspaceId: string, id: string): Promise<string> {
  const { count } = await deps.prisma.endpoint.deleteMany({ where: { id, workspaceId } });
  if (count === 0) throw notFound("endpoint", id);
  return id;
}

const MAX_GRACE_S = 7 * 86_400;

/** New secret now; the old one keeps signing (a second signature) until the grace period ends. */
export async function rotateEndpointSecret(
  deps: Deps,
  workspaceId: string,
  id: string,
  gracePeriodS: number | null | undefined,
): Promise<{ endpoint: Endpoint; secret: string }> {
  const grace = gracePeriodS ?? deps.config.delivery.secretRotationGraceS;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_GRACE_S) {
    throw badInput(`gracePeriodSeconds must be between 0 and ${MAX_GRACE_S}`, "gracePeriodSeconds");
  }
  const current = await findEndpoint(deps, workspaceId, id);
  const secret = generateSecret();
  const endpoint = await deps.prisma.endpoint.update({
    where: { id: current.id },
    data: {
      secret,
      previousSecret: grace > 0 ? current.secret : null,
      previousSecretExpiresAt: grace > 0 ? new Date(Date.now() + grace * 1_000) : null,
    },
  });
  return { endpoint, secret };
}

/** Secrets that sign a request made at `now`: the current one, plus the previous one during its grace period. */
export function signingSecrets(
  endpoint: Pick<Endpoint, "secret" | "previousSecret" | "previousSecretExpiresAt">,
  now: Date,
): string[] {
  const { previousSecret, previousSecretExpiresAt } = endpoint;
  const previousValid = previousSecret && previousSecretExpiresAt && new Date(previousSecretExpiresAt) > now;
  return previousValid ? [endpoint.secret, previousSecret] : [endpoint.secret];
}
