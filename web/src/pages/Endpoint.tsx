import { useState } from "react";
import { useMutation, useQuery } from "urql";
import { Empty, ErrorNotice, JsonBlock, Time, Writable } from "../components.tsx";
import { graphql } from "../gql/index.ts";
import { href, navigate } from "../route.ts";
import { DeliveryList } from "./DeliveryList.tsx";
import { EndpointForm, type EndpointFormValues, EventTypesQuery, SecretOnce } from "./EndpointForm.tsx";
import { HealthBadges } from "./Endpoints.tsx";
import { ReplayRange } from "./ReplayRange.tsx";

const EndpointQuery = graphql(`
  query PortalEndpoint($id: ID!) {
    endpoint(id: $id) {
      id
      url
      description
      enabled
      disabledAt
      disabledReason
      circuitOpenUntil
      consecutiveFailures
      eventTypes
      streams
      headers
      sensitiveHeaders
      previousSecretExpiresAt
      rateLimitPerSecond
      retrySchedule
      retryForSeconds
      createdAt
      updatedAt
    }
  }
`);

const UpdateEndpointMutation = graphql(`
  mutation PortalUpdateEndpoint($id: ID!, $input: UpdateEndpointInput!) {
    updateEndpoint(id: $id, input: $input) {
      id
      url
      description
      enabled
      disabledReason
      eventTypes
      streams
      headers
      rateLimitPerSecond
      retrySchedule
      retryForSeconds
    }
  }
`);

const DeleteEndpointMutation = graphql(`
  mutation PortalDeleteEndpoint($id: ID!) {
    deleteEndpoint(id: $id)
  }
`);

const RotateSecretMutation = graphql(`
  mutation PortalRotateSecret($id: ID!, $gracePeriodSeconds: Int) {
    rotateEndpointSecret(id: $id, gracePeriodSeconds: $gracePeriodSeconds) {
      secret
      previousSecretExpiresAt
      endpoint {
        id
        previousSecretExpiresAt
      }
    }
  }
`);

const TestEndpointMutation = graphql(`
  mutation PortalTestEndpoint($id: ID!, $eventType: String) {
    testEndpoint(id: $id, eventType: $eventType) {
      success
      status
      body
      error
      durationMs
    }
  }
`);

export function EndpointPage({ id }: { id: string }) {
  const [result] = useQuery({ query: EndpointQuery, variables: { id }, requestPolicy: "cache-and-network" });
  const [editing, setEditing] = useState(false);
  const [update, runUpdate] = useMutation(UpdateEndpointMutation);
  const endpoint = result.data?.endpoint;
  if (result.error) return <ErrorNotice error={result.error} />;
  if (result.data && !endpoint)
    return (
      <Empty title="Endpoint not found">
        <p>
          It was deleted, or belongs to another workspace. <a href={href.endpoints}>Back to the endpoints</a>.
        </p>
      </Empty>
    );
  if (!endpoint) return <p aria-busy="true">Loading…</p>;
  const current: EndpointFormValues = {
    url: endpoint.url,
    description: endpoint.description,
    eventTypes: endpoint.eventTypes,
    streams: endpoint.streams,
    headers: endpoint.headers as Record<string, string>,
    rateLimitPerSecond: endpoint.rateLimitPerSecond ?? null,
    retrySchedule: endpoint.retrySchedule ?? null,
    retryForSeconds: endpoint.retryForSeconds ?? null,
  };
  const save = async (values: EndpointFormValues) => {
    const saved = await runUpdate({ id, input: changedFields(current, values) });
    if (!saved.error) setEditing(false);
  };
  return (
    <section aria-labelledby="endpoint-title">
      <p className="crumbs">
        <a href={href.endpoints}>Endpoints</a> /
      </p>
      <div className="page-head">
        <h1 id="endpoint-title" className="url">
          {endpoint.url}
        </h1>
        <HealthBadges endpoint={endpoint} />
      </div>
      {endpoint.description && <p>{endpoint.description}</p>}
      {endpoint.disabledReason && (
        <p className="notice warn">
          Disabled <Time at={endpoint.disabledAt} />: {endpoint.disabledReason}
        </p>
      )}
      {editing ? (
        <EndpointForm
          initial={current}
          submitLabel="Save endpoint"
          busy={update.fetching}
          error={update.error}
          onSubmit={save}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <dl className="facts">
          <dt>Event types</dt>
          <dd>{endpoint.eventTypes.join(", ")}</dd>
          <dt>Streams</dt>
          <dd>{endpoint.streams.length ? endpoint.streams.join(", ") : "all"}</dd>
          <dt>Custom headers</dt>
          <dd>
            {Object.keys(endpoint.headers as object).length ? (
              <JsonBlock value={endpoint.headers} label="Custom headers" />
            ) : (
              "none"
            )}
          </dd>
          <dt>Rate limit</dt>
          <dd>
            {endpoint.rateLimitPerSecond ? `${endpoint.rateLimitPerSecond} deliveries a second` : "none"}
          </dd>
          <dt>Retry schedule</dt>
          <dd>{endpoint.retrySchedule ? endpoint.retrySchedule.join(", ") : "the server's"}</dd>
          <dt>Gives up after</dt>
          <dd>{endpoint.retryForSeconds ? `${endpoint.retryForSeconds} s` : "the schedule's end"}</dd>
          <dt>Previous secret valid until</dt>
          <dd>
            <Time at={endpoint.previousSecretExpiresAt} />
          </dd>
          <dt>Created</dt>
          <dd>
            <Time at={endpoint.createdAt} />
          </dd>
        </dl>
      )}
      <Writable>
        {!editing && (
          <EndpointActions
            id={id}
            enabled={endpoint.enabled}
            onEdit={() => setEditing(true)}
            onToggle={() => void runUpdate({ id, input: { enabled: !endpoint.enabled } })}
          />
        )}
        <ErrorNotice error={editing ? undefined : update.error} />
        <TestEvent id={id} />
        <RotateSecret id={id} />
      </Writable>
      <h2>Deliveries</h2>
      <DeliveryList endpointId={id} />
      <Writable>
        <ReplayRange endpointId={id} />
      </Writable>
    </section>
  );
}

