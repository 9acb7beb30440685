import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/services/workspaces.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { postGraphql, type RawAnswer } from "../support/rawGraphql.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";

const LIMITS = {
  RATE_LIMIT_REQUESTS_PER_MINUTE: "40",
  RATE_LIMIT_OUTBOUND_PER_MINUTE: "3",
  RATE_LIMIT_FAILED_AUTH_PER_MINUTE: "10",
};
const PUBLISH = `mutation { publishEvent(input: { type: "email.sent", data: {} }) { id } }`;
const LIST_ENDPOINTS = "{ endpoints(first: 1) { edges { node { id } } } }";

const limited = (answers: RawAnswer[]) =>
  answers.filter((a) => a.body.errors?.[0]?.extensions?.code === "RATE_LIMITED");

/** Requests one after another: the limits count them in order. */
async function inSequence(count: number, send: (i: number) => Promise<RawAnswer>): Promise<RawAnswer[]> {
  const answers: RawAnswer[] = [];
  for (let i = 0; i < count; i++) answers.push(await send(i));
  return answers;
}

function expectRefusal(answer: RawAnswer | undefined) {
  const error = answer?.body.errors?.[0];
  expect(error?.extensions?.code).toBe("RATE_LIMITED");
  const retryAfterSeconds = error?.extensions?.retryAfterSeconds as number;
  expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(retryAfterSeconds).toBeLessThanOrEqual(60);
  expect(answer?.status).toBe(429);
  expect(answer?.retryAfter).toBe(String(retryAfterSeconds));
  expect(error?.extensions).not.toHaveProperty("http");
}

describe("rate limits", () => {
  let hp: TestHookpost;
  let second: TestHookpost;
  let receiver: Receiver;

  beforeAll(async () => {
    hp = await startTestHookpost({ env: LIMITS });
    // Another api process on the same database and Redis: the limits are shared through Redis.
    second = await startTestHookpost({
      db: hp.db,
      roles: ["api"],
      env: { ...LIMITS, REDIS_PREFIX: hp.config.redis.prefix },
    });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await second?.stop({ keepRedisKeys: true });
    await hp?.stop();
    await receiver?.close();
  });

  it("limits requests per API key across api processes, and leaves other keys alone", async () => {
    const key = `Bearer ${hp.workspace.apiKey}`;
    const answers = await inSequence(60, (i) => postGraphql(i % 2 ? second.url : hp.url, key, PUBLISH));
    expect(answers.slice(0, 40).every((a) => a.body.data?.publishEvent?.id)).toBe(true);
    expect(limited(answers)).toHaveLength(20);
    expectRefusal(answers[59]);

    const otherKey = `Bearer ${await createApiKey(hp.db.prisma, hp.workspace.id, "second key")}`;
    expect((await postGraphql(hp.url, otherKey, PUBLISH)).body.data?.publishEvent?.id).toMatch(/^evt_/);
  });

  it("limits test sends per API key", async () => {
    const { apiKey } = await hp.newWorkspace("tester");
    const key = `Bearer ${apiKey}`;
    const created = await postGraphql(
      hp.url,
      key,
      `mutation ($url: String!) { createEndpoint(input: { url: $url, eventTypes: ["*"] }) { endpoint { id } } }`,
      { url: receiver.url },
    );
    const id = created.body.data.createEndpoint.endpoint.id;
    const sent = receiver.requests.length;
    const answers = await inSequence(5, () =>
      postGraphql(hp.url, key, "mutation ($id: ID!) { testEndpoint(id: $id) { success } }", { id }),
    );
    expect(answers.slice(0, 3).map((a) => a.body.data?.testEndpoint?.success)).toEqual([true, true, true]);
    expect(limited(answers)).toHaveLength(2);
    expectRefusal(answers[4]);
    expect(receiver.requests.length - sent).toBe(3);
  });

  it("limits failed authentications per client address, then refuses it even a valid key", async () => {
    const badJwt = await new SignJWT({ workspace: hp.workspace.id })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("not-the-secret-0123456789abcdef"));
    const answers = await inSequence(16, (i) =>
      postGraphql(
        hp.url,
        i % 2 ? `Bearer hp_${String(i).padStart(43, "x")}` : `Bearer ${badJwt}`,
        LIST_ENDPOINTS,
      ),
    );
    expect(answers.slice(0, 10).map((a) => a.body.errors?.[0]?.extensions?.code)).toEqual(
      Array(10).fill("UNAUTHENTICATED"),
    );
    expect(limited(answers)).toHaveLength(6);
    expectRefusal(answers[15]);
    // A guess that happens to be right is refused too, so guessing learns nothing.
    const { apiKey } = await hp.newWorkspace("guessed");
    expectRefusal(await postGraphql(hp.url, `Bearer ${apiKey}`, LIST_ENDPOINTS));
  });
});
