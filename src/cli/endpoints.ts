// `hookpost endpoints list`: the workspace's endpoints, one line each.
import { parseCommandArgs } from "./args.ts";
import { type Remote, remoteFrom, request } from "./remote.ts";
import { ENDPOINTS_USAGE } from "./usage.ts";
import { UsageError } from "./usageError.ts";

const PAGE_SIZE = 100;

const LIST_ENDPOINTS = `query CliEndpoints($first: Int, $after: String, $filter: EndpointFilter) {
  endpoints(first: $first, after: $after, filter: $filter) {
    edges { node { id url enabled disabledReason eventTypes circuitOpenUntil consecutiveFailures } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type EndpointRow = {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  eventTypes: string[];
  circuitOpenUntil: string | null;
  consecutiveFailures: number;
};
type EndpointsPage = {
  endpoints: { edges: { node: EndpointRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};

async function* allEndpoints(remote: Remote, filter: Record<string, unknown>): AsyncGenerator<EndpointRow> {
  let after: string | null = null;
  do {
    const page: EndpointsPage = await request<EndpointsPage>(remote, LIST_ENDPOINTS, {
      first: PAGE_SIZE,
      after,
      filter,
    });
    for (const edge of page.endpoints.edges) yield edge.node;
    after = page.endpoints.pageInfo.hasNextPage ? page.endpoints.pageInfo.endCursor : null;
  } while (after);
}

function stateOf(endpoint: EndpointRow): string {
  if (!endpoint.enabled) return `disabled${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ""}`;
  if (endpoint.circuitOpenUntil) return `circuit open until ${endpoint.circuitOpenUntil}`;
  return endpoint.consecutiveFailures > 0 ? `enabled, ${endpoint.consecutiveFailures} failing` : "enabled";
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    enabled: { type: "boolean" },
    disabled: { type: "boolean" },
    type: { type: "string" },
  });
  if (positionals.join(" ") !== "list") throw new UsageError(`Usage: hookpost\n${ENDPOINTS_USAGE}`);
  const filter = {
    ...(values.enabled || values.disabled ? { enabled: Boolean(values.enabled) } : {}),
    ...(values.type ? { eventType: values.type } : {}),
  };
  let count = 0;
  for await (const endpoint of allEndpoints(remoteFrom(values), filter)) {
    count++;
    process.stdout.write(
      `${[endpoint.id, endpoint.url, endpoint.eventTypes.join(","), stateOf(endpoint)].join("  ")}\n`,
    );
  }
  if (count === 0) process.stdout.write("no endpoints\n");
  return 0;
}