/** Only what the form changed: sensitive headers come back redacted and must not be saved as such. */
function changedFields(before: EndpointFormValues, after: EndpointFormValues): Partial<EndpointFormValues> {
  const keys = Object.keys(after) as (keyof EndpointFormValues)[];
  return Object.fromEntries(
    keys
      .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]))
      .map((key) => [key, after[key]]),
  );
}

function EndpointActions({
  id,
  enabled,
  onEdit,
  onToggle,
}: {
  id: string;
  enabled: boolean;
  onEdit: () => void;
  onToggle: () => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [deleted, runDelete] = useMutation(DeleteEndpointMutation);
  const remove = async () => {
    // The answer is a bare id: say which cached lists it changes.
    const result = await runDelete({ id }, { additionalTypenames: ["Endpoint", "Delivery"] });
    if (!result.error) navigate(href.endpoints);
  };
  return (
    <div className="actions">
      <button type="button" onClick={onEdit}>
        Edit
      </button>
      <button type="button" className="secondary" onClick={onToggle}>
        {enabled ? "Disable" : "Enable"}
      </button>
      {confirming ? (
        <span className="actions">
          <span>Delete this endpoint and its delivery log?</span>
          <button type="button" className="danger" onClick={() => void remove()}>
            Yes, delete
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </span>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete
        </button>
      )}
      <ErrorNotice error={deleted.error} />
    </div>
  );
}

function TestEvent({ id }: { id: string }) {
  const [catalog] = useQuery({ query: EventTypesQuery });
  const [eventType, setEventType] = useState("");
  const [result, send] = useMutation(TestEndpointMutation);
  const outcome = result.data?.testEndpoint;
  return (
    <details className="card">
      <summary>Send test event</summary>
      <div className="stack">
        <label>
          Event type
          <select value={eventType} onChange={(e) => setEventType(e.target.value)}>
            <option value="">webhook.test</option>
            {catalog.data?.eventTypes
              .filter((t) => !t.operational)
              .map((t) => (
                <option key={t.name}>{t.name}</option>
              ))}
          </select>
        </label>
        <div>
          <button
            type="button"
            disabled={result.fetching}
            onClick={() => void send({ id, eventType: eventType || null })}
          >
            {result.fetching ? "Sending…" : "Send test event"}
          </button>
        </div>
        <ErrorNotice error={result.error} />
        {outcome && (
          <div
            className={`notice ${outcome.success ? "ok" : "error"}`}
            role="status"
            data-testid="test-result"
          >
            <p>
              {outcome.success ? "Delivered" : "Failed"}:{" "}
              {outcome.status ? `HTTP ${outcome.status}` : "no response"} in {outcome.durationMs} ms
            </p>
            {outcome.error && <p>{outcome.error}</p>}
            {outcome.body && <JsonBlock value={outcome.body} label="Response body" />}
          </div>
        )}
      </div>
    </details>
  );
}

const DAY_S = 86_400;

function RotateSecret({ id }: { id: string }) {
  const [grace, setGrace] = useState(String(DAY_S));
  const [result, rotate] = useMutation(RotateSecretMutation);
  const rotated = result.data?.rotateEndpointSecret;
  return (
    <details className="card">
      <summary>Rotate signing secret</summary>
      <div className="stack">
        <label>
          Grace period (seconds) for the old secret
          <input type="number" min={0} value={grace} onChange={(e) => setGrace(e.target.value)} />
        </label>
        <div>
          <button
            type="button"
            disabled={result.fetching}
            onClick={() => void rotate({ id, gracePeriodSeconds: Number(grace) })}
          >
            Rotate secret
          </button>
        </div>
        <ErrorNotice error={result.error} />
        {rotated && <SecretOnce secret={rotated.secret} title="Secret rotated" />}
      </div>
    </details>
  );
}
