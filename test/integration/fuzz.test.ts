import { readFileSync } from "node:fs";
import { buildSchema } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateEndpointDocument } from "../generated/graphql.ts";
import { inputFuzzer, operationFor, randomSource } from "../support/fuzzInput.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { postBody, type RawAnswer } from "../support/rawGraphql.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";

/** Requests per run: a few seconds by default; set FUZZ_ITERATIONS for a longer run. */
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 80);
/** The seed, printed with any failure so the run can be repeated (FUZZ_SEED). */
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const IN_FLIGHT = 4;
const MAX_BODY_CHARS = 20_000_000;

const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));
const mutations = Object.values(schema.getMutationType()!.getFields());

/**
 * Every mutation, with random, malformed and hostile variables: each answer
 * must be below 500 and every error in it must carry extensions.code.
 */
describe(`fuzzed mutations (FUZZ_SEED=${SEED})`, () => {
  let hp: TestHookpost;
  let receiver: Receiver;
  const knownIds: string[] = [];

  beforeAll(async () => {
    hp = await startTestHookpost({ roles: ["api"] });
    receiver = await startReceiver();
    const client = hp.workspace.client;
    const { createEndpoint } = await client.ok(CreateEndpointDocument, {
      input: { url: receiver.url, eventTypes: ["*"] },
    });
    knownIds.push(createEndpoint.endpoint.id);
    const { body } = await send(
      'mutation { publishEvent(input: { type: "email.sent", data: {} }) { id deliveries { id } } }',
    );
    const event = (body.data as { publishEvent: { id: string; deliveries: { id: string }[] } }).publishEvent;
    knownIds.push(event.id, ...event.deliveries.map((d) => d.id));
  });
  afterAll(async () => {
    await receiver?.close();
    await hp?.stop();
  });

  const authorization = () => `Bearer ${hp.workspace.apiKey}`;
  const send = (query: string, variables?: unknown) =>
    postBody(hp.url, authorization(), JSON.stringify({ query, variables }));

  it(`answers ${ITERATIONS} fuzzed requests over every mutation with coded errors and no 5xx`, async () => {
    const random = randomSource(SEED);
    const fuzzer = inputFuzzer(random, knownIds);
    const failures: string[] = [];
    const fuzzedRequest = (): [string, string] => {
      const field = random.pick(mutations);
      let query = operationFor(field);
      let variables: unknown = fuzzer.variablesFor(field.args);
      // Malformed requests: a cut-off document, variables of the wrong declared type, variables not an object.
      if (random.chance(0.05)) query = query.slice(0, random.int(query.length));
      if (random.chance(0.05)) query = query.replace(/: [^,)]+/g, ": String");
      if (random.chance(0.03)) variables = random.pick([[1, 2], "vars", 7]);
      const body = JSON.stringify({ query, variables });
      // Under REQUEST_BODY_LIMIT_BYTES: a larger body is refused by its Content-Length before it is read.
      return body.length < MAX_BODY_CHARS ? [query, body] : fuzzedRequest();
    };
    const check = (query: string, answer: RawAnswer | Error) => {
      const where = `${query.slice(0, 200)}`;
      if (answer instanceof Error) failures.push(`${where}: ${answer.message}`);
      else if (answer.status >= 500)
        failures.push(`${where}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
      else {
        const uncoded = answer.body.errors?.filter((e) => typeof e.extensions?.code !== "string") ?? [];
        if (uncoded.length > 0) failures.push(`${where}: uncoded ${JSON.stringify(uncoded).slice(0, 500)}`);
      }
    };
    for (let done = 0; done < ITERATIONS; done += IN_FLIGHT) {
      const batch = Array.from({ length: Math.min(IN_FLIGHT, ITERATIONS - done) }, fuzzedRequest);
      await Promise.all(
        batch.map(async ([query, body]) =>
          check(query, await postBody(hp.url, authorization(), body).catch((err: Error) => err)),
        ),
      );
    }
    expect(failures, `FUZZ_SEED=${SEED}`).toEqual([]);
    // The api still answers as before.
    expect((await send("{ __typename }")).body).toEqual({ data: { __typename: "Query" } });
  }, 600_000);
});
