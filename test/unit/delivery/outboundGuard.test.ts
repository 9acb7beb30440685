import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import {
  createAddressPolicy,
  createGuardedLookup,
  FORBIDDEN_ADDRESS_CODE,
  validateEndpointUrl,
} from "../../../src/delivery/outboundGuard.ts";

const strict = createAddressPolicy([]);

describe("isAllowedAddress without an allow-list", () => {
  it.each([
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "169.254.1.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::127.0.0.1",
    // IPv4 embedded in IPv6 (SIIT, 6to4), deprecated site-local, local-use NAT64, Teredo, discard, documentation
    "::ffff:0:127.0.0.1",
    "::ffff:0:a9fe:a9fe",
    "2002:7f00:1::",
    "2002:a00:1::1",
    "fec0::1",
    "64:ff9b:1::1",
    "64:ff9b:1::808:808",
    "2001::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "100::1",
    "2001:db8::1",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "not-an-ip",
    "",
  ])("forbids %s", (ip) => {
    expect(strict.isAllowedAddress(ip)).toBe(false);
  });

  it.each([
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "198.20.0.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "::ffff:0:8.8.8.8",
    "2002:808:808::1",
  ])("allows %s", (ip) => {
    expect(strict.isAllowedAddress(ip)).toBe(true);
  });
});

describe("allow-list", () => {
  const policy = createAddressPolicy(["127.0.0.0/8", "::1/128", "10.1.2.3", "Receiver.Internal"]);

  it("lets CIDRs and single IPs through, nothing else", () => {
    expect(policy.isAllowedAddress("127.0.0.1")).toBe(true);
    expect(policy.isAllowedAddress("127.9.9.9")).toBe(true);
    expect(policy.isAllowedAddress("::ffff:127.0.0.1")).toBe(true);
    expect(policy.isAllowedAddress("::1")).toBe(true);
    expect(policy.isAllowedAddress("10.1.2.3")).toBe(true);
    expect(policy.isAllowedAddress("10.1.2.4")).toBe(false);
    expect(policy.isAllowedAddress("169.254.169.254")).toBe(false);
    expect(policy.isAllowedAddress("8.8.8.8")).toBe(true);
  });

  it("gives the same verdicts from memory, also once it has judged more addresses than it remembers", () => {
    const fresh = createAddressPolicy(["10.1.0.0/16"]);
    const verdicts = () =>
      Array.from({ length: 1_500 }, (_, i) =>
        fresh.isAllowedAddress(`10.${i % 3}.${(i >> 8) & 255}.${i & 255}`),
      );
    const first = verdicts();
    expect(first.filter(Boolean)).toHaveLength(500);
    expect(verdicts()).toEqual(first);
    expect(fresh.isAllowedAddress("10.0.0.1")).toBe(false);
    expect(fresh.isAllowedAddress("10.1.0.1")).toBe(true);
  });

  it("matches hostnames exactly, ignoring case and a trailing dot", () => {
    expect(policy.allowsHostname("receiver.internal")).toBe(true);
    expect(policy.allowsHostname("RECEIVER.internal.")).toBe(true);
    expect(policy.allowsHostname("other.internal")).toBe(false);
    expect(policy.allowsHostname("localhost")).toBe(false);
  });

  it("rejects malformed CIDRs at creation", () => {
    expect(() => createAddressPolicy(["10.0.0.0/33"])).toThrow(/invalid prefix/);
    expect(() => createAddressPolicy(["10.0.0.0/x"])).toThrow(/invalid prefix/);
    expect(() => createAddressPolicy(["nonsense/8"])).toThrow(/not a valid CIDR/);
  });
});

