import { lookup as dnsLookup } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

/**
 * SSRF protection: webhook URLs are user input, so without this anyone with an
 * API key could make Hookpost POST to its own database, the cloud metadata
 * service or anything else on the private network.
 */

export const FORBIDDEN_ADDRESS_CODE = "HOOKPOST_FORBIDDEN_ADDRESS";

export type AddressPolicy = {
  /** True when `ip` is public, or private but covered by an allow-list CIDR. False for non-IPs. */
  isAllowedAddress(ip: string): boolean;
  /** True when the allow-list names `host` itself: it may then be reached whatever it resolves to. */
  allowsHostname(host: string): boolean;
};

type Family = "ipv4" | "ipv6";

const FORBIDDEN_SUBNETS: ReadonlyArray<readonly [string, number, Family]> = [
  ["0.0.0.0", 8, "ipv4"], // "this network"
  ["10.0.0.0", 8, "ipv4"], // private
  ["100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["127.0.0.0", 8, "ipv4"], // loopback
  ["169.254.0.0", 16, "ipv4"], // link-local, incl. cloud metadata 169.254.169.254
  ["172.16.0.0", 12, "ipv4"], // private
  ["192.0.0.0", 24, "ipv4"], // IETF protocol assignments
  ["192.168.0.0", 16, "ipv4"], // private
  ["198.18.0.0", 15, "ipv4"], // benchmarking
  ["224.0.0.0", 3, "ipv4"], // multicast, reserved and broadcast (224.0.0.0 and above)
  ["::", 96, "ipv6"], // unspecified, loopback and the deprecated IPv4-compatible range
  ["fc00::", 7, "ipv6"], // unique local
  ["fe80::", 10, "ipv6"], // link-local
  ["ff00::", 8, "ipv6"], // multicast
];

const forbiddenAddresses = new BlockList();
for (const [network, prefix, family] of FORBIDDEN_SUBNETS) {
  forbiddenAddresses.addSubnet(network, prefix, family);
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
  const allowedAddresses = new BlockList();
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
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > maxPrefix) {
      throw new Error(`outbound allow-list: "${entry}" has an invalid prefix length`);
    }
    allowedAddresses.addSubnet(network, prefix, version === 4 ? "ipv4" : "ipv6");
  }

  const judge = (ip: string) => {
    const address = comparableAddress(ip);
    if (!address) return false;
    const [value, family] = address;
    return !forbiddenAddresses.check(value, family) || allowedAddresses.check(value, family);
  };
  // A policy's verdicts never change, and an endpoint at an IP literal is judged on every
  // attempt: each BlockList check builds SocketAddress objects, 2–3 µs.
  const verdicts = new Map<string, boolean>();
  return {
    isAllowedAddress(ip) {
      let allowed = verdicts.get(ip);
      if (allowed === undefined) {
        allowed = judge(ip);
        if (verdicts.size >= MAX_REMEMBERED_VERDICTS) verdicts.clear();
        verdicts.set(ip, allowed);
      }
      return allowed;
    },
    allowsHostname(host) {
      return allowedHostnames.has(normalizeHostname(host));
    },
  };
}

/** First six 16-bit groups of ::ffff:0:0/96 and 64:ff9b::/96; the last two carry an IPv4 address. */
const IPV4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0xffff] as const;
const NAT64_PREFIX = [0x64, 0xff9b, 0, 0, 0, 0] as const;

/**
 * The address to judge, with its family. IPv4-mapped (::ffff:a.b.c.d) and
 * NAT64 (64:ff9b::a.b.c.d) addresses reach an IPv4 host, so that IPv4 address
 * is what gets judged — otherwise ::ffff:127.0.0.1 would bypass the 127/8 rule.
 */
function comparableAddress(ip: string): [string, Family] | undefined {
  const address = ip.split("%")[0] ?? ""; // drop an IPv6 zone id (fe80::1%eth0)
  const version = isIP(address);
  if (version === 4) return [address, "ipv4"];
  if (version !== 6) return undefined;
  const groups = ipv6Groups(address);
  const startsWith = (prefix: readonly number[]) => prefix.every((group, i) => groups[i] === group);
  if (startsWith(IPV4_MAPPED_PREFIX) || startsWith(NAT64_PREFIX)) {
    const [high = 0, low = 0] = groups.slice(6);
    return [`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4"];
  }
  return [address, "ipv6"];
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dottedTail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dottedTail) {
    const [a, b, c, d] = dottedTail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dottedTail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const elided = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(elided).fill("0"), ...tailGroups].map((group) =>
    Number.parseInt(group, 16),
  );
}

function normalizeHostname(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}

/** The URL's host as an address or name: IPv6 brackets and a trailing dot removed, lower-case. */
export function urlHost(url: URL): string {
  return normalizeHostname(url.hostname.replace(/^\[(.*)\]$/, "$1"));
}

/**
 * Why `target` (an IP literal or a hostname, as written in the endpoint URL) is
 * refused, naming the setting that allows it. A hostname's resolved address is
 * never shown: an API user must not learn what internal names resolve to.
 */
export function forbiddenTargetReason(target: string): string {
  const kind = isIP(target) === 0 ? "host" : "address";
  return (
    `${kind} ${target} is not allowed: private, loopback, link-local, reserved and metadata addresses ` +
    `cannot receive webhooks unless OUTBOUND_ALLOW lists them; set OUTBOUND_ALLOW=${target} to allow it`
  );
}

/** The error for a refused address; its message is shown to API users as the attempt's error. */
export function forbiddenAddressError(target: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(forbiddenTargetReason(target));
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
    if (!policy.isAllowedAddress(host)) return { ok: false, reason: forbiddenTargetReason(host) };
  } else if (isForbiddenHostname(host) && !policy.allowsHostname(host)) {
    return { ok: false, reason: forbiddenTargetReason(host) };
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
 * IP literals never reach a lookup: callers check those with isAllowedAddress.
 */
export function createGuardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      if (!policy.allowsHostname(hostname)) {
        const forbidden = addresses.find((entry) => !policy.isAllowedAddress(entry.address));
        if (forbidden) return callback(forbiddenAddressError(hostname), "");
      }
      if (options.all) return callback(null, addresses);
      // dns.lookup reports "no address" as an ENOTFOUND error, so `first` is always present here.
      const [first] = addresses;
      callback(null, first?.address ?? "", first?.family);
    });
  };
}
