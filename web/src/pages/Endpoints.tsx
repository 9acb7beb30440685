import { useMutation, useQuery } from "urql";
import { Badge, Empty, ErrorNotice, Time, useCursorPages, Writable } from "../components.tsx";
import { graphql } from "../gql/index.ts";
import { href, navigate } from "../route.ts";
import { EndpointForm, type EndpointFormValues, SecretOnce } from "./EndpointForm.tsx";

const EndpointsQuery = graphql(`
  query PortalEndpoints($first: Int!, $after: String) {
    endpoints(first: $first, after: $after) {
      edges {
        node {
          id
          url
          description
          enabled
          disabledReason
          circuitOpenUntil
          consecutiveFailures
          eventTypes
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const EndpointHealthQuery = graphql(`
  query PortalEndpointHealth($endpointId: ID!) {
    deliveries(first: 20, filter: { endpointId: $endpointId }) {
      edges {
        node {
          id
          status
          lastAttemptAt
          lastError
          lastResponseStatus
        }
      }
    }
  }
`);

const PAGE_SIZE = 50;

export function EndpointsPage() {
  const pages = useCursorPages();
  const [result] = useQuery({
    query: EndpointsQuery,
    variables: { first: PAGE_SIZE, after: pages.after },
    requestPolicy: "cache-and-network",
  });
  const endpoints = result.data?.endpoints.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="endpoints-title">
      <div className="page-head">
        <h1 id="endpoints-title">Endpoints</h1>
        <Writable workspaceWide>
          <a className="button" href={href.newEndpoint}>
            New endpoint
          </a>
        </Writable>
      </div>
      <ErrorNotice error={result.error} />
      {result.data && endpoints.length === 0 && (
        <Empty title="No endpoints yet">
          <p>An endpoint is a URL that receives your events as signed POST requests.</p>
          <Writable workspaceWide>
            <a className="button" href={href.newEndpoint}>
              Add your first endpoint
            </a>
          </Writable>
        </Empty>
      )}
      {endpoints.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Health</th>
                <th scope="col">Success (last 20)</th>
                <th scope="col">Last failure</th>
                <th scope="col">Event types</th>
              </tr>
            </thead>
            <tbody>
              {endpoints.map((endpoint) => (
                <tr key={endpoint.id}>
                  <td>
                    <a href={href.endpoint(endpoint.id)} className="url">
                      {endpoint.url}
                    </a>
                    {endpoint.description && <div className="muted">{endpoint.description}</div>}
                  </td>
                  <td>
                    <HealthBadges endpoint={endpoint} />
                  </td>
                  <EndpointHealthCells endpointId={endpoint.id} />
                  <td>{endpoint.eventTypes.join(", ")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.pager(result.data?.endpoints.pageInfo)}
    </section>
  );
}

export function HealthBadges({
  endpoint,
}: {
  endpoint: { enabled: boolean; circuitOpenUntil?: string | null; consecutiveFailures: number };
}) {
  const circuitOpen = endpoint.circuitOpenUntil && new Date(endpoint.circuitOpenUntil) > new Date();
  return (
    <span className="badges">
      {endpoint.enabled ? <Badge tone="ok">Enabled</Badge> : <Badge tone="bad">Disabled</Badge>}
      {circuitOpen && <Badge tone="warn">Circuit open</Badge>}
      {endpoint.consecutiveFailures > 0 && (
        <Badge tone="warn">{endpoint.consecutiveFailures} failing in a row</Badge>
      )}
    </span>
  );
}

function EndpointHealthCells({ endpointId }: { endpointId: string }) {
  const [result] = useQuery({ query: EndpointHealthQuery, variables: { endpointId } });
  const deliveries = result.data?.deliveries.edges.map((e) => e.node) ?? [];
  const finished = deliveries.filter((d) => d.status === "SUCCEEDED" || d.status === "FAILED");
  const succeeded = finished.filter((d) => d.status === "SUCCEEDED").length;
  const lastFailure = deliveries.find((d) => d.status === "FAILED" || d.status === "RETRYING");
  return (
    <>
      <td>
        {finished.length === 0 ? (
          <span className="muted">no deliveries</span>
        ) : (
          `${Math.round((100 * succeeded) / finished.length)}% of ${finished.length}`
        )}
      </td>
      <td>
        {lastFailure ? (
          <>
            <Time at={lastFailure.lastAttemptAt} />
            <div className="muted">
              {lastFailure.lastResponseStatus
                ? `HTTP ${lastFailure.lastResponseStatus}`
                : lastFailure.lastError}
            </div>
          </>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
    </>
  );
}

const CreateEndpointMutation = graphql(`
  mutation PortalCreateEndpoint($input: CreateEndpointInput!) {
    createEndpoint(input: $input) {
      secret
      endpoint {
        id
        url
      }
    }
  }
`);

export function NewEndpointPage() {
  const [result, create] = useMutation(CreateEndpointMutation);
  const created = result.data?.createEndpoint;
  const submit = async (values: EndpointFormValues) => {
    await create({ input: values });
  };
  return (
    <section aria-labelledby="new-endpoint-title">
      <h1 id="new-endpoint-title">New endpoint</h1>
      {created ? (
        <>
          <SecretOnce secret={created.secret} title="Endpoint created" />
          <button type="button" onClick={() => navigate(href.endpoint(created.endpoint.id))}>
            Open the endpoint
          </button>
        </>
      ) : (
        <EndpointForm
          submitLabel="Create endpoint"
          busy={result.fetching}
          error={result.error}
          onSubmit={submit}
        />
      )}
    </section>
  );
}
