import { Pool } from "undici";

export type EventInput = {
  type: string;
  data: Record<string, unknown>;
  stream?: string;
  idempotencyKey?: string;
};

export type BenchApi = {
  createEndpoint(input: {
    url: string;
    eventTypes: string[];
    streams?: string[];
    format?: string;
  }): Promise<string>;
  /** Publishes a batch in one publishEvents mutation; returns the event ids in input order. */
  publishEvents(inputs: EventInput[]): Promise<string[]>;
  publishEvent(input: EventInput): Promise<string>;
  close(): Promise<void>;
};

const CREATE_ENDPOINT = `mutation ($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`;
const PUBLISH_EVENTS = `mutation ($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { id } }`;
const PUBLISH_EVENT = `mutation ($input: PublishEventInput!) { publishEvent(input: $input) { id } }`;

/** The few GraphQL calls the benchmark makes, over a keep-alive undici pool. */
export function benchApi(graphqlUrl: string, apiKey: string): BenchApi {
  const url = new URL(graphqlUrl);
  const pool = new Pool(url.origin, { connections: 32 });

  async function call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const res = await pool.request({
      path: url.pathname,
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query, variables }),
    });
    const json = (await res.body.json()) as { data?: T; errors?: { message: string }[] };
    if (json.errors?.length || !json.data) throw new Error(`GraphQL error: ${JSON.stringify(json.errors)}`);
    return json.data;
  }

  return {
    async createEndpoint(input) {
      const data = await call<{ createEndpoint: { endpoint: { id: string } } }>(CREATE_ENDPOINT, { input });
      return data.createEndpoint.endpoint.id;
    },
    async publishEvents(inputs) {
      const data = await call<{ publishEvents: { id: string }[] }>(PUBLISH_EVENTS, { inputs });
      return data.publishEvents.map((e) => e.id);
    },
    async publishEvent(input) {
      const data = await call<{ publishEvent: { id: string } }>(PUBLISH_EVENT, { input });
      return data.publishEvent.id;
    },
    close: () => pool.close(),
  };
}
