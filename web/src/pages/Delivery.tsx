import { useEffect } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { Badge, Empty, ErrorNotice, JsonBlock, StatusBadge, Time, Writable } from "../components.tsx";
import { graphql } from "../gql/index.ts";
import { href } from "../route.ts";

const DeliveryQuery = graphql(`
  query PortalDelivery($id: ID!) {
    delivery(id: $id) {
      id
      status
      eventType
      attemptCount
      nextAttemptAt
      succeededAt
      createdAt
      endpoint {
        id
        url
      }
      event {
        id
        type
      }
      attempts {
        id
        number
        trigger
        succeeded
        url
        requestHeaders
        requestBody
        responseStatus
        responseHeaders
        responseBody
        error
        durationMs
        startedAt
      }
    }
  }
`);

const ReplayDeliveryMutation = graphql(`
  mutation PortalReplayDelivery($id: ID!) {
    replayDelivery(id: $id) {
      id
      status
    }
  }
`);

const EndpointAttemptsSubscription = graphql(`
  subscription PortalEndpointAttempts($endpointId: ID) {
    deliveryAttempts(endpointId: $endpointId) {
      id
      deliveryId
    }
  }
`);

export function DeliveryPage({ id }: { id: string }) {
  const [result, refresh] = useQuery({
    query: DeliveryQuery,
    variables: { id },
    requestPolicy: "cache-and-network",
  });
  const [replayed, replay] = useMutation(ReplayDeliveryMutation);
  const delivery = result.data?.delivery;
  // New attempts of this delivery (a replay, a retry) show as they are recorded.
  const [live] = useSubscription({
    query: EndpointAttemptsSubscription,
    variables: { endpointId: delivery?.endpoint.id ?? null },
    pause: !delivery,
  });
  const latest = live.data?.deliveryAttempts;
  useEffect(() => {
    if (latest?.deliveryId === id) refresh({ requestPolicy: "network-only" });
  }, [latest, id, refresh]);
  if (result.error) return <ErrorNotice error={result.error} />;
  if (result.data && !delivery)
    return (
      <Empty title="Delivery not found">
        <p>
          It belongs to another workspace or endpoint, or was removed by retention.{" "}
          <a href={href.endpoints}>Back to the endpoints</a>.
        </p>
      </Empty>
    );
  if (!delivery) return <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="delivery-title">
      <p className="crumbs">
        <a href={href.endpoints}>Endpoints</a> /{" "}
        <a href={href.endpoint(delivery.endpoint.id)}>{delivery.endpoint.url}</a> /
      </p>
      <div className="page-head">
        <h1 id="delivery-title">
          {delivery.eventType} <StatusBadge status={delivery.status} />
        </h1>
        <Writable>
          <button type="button" disabled={replayed.fetching} onClick={() => void replay({ id })}>
            Replay
          </button>
        </Writable>
      </div>
      <ErrorNotice error={replayed.error} />
      {replayed.data && (
        <p className="notice ok" role="status">
          Replay sent: the new attempt appears below.
        </p>
      )}
      <dl className="facts">
        <dt>Event</dt>
        <dd>
          <a href={href.event(delivery.event.id)}>{delivery.event.id}</a>
        </dd>
        <dt>Created</dt>
        <dd>
          <Time at={delivery.createdAt} />
        </dd>
        <dt>Next attempt</dt>
        <dd>
          <Time at={delivery.nextAttemptAt} />
        </dd>
      </dl>
      <h2>
        Attempts <span className="muted">({delivery.attempts.length})</span>
      </h2>
      {delivery.attempts.length === 0 && (
        <Empty title="No attempt yet">
          <p>The first attempt is on its way.</p>
        </Empty>
      )}
      <ol className="attempts" data-testid="attempts">
        {[...delivery.attempts].reverse().map((attempt) => (
          <li key={attempt.id} className="card">
            <details open={attempt.number === delivery.attempts.length}>
              <summary>
                #{attempt.number} {attempt.trigger}{" "}
                {attempt.succeeded ? <Badge tone="ok">succeeded</Badge> : <Badge tone="bad">failed</Badge>}{" "}
                {attempt.responseStatus ? `HTTP ${attempt.responseStatus}` : "no response"} ·{" "}
                {attempt.durationMs} ms · <Time at={attempt.startedAt} />
              </summary>
              {attempt.error && <p className="notice error">{attempt.error}</p>}
              <div className="columns">
                <div>
                  <h3>Request</h3>
                  <p className="url">POST {attempt.url}</p>
                  <JsonBlock
                    value={attempt.requestHeaders}
                    label={`Request headers of attempt ${attempt.number}`}
                  />
                  <JsonBlock
                    value={attempt.requestBody}
                    label={`Request body of attempt ${attempt.number}`}
                  />
                </div>
                <div>
                  <h3>Response</h3>
                  <JsonBlock
                    value={attempt.responseHeaders ?? {}}
                    label={`Response headers of attempt ${attempt.number}`}
                  />
                  <JsonBlock
                    value={attempt.responseBody ?? ""}
                    label={`Response body of attempt ${attempt.number}`}
                  />
                </div>
              </div>
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
