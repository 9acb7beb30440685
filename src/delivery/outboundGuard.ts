import { lookup as dnsLookup } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * SSRF protection: webhook URLs are user input, so without this anyone with an
 * API key could make Hookpost POST to its own database, the cloud metadata
 * service or anything else on the private network.
 */

export const FORBIDDEN_ADDRESS_CODE = "HOOKPOST_FORBIDDEN_ADDRESS";

export type AddressPolicy = {
  /** The special-purpose range (a rule name such as "loopback") that forbids `ip`, or null when it may be reached. */
  forbiddingRule(ip: string): string | null;
  /** True when `ip` is public, or special but covered by an allow-list CIDR. False for non-IPs. */
  isAllowedAddress(ip: string): boolean;
  /** True when the allow-list names `host` itself: it may then be reached whatever it resolves to. */
  allowsHostname(host: string): boolean;
};

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * IPv6 ranges that carry an IPv4 address in their last 32 bits, or (6to4) in
 * bits 16–48: the IPv4 address is what a packet reaches, so it is what gets judged.
 * Other special ranges, Teredo and the local-use NAT64 prefix 64:ff9b:1::/48
 * among them, are refused whole.
 */
function embeddedIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const range = address.range();
  const [, g1 = 0, g2 = 0] = address.parts;
  const [, , , , , , g6 = 0, g7 = 0] = address.parts;
  const tail = () => new ipaddr.IPv4([g6 >> 8, g6 & 255, g7 >> 8, g7 & 255]);
  if (range === "ipv4Mapped" || range === "rfc6145") return tail();
  if (range === "rfc6052" && address.match(ipaddr.IPv6.parse("64:ff9b::"), 96)) return tail();
  if (range === "6to4") return new ipaddr.IPv4([g1 >> 8, g1 & 255, g2 >> 8, g2 & 255]);
  return null;
}

/** The addresses a connection to `ip` really reaches: itself, and an IPv4 address it embeds. */
function reachedAddresses(ip: string): Address[] | null {
  const text = ip.split("%")[0] ?? ""; // an IPv6 zone id (fe80::1%eth0) changes nothing
  if (isIP(text) === 0) return null; // ipaddr.js also takes forms like 0x7f.1 that are no IP literal
  const address = ipaddr.parse(text);
  if (address.kind() === "ipv4") return [address];
  const inner = embeddedIpv4(address as ipaddr.IPv6);
  return inner ? [inner] : [address];
}

/** Names that reach this machine or the cloud metadata service without going through public DNS. */
function isForbiddenHostname(host: string): boolean {
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "metadata" ||
    host === "metadata.google.internal"
  );
}

/** IP literals whose verdict a policy remembers; past this many it starts over. */
const MAX_REMEMBERED_VERDICTS = 1_000;

/**
 * `allow` holds CIDRs (`10.0.0.0/8`, `::1/128`), single IPs or exact hostnames
 * (`localhost`), from OUTBOUND_ALLOW. A malformed CIDR throws, so a typo fails
 * at boot instead of silently blocking or allowing.
 */
export function createAddressPolicy(allow: readonly string[]): AddressPolicy {
  const allowedRanges: Array<[Address, number]> = [];
  const allowedHostnames = new Set<string>();
  for (const entry of allow) {
    const [network = "", prefixText] = entry.split("/");
    const version = isIP(network);
    if (version === 0) {
      if (prefixText !== undefined) throw new Error(`outbound allow-list: "${entry}" is not a valid CIDR`);
      allowedHostnames.add(normalizeHostname(entry));
      continue;
    }
    const maxPrefix = version === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? maxPrefix : Number(prefixText);
    if (!/^\d*$/.test(prefixText ?? "") || !Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) {
      throw new Error(`outbound allow-list: "${entry}" has an invalid prefix length`);
    }
    allowedRanges.push([ipaddr.parse(network), prefix]);
  }
  const allowed = (address: Address) =>
    allowedRanges.some(
      ([network, prefix]) => network.kind() === address.kind() && address.match(network, prefix),
    );

  const judge = (ip: string): string | null => {
    const addresses = reachedAddresses(ip);
    if (!addresses) return "not an IP address";
    for (const address of addresses) {
      const range = address.range();
      if (range !== "unicast" && !allowed(address)) return range;
    }
    return null;
  };
  // A policy's verdicts never change, and an endpoint at an IP literal is judged on every attempt.
  const verdicts = new Map<string, string | null>();
  const forbiddingRule = (ip: string) => {
    let rule = verdicts.get(ip);
    if (rule === undefined) {
      rule = judge(ip);
      if (verdicts.size >= MAX_REMEMBERED_VERDICTS) verdicts.clear();
      verdicts.set(ip, rule);
    }
    return rule;
  };
  return {
    forbiddingRule,
    isAllowedAddress: (ip) => forbiddingRule(ip) === null,
    allowsHostname: (host) => allowedHostnames.has(normalizeHostname(host)),
  };
}