describe("validateEndpointUrl", () => {
  const reasonFor = (url: string, policy = strict) => {
    const result = validateEndpointUrl(url, policy);
    return result.ok ? null : result.reason;
  };

  it("accepts public http and https URLs", () => {
    const result = validateEndpointUrl("https://hooks.example.com/in?x=1", strict);
    expect(result.ok && result.url.pathname).toBe("/in");
    expect(reasonFor("http://93.184.216.34:8080/hook")).toBeNull();
    expect(reasonFor("https://[2606:4700:4700::1111]/")).toBeNull();
  });

  it("explains why a URL is refused", () => {
    expect(reasonFor("not a url")).toBe("not a valid URL");
    expect(reasonFor("ftp://example.com/file")).toMatch(/scheme "ftp" is not supported/);
    expect(reasonFor("https://user:pass@example.com/")).toMatch(/must not contain credentials/);
    expect(reasonFor("http://169.254.169.254/latest/meta-data")).toMatch(
      /^address 169\.254\.169\.254 is not allowed \(linkLocal range\)/,
    );
    expect(reasonFor("http://[::1]:3000/")).toMatch(/^address ::1 is not allowed \(loopback range\)/);
    expect(reasonFor("http://[::ffff:127.0.0.1]/")).toMatch(/is not allowed/);
    expect(reasonFor("http://[::ffff:0:127.0.0.1]/")).toMatch(/\(loopback range\)/);
    expect(reasonFor("http://[2002:7f00:1::]/")).toMatch(/\(loopback range\)/);
    expect(reasonFor("http://[fec0::1]/")).toMatch(/\(deprecatedSiteLocal range\)/);
    expect(reasonFor("http://[64:ff9b:1::1]/")).toMatch(/\(rfc6052 range\)/);
    expect(reasonFor("http://[2001::1]/")).toMatch(/\(teredo range\)/);
    expect(reasonFor("http://0x7f.1/")).toMatch(/^address 127\.0\.0\.1 is not allowed \(loopback range\)/);
    expect(reasonFor("http://localhost:3000/")).toMatch(/^host localhost is not allowed/);
    expect(reasonFor("http://LOCALHOST./")).toMatch(/^host localhost is not allowed/);
    expect(reasonFor("http://metadata.google.internal/computeMetadata/v1/")).toMatch(/is not allowed/);
    expect(reasonFor("http://metadata/")).toMatch(/is not allowed/);
  });

  it("names the setting, and the value, that would allow a refused target", () => {
    expect(reasonFor("http://127.0.0.1:3000/hooks")).toMatch(
      /^address 127\.0\.0\.1 is not allowed \(loopback range\); set OUTBOUND_ALLOW=127\.0\.0\.1 to allow it$/,
    );
    expect(reasonFor("http://[::1]:3000/")).toMatch(/set OUTBOUND_ALLOW=::1 to allow it$/);
    expect(reasonFor("http://localhost:3000/")).toMatch(/set OUTBOUND_ALLOW=localhost to allow it$/);
  });

  it("accepts what the allow-list permits", () => {
    const dev = createAddressPolicy(["127.0.0.0/8", "::1/128", "localhost"]);
    expect(reasonFor("http://127.0.0.1:4001/", dev)).toBeNull();
    expect(reasonFor("http://[::1]:4001/", dev)).toBeNull();
    expect(reasonFor("http://localhost:4001/", dev)).toBeNull();
    expect(reasonFor("http://169.254.169.254/", dev)).toMatch(/is not allowed/);
  });
});

describe("createGuardedLookup", () => {
  type Answer = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };
  const resolve = (allow: string[], hostname: string, all: boolean) =>
    new Promise<Answer>((done) => {
      createGuardedLookup(createAddressPolicy(allow))(hostname, { all }, (error, address, family) =>
        done({ error, address, family }),
      );
    });

  it("refuses a host that resolves to a forbidden address", async () => {
    for (const all of [true, false]) {
      const { error } = await resolve([], "localhost", all);
      expect(error?.code).toBe(FORBIDDEN_ADDRESS_CODE);
      // The rule and the setting, never the address: that would tell a tenant what an internal name resolves to.
      expect(error?.message).toMatch(
        /^host localhost is not allowed: it resolves to an address in the loopback range; set OUTBOUND_ALLOW=localhost to allow it$/,
      );
      expect(error?.message).not.toMatch(/127\.0\.0\.1|::1/);
    }
  });

  it("returns the checked addresses in the shape the caller asked for", async () => {
    const allow = ["127.0.0.0/8", "::1/128"];
    const list = await resolve(allow, "localhost", true);
    expect(list.error).toBeNull();
    expect(Array.isArray(list.address) && list.address.length).toBeGreaterThan(0);

    const single = await resolve(allow, "localhost", false);
    expect(single.error).toBeNull();
    expect(single.address).toMatch(/^(127\.|::1$)/);
    expect([4, 6]).toContain(single.family);
  });

  it("trusts a hostname named in the allow-list whatever it resolves to", async () => {
    const { error, address } = await resolve(["localhost"], "localhost", false);
    expect(error).toBeNull();
    expect(address).toMatch(/^(127\.|::1$)/);
  });

  it("passes DNS errors through", async () => {
    const { error } = await resolve([], "does-not-exist.invalid", true);
    expect(error?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
