import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { Agent, request } from "undici";
import {
  createAddressPolicy,
  createGuardedLookup,
  forbiddenTargetMessage,
  urlHost,
} from "../delivery/outboundGuard.ts";
import { InboundUnavailableError } from "./types.ts";

/**
 * Amazon SNS's two outbound needs: its signing certificates and the
 * SubscribeURL of a SubscriptionConfirmation. Both URLs come from the request
 * body, so each must name an allowed SNS host (INBOUND_SNS_HOSTS) and goes
 * through the outbound SSRF guard.
 */
export type SnsClient = {
  /** Why `url` may not be fetched (not an allowed SNS host, wrong scheme), or null. */
  urlRefusal(url: string): string | null;
  /** The signing certificate at `url`, fetched once and cached; throws InboundUnavailableError. */
  certificate(url: string): Promise<X509Certificate>;
  /** GETs a SubscriptionConfirmation's SubscribeURL; throws InboundUnavailableError. */
  confirmSubscription(url: string): Promise<void>;
  close(): Promise<void>;
};

const SNS_REQUEST_TIMEOUT_MS = 5_000;
/** Largest certificate or confirmation answer read. */
const SNS_RESPONSE_LIMIT_BYTES = 64 * 1024;
/** Certificates kept; SNS signs with few at a time, so past this the cache starts afresh. */
const MAX_CACHED_CERTIFICATES = 64;

type HostRule = { protocol: "https:" | "http:"; host: RegExp };

/** `sns.*.amazonaws.com` → https, `*` one DNS label; `http://127.0.0.1` → plain HTTP to that host. */
export function parseSnsHosts(entries: readonly string[]): HostRule[] {
  return entries.map((entry) => {
    const plain = entry.startsWith("http://");
    // As urlHost gives it: lower-case, IPv6 without brackets.
    const host = (plain ? entry.slice("http://".length) : entry).toLowerCase().replace(/^\[(.*)\]$/, "$1");
    if (!/^[a-z0-9.*:-]+$/.test(host)) throw new Error(`INBOUND_SNS_HOSTS: "${entry}" is not a host pattern`);
    const pattern = host
      .split(".")
      .map((label) => (label === "*" ? "[a-z0-9-]+" : label))
      .join("\\.");
    return { protocol: plain ? "http:" : "https:", host: new RegExp(`^${pattern}$`) };
  });
}

export function snsUrlRefusal(raw: string, rules: readonly HostRule[]): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "not a URL";
  }
  const host = urlHost(url);
  const allowed = rules.some((rule) => rule.protocol === url.protocol && rule.host.test(host));
  return allowed ? null : `${url.protocol}//${host} is not an Amazon SNS host (INBOUND_SNS_HOSTS)`;
}

export function createSnsClient(opts: {
  hosts: readonly string[];
  outboundAllow: readonly string[];
}): SnsClient {
  const rules = parseSnsHosts(opts.hosts);
  const policy = createAddressPolicy(opts.outboundAllow);
  const agent = new Agent({
    connect: { lookup: createGuardedLookup(policy), timeout: SNS_REQUEST_TIMEOUT_MS },
  });
  const certificates = new Map<string, Promise<X509Certificate>>();

  /** The body of a 2xx answer to a GET of an allowed URL. */
  async function get(url: string): Promise<string> {
    const refusal = snsUrlRefusal(url, rules);
    if (refusal) throw new InboundUnavailableError(refusal);
    const host = urlHost(new URL(url));
    // Node connects to IP literals without the guarded lookup, so they are judged here.
    const rule = isIP(host) !== 0 ? policy.forbiddingRule(host) : null;
    if (rule) throw new InboundUnavailableError(forbiddenTargetMessage({ address: host }, rule));
    try {
      const answer = await request(url, {
        method: "GET",
        dispatcher: agent,
        headersTimeout: SNS_REQUEST_TIMEOUT_MS,
        bodyTimeout: SNS_REQUEST_TIMEOUT_MS,
        signal: AbortSignal.timeout(SNS_REQUEST_TIMEOUT_MS),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of answer.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > SNS_RESPONSE_LIMIT_BYTES) {
          answer.body.destroy();
          throw new InboundUnavailableError(`answer over ${SNS_RESPONSE_LIMIT_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
      if (answer.statusCode < 200 || answer.statusCode >= 300)
        throw new InboundUnavailableError(`answered ${answer.statusCode}`);
      return Buffer.concat(chunks).toString("utf8");
    } catch (err) {
      if (err instanceof InboundUnavailableError) throw err;
      throw new InboundUnavailableError((err as Error).message || String(err));
    }
  }

  async function fetchCertificate(url: string): Promise<X509Certificate> {
    const pem = await get(url);
    try {
      return new X509Certificate(pem);
    } catch {
      throw new InboundUnavailableError(`${url} holds no X.509 certificate`);
    }
  }

  return {
    urlRefusal: (url) => snsUrlRefusal(url, rules),
    certificate(url) {
      let cached = certificates.get(url);
      if (!cached) {
        if (certificates.size >= MAX_CACHED_CERTIFICATES) certificates.clear();
        cached = fetchCertificate(url);
        // A failed fetch is not remembered: the provider's retry fetches again.
        const fetching = cached;
        fetching.catch(() => {
          if (certificates.get(url) === fetching) certificates.delete(url);
        });
        certificates.set(url, fetching);
      }
      return cached;
    },
    async confirmSubscription(url) {
      await get(url);
    },
    close: () => agent.close(),
  };
}