function normalizeHostname(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** The URL's host as an address or name: IPv6 brackets and a trailing dot removed, lower-case. */
export function urlHost(url: URL): string {
  return normalizeHostname(url.hostname.replace(/^\[(.*)\]$/, "$1"));
}

/**
 * Why a target is refused: the rule that refused it and the setting that
 * allows it. A hostname's resolved address stays out of it: that would tell a
 * tenant what an internal name resolves to.
 */
export function forbiddenTargetMessage(
  target: { address: string } | { hostname: string },
  rule: string,
): string {
  const [subject, name] =
    "address" in target
      ? [`address ${target.address} is not allowed (${rule} range)`, target.address]
      : [
          `host ${target.hostname} is not allowed: it resolves to an address in the ${rule} range`,
          target.hostname,
        ];
  return `${subject}; ${allowHint(name)}`;
}

const allowHint = (target: string) => `set OUTBOUND_ALLOW=${target} to allow it`;

/** The error for a refused connection; its message is shown to API users as the attempt's error. */
export function forbiddenAddressError(
  target: { address: string } | { hostname: string },
  rule: string,
): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(forbiddenTargetMessage(target, rule));
  error.code = FORBIDDEN_ADDRESS_CODE;
  return error;
}

/**
 * Checks an endpoint URL when it is created or changed, so users learn at once
 * why it can never be delivered to. Hostnames that resolve to forbidden
 * addresses are caught later, at connect time, by createGuardedLookup.
 */
export function validateEndpointUrl(
  raw: string,
  policy: AddressPolicy,
): { ok: true; url: URL } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a valid URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, reason: `scheme "${url.protocol.slice(0, -1)}" is not supported; use http or https` };
  }
  if (url.username || url.password) {
    return {
      ok: false,
      reason: "URL must not contain credentials (user:password@); use custom headers instead",
    };
  }
  const host = urlHost(url);
  if (!host) return { ok: false, reason: "URL has no host" };
  if (isIP(host) !== 0) {
    const rule = policy.forbiddingRule(host);
    if (rule) return { ok: false, reason: forbiddenTargetMessage({ address: host }, rule) };
  } else if (isForbiddenHostname(host) && !policy.allowsHostname(host)) {
    return {
      ok: false,
      reason: `host ${host} is not allowed: it points at this machine or a cloud metadata service; ${allowHint(host)}`,
    };
  }
  return { ok: true, url };
}

/**
 * A `lookup` for undici's `connect` option (passed on to net/tls.connect).
 * It resolves every address of the host and refuses the connection if any of
 * them is forbidden; otherwise the socket connects to exactly the addresses
 * checked here, so DNS cannot change its answer between check and connect
 * (DNS rebinding). Node asks with `all: true` when it races IPv4 and IPv6
 * (autoSelectFamily, the default), and for a single address otherwise.
 * IP literals never reach a lookup: callers check those with forbiddingRule.
 */
export function createGuardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      if (!policy.allowsHostname(hostname)) {
        for (const entry of addresses) {
          const rule = policy.forbiddingRule(entry.address);
          if (rule) return callback(forbiddenAddressError({ hostname }, rule), "");
        }
      }
      if (options.all) return callback(null, addresses);
      // dns.lookup reports "no address" as an ENOTFOUND error, so `first` is always present here.
      const [first] = addresses;
      callback(null, first?.address ?? "", first?.family);
    });
  };
}
