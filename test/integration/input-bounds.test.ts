import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LiveDeliveryAttemptsDocument } from "../generated/graphql.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { wsClient, wsSubscribe } from "../support/live.ts";
import { postBody, postGraphql } from "../support/rawGraphql.ts";
import { waitFor } from "../support/wait.ts";

/** An error message quotes at most a short prefix of what was sent. */
const SHORT_MESSAGE_CHARS = 400;

const CREATE_ENDPOINT = `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`;
const PUBLISH = `mutation ($input: PublishEventInput!) { publishEvent(input: $input) { id } }`;

/** JSON nested `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = {};
  for (let level = 0; level < depth; level++) value = { a: value };
  return value;
}

describe("input bounds and error codes", () => {
  let hp: TestHookpost;
  let authorization: string;
  const send = (query: string, variables?: Record<string, unknown>) =>
    postGraphql(hp.url, authorization, query, variables);

  /** The request was refused as the client's fault, with a short message and nothing stored. */
  async function expectBadInput(query: string, variables: Record<string, unknown>, message: RegExp) {
    const { status, body } = await send(query, variables);
    expect(status).toBeLessThan(500);
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: "BAD_USER_INPUT" } });
    expect(body.errors?.[0]?.message).toMatch(message);
    expect(body.errors?.[0]?.message.length).toBeLessThan(SHORT_MESSAGE_CHARS);
  }

  beforeAll(async () => {
    hp = await startTestHookpost({ roles: ["api"] });
    authorization = `Bearer ${hp.workspace.apiKey}`;
  });
  afterAll(async () => {
    await hp?.stop();
  });

  const endpoint = (input: Record<string, unknown>) => ({
    input: { url: "http://127.0.0.1:9/hooks", eventTypes: ["*"], ...input },
  });

  it.each([
    ["a long header name", { headers: { [`x-${"n".repeat(300)}`]: "v" } }, /not a valid header name/],
    ["a long header value", { headers: { "x-token": "v".repeat(5_000) } }, /longer than 4096/],
    [
      "20 headers of 1 MB",
      {
        headers: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x-h${i}`, "v".repeat(1_000_000)])),
      },
      /longer than 4096/,
    ],
    [
      "headers over 16 KB in all",
      { headers: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`x-h${i}`, "v".repeat(4_000)])) },
      /total more than 16384/,
    ],
    [
      "200,000 streams",
      { streams: Array.from({ length: 200_000 }, (_, i) => `s${i}`) },
      /at most 100 entries/,
    ],
    ["a long stream", { streams: ["s".repeat(300)] }, /at most 255 characters/],
    ["101 event types", { eventTypes: Array.from({ length: 101 }, () => "email.sent") }, /at most 100/],
    ["a 10 MB event type", { eventTypes: ["e".repeat(10_000_000)] }, /at most 255 characters/],
    ["a long description", { description: "d".repeat(501) }, /longer than 500/],
    ["a long URL", { url: `http://127.0.0.1:9/${"u".repeat(2_100)}` }, /longer than 2048/],
  ])("refuses an endpoint with %s", async (_what, input, message) => {
    await expectBadInput(CREATE_ENDPOINT, endpoint(input), message);
  });

  it("quotes only a prefix of a huge unknown event type", async () => {
    await expectBadInput(
      PUBLISH,
      { input: { type: "x".repeat(10_000_000), data: {} } },
      /unknown event type "x+…"/,
    );
  });

  it("refuses event data nested 33 deep in variables", async () => {
    await expectBadInput(
      PUBLISH,
      { input: { type: "email.sent", data: nested(33) } },
      /nested more than 32 levels/,
    );
  });

  it("refuses event data nested 10,000 deep in variables (once a stack overflow)", async () => {
    const data = `${'{"a":'.repeat(10_000)}{}${"}".repeat(10_000)}`;
    const body = `{"query":${JSON.stringify(PUBLISH)},"variables":{"input":{"type":"email.sent","data":${data}}}}`;
    const { status, body: answer } = await postBody(hp.url, authorization, body);
    expect(status).toBeLessThan(500);
    expect(answer.errors?.[0]).toMatchObject({
      extensions: { code: "BAD_USER_INPUT" },
      message: expect.stringMatching(/nested more than 32 levels/),
    });
  });

  it("accepts event data nested 28 deep", async () => {
    const { body } = await send(PUBLISH, { input: { type: "email.sent", data: nested(28) } });
    expect(body.errors).toBeUndefined();
  });

  it("refuses event data nested deep in a literal", async () => {
    const literal = `${"{a:".repeat(40)}1${"}".repeat(40)}`;
    await expectBadInput(
      `mutation { publishEvent(input: { type: "email.sent", data: ${literal} }) { id } }`,
      {},
      /nested more than 32 levels/,
    );
  });

  it.each([
    ["year 0", "0000-01-01T00:00:00.000Z"],
    ["year 275760", "+275760-09-13T00:00:00.000Z"],
    ["year 10000", "+010000-01-01T00:00:00.000Z"],
  ])("refuses a date in %s", async (_what, date) => {
    await expectBadInput(PUBLISH, { input: { type: "email.sent", data: {}, occurredAt: date } }, /0001–9999/);
    await expectBadInput(
      "query ($since: DateTime) { events(filter: { since: $since }) { edges { cursor } } }",
      { since: date },
      /0001–9999/,
    );
  });

  it("codes a variable of the wrong type BAD_USER_INPUT, and cuts its message", async () => {
    await expectBadInput(
      "query ($first: Int) { events(first: $first) { edges { cursor } } }",
      { first: "x" },
      /Int/,
    );
    await expectBadInput(
      "query ($first: Int) { events(first: $first) { edges { cursor } } }",
      { first: "9".repeat(100_000) },
      /^Variable "\$first" got invalid value "9+…9+"$/,
    );
    await expectBadInput(PUBLISH, { input: { type: 42, data: {} } }, /String/);
    await expectBadInput(PUBLISH, {}, /\$input/);
  });

  it("codes parse and validation errors", async () => {
    for (const query of ["{", "{ nope }", "mutation { publishEvent { id } }"]) {
      const { status, body } = await send(query);
      expect(status, query).toBeLessThan(500);
      expect(body.errors?.[0]?.extensions?.code, query).toMatch(/^(BAD_USER_INPUT|GRAPHQL_\w+_FAILED)$/);
    }
  });

  it.each([
    [
      "the events filter",
      "query ($f: EventFilter) { events(filter: $f) { edges { cursor } } }",
      { types: [] },
    ],
    [
      "the deliveries filter",
      "query ($f: DeliveryFilter) { deliveries(filter: $f) { edges { cursor } } }",
      { eventTypes: [] },
    ],
  ])("bounds the type list of %s", async (_what, query, filter) => {
    const key = Object.keys(filter)[0]!;
    await expectBadInput(
      query,
      { f: { [key]: Array.from({ length: 200_000 }, () => "email.sent") } },
      /at most 100/,
    );
  });

  it("bounds the relation lists inside types", async () => {
    await send(PUBLISH, { input: { type: "email.sent", data: {} } });
    await expectBadInput(
      "{ events { edges { node { deliveries(first: 101) { id } } } } }",
      {},
      /first must be between 0 and 100/,
    );
  });

  it("bounds a subscription's type list, and its depth, over graphql-ws", async () => {
    const ws = wsClient(hp.url, authorization);
    try {
      const tooMany = wsSubscribe(ws, LiveDeliveryAttemptsDocument, {
        eventTypes: Array.from({ length: 101 }, () => "email.sent"),
      });
      let selection = "id";
      for (let level = 0; level < 6; level++) selection = `delivery { event { ${selection} } }`;
      const tooDeep = wsSubscribe(
        ws,
        parse(`subscription { deliveryAttempts { ${selection} } }`) as TypedDocumentNode<
          unknown,
          Record<string, never>
        >,
        {},
      );
      await waitFor(() => tooMany.errors.length > 0 && tooDeep.errors.length > 0, "both refusals");
      expect(tooMany.errors.flat()).toMatchObject([
        { extensions: { code: "BAD_USER_INPUT" }, message: expect.stringMatching(/at most 100/) },
      ]);
      expect(tooDeep.errors.flat()).toMatchObject([
        { extensions: { code: "BAD_USER_INPUT" }, message: expect.stringMatching(/depth/) },
      ]);
    } finally {
      await ws.dispose();
    }
  });

  it("refuses more than 5 outbound-sending fields in one request", async () => {
    const fields = Array.from({ length: 6 }, (_, i) => `t${i}: replayDelivery(id: "dlv_${i}") { id }`);
    await expectBadInput(`mutation { ${fields.join(" ")} }`, {}, /at most 5 testEndpoint or replayDelivery/);
  });
});
