import { useState } from "react";
import { useQuery } from "urql";
import { Empty, ErrorNotice, StatusBadge, Time, toIso, useCursorPages } from "../components.tsx";
import type { DeliveryStatus } from "../gql/graphql.ts";
import { graphql } from "../gql/index.ts";
import { href } from "../route.ts";
import { EventTypesQuery } from "./EndpointForm.tsx";

const DeliveriesQuery = graphql(`
  query PortalDeliveries($first: Int!, $after: String, $filter: DeliveryFilter) {
    deliveries(first: $first, after: $after, filter: $filter) {
      edges {
        node {
          id
          status
          eventType
          attemptCount
          lastResponseStatus
          lastError
          lastAttemptAt
          nextAttemptAt
          createdAt
          event {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const STATUSES: DeliveryStatus[] = ["SUCCEEDED", "FAILED", "RETRYING", "PENDING", "CANCELLED"];
const PAGE_SIZE = 25;

/** An endpoint's deliveries, newest first, filtered by status, event type and time range. */
export function DeliveryList({ endpointId }: { endpointId: string }) {
  const [catalog] = useQuery({ query: EventTypesQuery });
  const [status, setStatus] = useState("");
  const [eventType, setEventType] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const pages = useCursorPages();
  const filter = {
    endpointId,
    status: status ? [status as DeliveryStatus] : null,
    eventTypes: eventType ? [eventType] : null,
    since: toIso(since) ?? null,
    until: toIso(until) ?? null,
  };
  const [result, refresh] = useQuery({
    query: DeliveriesQuery,
    variables: { first: PAGE_SIZE, after: pages.after, filter },
    requestPolicy: "cache-and-network",
  });
  const filtered = (set: (value: string) => void) => (value: string) => {
    pages.reset();
    set(value);
  };
  const deliveries = result.data?.deliveries.edges.map((e) => e.node) ?? [];
  return (
    <div className="stack">
      <form className="filters" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={status} onChange={(e) => filtered(setStatus)(e.target.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Event type
          <select value={eventType} onChange={(e) => filtered(setEventType)(e.target.value)}>
            <option value="">any</option>
            {catalog.data?.eventTypes.map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
        <label>
          Since
          <input type="datetime-local" value={since} onChange={(e) => filtered(setSince)(e.target.value)} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={until} onChange={(e) => filtered(setUntil)(e.target.value)} />
        </label>
        <button
          type="button"
          className="secondary"
          onClick={() => refresh({ requestPolicy: "network-only" })}
        >
          Refresh
        </button>
      </form>
      <ErrorNotice error={result.error} />
      {result.data && deliveries.length === 0 && (
        <Empty title="No deliveries match">
          <p>
            Deliveries appear when events of this endpoint's types are published. Send a test event, or widen
            the filters.
          </p>
        </Empty>
      )}
      {deliveries.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event type</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last response</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-delivery={d.id}>
                  <td>
                    <a href={href.delivery(d.id)}>
                      <Time at={d.createdAt} />
                    </a>
                  </td>
                  <td>{d.eventType}</td>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>{d.attemptCount}</td>
                  <td>{d.lastResponseStatus ? `HTTP ${d.lastResponseStatus}` : (d.lastError ?? "—")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.pager(result.data?.deliveries.pageInfo)}
    </div>
  );
}
