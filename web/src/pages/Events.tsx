import { useState } from "react";
import { useQuery } from "urql";
import { Empty, ErrorNotice, JsonBlock, StatusBadge, Time, useCursorPages } from "../components.tsx";
import { graphql } from "../gql/index.ts";
import { href } from "../route.ts";
import { EventTypesQuery } from "./EndpointForm.tsx";

const EventsQuery = graphql(`
  query PortalEvents($first: Int!, $after: String, $filter: EventFilter) {
    events(first: $first, after: $after, filter: $filter) {
      edges {
        node {
          id
          type
          stream
          occurredAt
          createdAt
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const EventQuery = graphql(`
  query PortalEvent($id: ID!) {
    event(id: $id) {
      id
      type
      stream
      data
      idempotencyKey
      occurredAt
      createdAt
      deliveries {
        id
        status
        attemptCount
        endpoint {
          id
          url
        }
      }
    }
  }
`);

const PAGE_SIZE = 25;

export function EventsPage() {
  const [catalog] = useQuery({ query: EventTypesQuery });
  const [type, setType] = useState("");
  const pages = useCursorPages();
  const [result] = useQuery({
    query: EventsQuery,
    variables: { first: PAGE_SIZE, after: pages.after, filter: type ? { types: [type] } : null },
    requestPolicy: "cache-and-network",
  });
  const events = result.data?.events.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <form className="filters" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <label>
          Event type
          <select
            value={type}
            onChange={(e) => {
              pages.reset();
              setType(e.target.value);
            }}
          >
            <option value="">any</option>
            {catalog.data?.eventTypes.map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNotice error={result.error} />
      {result.data && events.length === 0 && (
        <Empty title="No events yet">
          <p>
            Events are published by your platform with the <code>publishEvent</code> mutation. See the{" "}
            <a href={href.catalog}>event types</a> for what they carry.
          </p>
        </Empty>
      )}
      {events.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Type</th>
                <th scope="col">Stream</th>
                <th scope="col">Occurred</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.id}>
                  <td>
                    <a href={href.event(event.id)}>{event.id}</a>
                  </td>
                  <td>{event.type}</td>
                  <td>{event.stream ?? <span className="muted">—</span>}</td>
                  <td>
                    <Time at={event.occurredAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.pager(result.data?.events.pageInfo)}
    </section>
  );
}

export function EventPage({ id }: { id: string }) {
  const [result] = useQuery({ query: EventQuery, variables: { id } });
  const event = result.data?.event;
  if (result.error) return <ErrorNotice error={result.error} />;
  if (result.data && !event)
    return (
      <Empty title="Event not found">
        <p>
          <a href={href.events}>Back to the events</a>.
        </p>
      </Empty>
    );
  if (!event) return <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="event-title">
      <p className="crumbs">
        <a href={href.events}>Events</a> /
      </p>
      <h1 id="event-title">
        {event.type} <span className="muted">{event.id}</span>
      </h1>
      <dl className="facts">
        <dt>Occurred</dt>
        <dd>
          <Time at={event.occurredAt} />
        </dd>
        <dt>Stream</dt>
        <dd>{event.stream ?? "—"}</dd>
        <dt>Idempotency key</dt>
        <dd>{event.idempotencyKey ?? "—"}</dd>
      </dl>
      <h2>Data</h2>
      <JsonBlock value={event.data} label="Event data" />
      <h2>Deliveries</h2>
      {event.deliveries.length === 0 ? (
        <Empty title="No endpoint receives this event type" />
      ) : (
        <ul className="plain">
          {event.deliveries.map((d) => (
            <li key={d.id}>
              <a href={href.delivery(d.id)}>{d.endpoint.url}</a> <StatusBadge status={d.status} />{" "}
              {d.attemptCount} attempt{d.attemptCount === 1 ? "" : "s"}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
