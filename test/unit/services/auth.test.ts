import { SignJWT } from "jose";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import type { Db } from "../../../src/db/client.ts";
import { hashApiKey } from "../../../src/services/apiKeys.ts";
import { type Authenticator, createAuthenticator } from "../../../src/services/auth.ts";
import type { RateLimits } from "../../../src/services/rateLimits.ts";

const VALID_KEY = `hp_${"v".repeat(43)}`;
const SECRET = "unit-jwt-secret-0123456789abcdef";
const noLimits: RateLimits = {
  request: async () => {},
  outbound: async () => {},
  inbound: async () => {},
  failedAuth: async () => {},
  refuseIfBlocked: () => {},
};

/** A database that knows one key and one workspace, and counts its key lookups. */
function fakeDb() {
  const lookups: string[] = [];
  const prisma = {
    apiKey: {
      findUnique: async ({ where }: { where: { hash: string } }) => {
        lookups.push(where.hash);
        return where.hash === hashApiKey(VALID_KEY)
          ? { id: "key_1", workspaceId: "ws_1", scopes: ["ADMIN"], revokedAt: null }
          : null;
      },
      updateMany: async () => ({ count: 1 }),
    },
    workspace: {
      findUnique: async ({ where }: { where: { id: string } }) => (where.id === "ws_1" ? where : null),
    },
  };
  return { prisma: prisma as unknown as Db, lookups };
}

let authenticator: Authenticator | null = null;
afterEach(async () => {
  vi.useRealTimers();
  await authenticator?.close();
});

function authenticatorWith(env: Record<string, string> = {}) {
  const db = fakeDb();
  const config = loadConfig({ JWT_SECRET: SECRET, ...env });
  authenticator = createAuthenticator(db.prisma, config, noLimits, pino({ level: "silent" }));
  return { authenticate: authenticator.authenticate, lookups: db.lookups };
}

const jwt = (claims: { exp?: string; aud?: string; iss?: string } = { exp: "5m" }) => {
  const token = new SignJWT({ workspace: "ws_1" }).setProtectedHeader({ alg: "HS256" }).setIssuedAt();
  if (claims.exp) token.setExpirationTime(claims.exp);
  if (claims.aud) token.setAudience(claims.aud);
  if (claims.iss) token.setIssuer(claims.iss);
  return token.sign(new TextEncoder().encode(SECRET));
};

describe("API key cache", () => {
  it("keeps valid keys while a flood of distinct bad keys comes and goes", async () => {
    // The flood takes seconds on a loaded machine: the cache's TTL must not end the test's point.
    vi.useFakeTimers({ toFake: ["Date"] });
    const { authenticate, lookups } = authenticatorWith();
    expect(await authenticate(`Bearer ${VALID_KEY}`)).toMatchObject({ workspaceId: "ws_1", keyId: "key_1" });
    for (let i = 0; i < 12_000; i++) {
      expect(await authenticate(`Bearer hp_${String(i).padStart(43, "x")}`)).toBeNull();
    }
    const before = lookups.length;
    expect(await authenticate(`Bearer ${VALID_KEY}`)).toMatchObject({ workspaceId: "ws_1" });
    expect(lookups.length, "the valid key was looked up again").toBe(before);
  });
});

describe("JWTs", () => {
  it("need an expiry", async () => {
    const { authenticate } = authenticatorWith();
    expect(await authenticate(`Bearer ${await jwt({})}`)).toBeNull();
    expect(await authenticate(`Bearer ${await jwt({ exp: "5m" })}`)).toMatchObject({
      workspaceId: "ws_1",
      via: "jwt",
    });
  });

  it("must name JWT_AUDIENCE and JWT_ISSUER when those are set", async () => {
    const { authenticate } = authenticatorWith({
      JWT_AUDIENCE: "hookpost",
      JWT_ISSUER: "https://app.example",
    });
    for (const claims of [
      { exp: "5m" },
      { exp: "5m", aud: "other", iss: "https://app.example" },
      { exp: "5m", aud: "hookpost", iss: "https://evil.example" },
      { exp: "5m", aud: "hookpost" },
    ]) {
      expect(await authenticate(`Bearer ${await jwt(claims)}`), JSON.stringify(claims)).toBeNull();
    }
    const good = await jwt({ exp: "5m", aud: "hookpost", iss: "https://app.example" });
    expect(await authenticate(`Bearer ${good}`)).toMatchObject({ workspaceId: "ws_1" });
  });
});
