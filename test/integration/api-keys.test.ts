import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { wsClient, wsSubscribe } from "../support/live.ts";
import { postGraphql, type Untyped, untypedDocument } from "../support/rawGraphql.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const KEY_FIELDS = "id name prefix scopes createdAt lastUsedAt revokedAt";
const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } } }`;
const LIST_KEYS = `{ apiKeys { ${KEY_FIELDS} } }`;
const PUBLISH = `mutation { publishEvent(input: { type: "email.sent", data: {} }) { id } }`;
const PUBLISH_MANY = `mutation { publishEvents(inputs: [{ type: "email.sent", data: {} }]) { id } }`;
const LIST_ENDPOINTS = "{ endpoints(first: 5) { edges { node { id } } } }";
const CREATE_ENDPOINT = `mutation ($url: String!) { createEndpoint(input: { url: $url, eventTypes: ["*"] }) { endpoint { id } } }`;
const ATTEMPTS = "subscription { deliveryAttempts { id } }";

const codeOf = (body: { errors?: { extensions?: { code?: string } }[] }) =>
  body.errors?.[0]?.extensions?.code;

describe("API keys with scopes", () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  const as = (key: string) => (query: string, variables?: Record<string, unknown>) =>
    postGraphql(hp.url, `Bearer ${key}`, query, variables).then((answer) => answer.body);
  let admin: ReturnType<typeof as>;

  const createKey = async (name: string, scopes: string[]) => {
    const body = await admin(CREATE_KEY, { input: { name, scopes } });
    expect(body.errors).toBeUndefined();
    return body.data.createApiKey as { key: string; apiKey: Untyped };
  };

  beforeAll(async () => {
    hp = await startTestHookpost({ env: { API_KEY_LAST_USED_FLUSH_MS: "100" } });
    receiver = await startReceiver();
    admin = as(hp.workspace.apiKey);
    expect((await admin(CREATE_ENDPOINT, { url: receiver.url })).errors).toBeUndefined();
  });
  afterAll(async () => {
    await hp?.stop();
    await receiver?.close();
  });

  it("shows a new key once, and lists it by prefix and scopes only", async () => {
    const { key, apiKey } = await createKey("ci", ["PUBLISH", "READ"]);
    expect(key).toMatch(/^hp_/);
    expect(apiKey).toMatchObject({
      name: "ci",
      prefix: key.slice(0, 10),
      scopes: ["PUBLISH", "READ"],
      revokedAt: null,
    });
    const listed = (await admin(LIST_KEYS)).data.apiKeys;
    expect(listed.map((k: Untyped) => k.id)).toContain(apiKey.id);
    expect(JSON.stringify(listed)).not.toContain(key);
  });

  it("lets a PUBLISH key publish and nothing else", async () => {
    const publisher = as((await createKey("producer", ["PUBLISH"])).key);
    expect((await publisher(PUBLISH)).data.publishEvent.id).toMatch(/^evt_/);
    expect((await publisher(PUBLISH_MANY)).data.publishEvents).toHaveLength(1);
    expect(codeOf(await publisher(LIST_ENDPOINTS))).toBe("FORBIDDEN");
    expect(codeOf(await publisher(CREATE_ENDPOINT, { url: receiver.url }))).toBe("FORBIDDEN");
    expect(codeOf(await publisher(LIST_KEYS))).toBe("FORBIDDEN");
    expect(codeOf(await publisher(CREATE_KEY, { input: { name: "mine", scopes: ["ADMIN"] } }))).toBe(
      "FORBIDDEN",
    );
  });

  it("lets a READ key query and subscribe, over HTTP and graphql-ws, and change nothing", async () => {
    const { key } = await createKey("dashboard", ["READ"]);
    const reader = as(key);
    expect((await reader(LIST_ENDPOINTS)).data.endpoints.edges).toHaveLength(1);
    expect(codeOf(await reader(PUBLISH))).toBe("FORBIDDEN");
    expect(codeOf(await reader(CREATE_ENDPOINT, { url: receiver.url }))).toBe("FORBIDDEN");
    expect(codeOf(await reader(LIST_KEYS))).toBe("FORBIDDEN");

    const ws = wsClient(hp.url, `Bearer ${key}`);
    const live = wsSubscribe(ws, untypedDocument(ATTEMPTS), {});
    try {
      await waitFor(() => live.open, "the READ key's subscription to open");
      await admin(PUBLISH);
      await waitFor(() => live.data.length > 0, "a live attempt for the READ key");
      expect(live.errors).toEqual([]);
    } finally {
      live.stop();
      await ws.dispose();
    }
  });

  it("refuses subscriptions over graphql-ws to a PUBLISH key with FORBIDDEN", async () => {
    const ws = wsClient(hp.url, `Bearer ${(await createKey("producer-ws", ["PUBLISH"])).key}`);
    const live = wsSubscribe(ws, untypedDocument(ATTEMPTS), {});
    try {
      const [error] = await waitFor(() => (live.errors.length > 0 ? live.errors : null), "the refusal");
      expect(JSON.stringify(error)).toContain("FORBIDDEN");
      expect(live.data).toEqual([]);
    } finally {
      live.stop();
      await ws.dispose();
    }
  });

  it("revokes a key: it stops working and shows when it was revoked", async () => {
    const { key, apiKey } = await createKey("leaked", ["ADMIN"]);
    const leaked = as(key);
    expect((await leaked(LIST_ENDPOINTS)).errors).toBeUndefined();
    const revoked = (
      await admin(`mutation ($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`, { id: apiKey.id })
    ).data.revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    await waitFor(
      async () => codeOf(await leaked(LIST_ENDPOINTS)) === "UNAUTHENTICATED",
      "the revoked key to stop working",
    );
  });

  it("writes lastUsedAt after a key is used", async () => {
    const { key, apiKey } = await createKey("used", ["READ"]);
    expect(apiKey.lastUsedAt).toBeNull();
    await as(key)(LIST_ENDPOINTS);
    await waitFor(async () => {
      const listed = (await admin(LIST_KEYS)).data.apiKeys as Untyped[];
      return listed.find((k) => k.id === apiKey.id)?.lastUsedAt;
    }, "lastUsedAt to be written");
  });

  it("gives keys made before scopes existed every scope", async () => {
    await hp.db.prisma.$executeRaw`
      INSERT INTO "ApiKey" ("id", "workspaceId", "name", "prefix", "hash")
      VALUES ('key_legacy', ${hp.workspace.id}, 'legacy', 'hp_legacy', 'legacy-hash')`;
    const legacy = await hp.db.prisma.apiKey.findUniqueOrThrow({ where: { id: "key_legacy" } });
    expect(legacy.scopes).toEqual(["ADMIN"]);
  });

  it("never shows or revokes another workspace's keys", async () => {
    const other = await hp.newWorkspace("other");
    const theirs = as(other.apiKey);
    const mine = (await admin(LIST_KEYS)).data.apiKeys.map((k: Untyped) => k.id) as string[];
    const listedToThem = (await theirs(LIST_KEYS)).data.apiKeys.map((k: Untyped) => k.id) as string[];
    expect(listedToThem).toHaveLength(1);
    expect(listedToThem.filter((id) => mine.includes(id))).toEqual([]);
    const attempt = await theirs(`mutation ($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: mine[0] });
    expect(codeOf(attempt)).toBe("NOT_FOUND");
    expect((await admin(LIST_ENDPOINTS)).errors).toBeUndefined();
  });
});
