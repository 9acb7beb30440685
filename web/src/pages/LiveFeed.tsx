import { type FormEvent, memo, useCallback, useEffect, useRef, useState } from "react";
import { type CombinedError, useClient, useQuery } from "urql";
import { Empty, ErrorNotice } from "../components.tsx";
import type { PortalLiveAttemptsSubscription } from "../gql/graphql.ts";
import { graphql } from "../gql/index.ts";
import { href } from "../route.ts";

const LiveAttemptsSubscription = graphql(`
  subscription PortalLiveAttempts($endpointId: ID, $eventTypes: [String!]) {
    deliveryAttempts(endpointId: $endpointId, eventTypes: $eventTypes) {
      id
      deliveryId
      number
      trigger
      succeeded
      responseStatus
      error
      durationMs
      createdAt
      event {
        id
        type
      }
      endpoint {
        id
        url
      }
    }
  }
`);

const LiveEndpointsQuery = graphql(`
  query PortalLiveEndpoints {
    endpoints(first: 100) {
      edges {
        node {
          id
          url
        }
      }
    }
  }
`);

type Attempt = PortalLiveAttemptsSubscription["deliveryAttempts"];

/** Attempts kept in the page: the newest ones; older ones are in each endpoint's delivery log. */
const MAX_KEPT = 5_000;
const ROW_HEIGHT_PX = 36;
const OVERSCAN_ROWS = 8;
/** Arrivals are shown in batches at most this often: a few renders a second, whatever the rate. */
const FLUSH_INTERVAL_MS = 100;
const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/**
 * Delivery attempts as they are recorded. Arrivals are buffered and rendered in
 * batches (at most one every FLUSH_INTERVAL_MS, in an animation frame), and only the
 * rows in view are in the DOM, so the page keeps up with thousands of attempts a second.
 */
export function LiveFeedPage() {
  const [endpoints] = useQuery({ query: LiveEndpointsQuery });
  const [endpointId, setEndpointId] = useState("");
  const [typesInput, setTypesInput] = useState("");
  const [eventTypes, setEventTypes] = useState<string[]>([]);
  const [paused, setPaused] = useState(false);
  const [clears, setClears] = useState(0);
  const applyTypes = (event: FormEvent) => {
    event.preventDefault();
    setEventTypes(
      typesInput
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    );
  };
  return (
    <section aria-labelledby="live-title" className="live">
      <div className="page-head">
        <h1 id="live-title">Live feed</h1>
        <div className="actions">
          <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
            {paused ? "Resume" : "Pause"}
          </button>
          <button type="button" className="secondary" onClick={() => setClears(clears + 1)}>
            Clear
          </button>
        </div>
      </div>
      <form className="filters" onSubmit={applyTypes} aria-label="Filter the live feed">
        <label>
          Endpoint
          <select value={endpointId} onChange={(e) => setEndpointId(e.target.value)}>
            <option value="">all endpoints</option>
            {endpoints.data?.endpoints.edges.map(({ node }) => (
              <option key={node.id} value={node.id}>
                {node.url}
              </option>
            ))}
          </select>
        </label>
        <label>
          Event types
          <input
            value={typesInput}
            onChange={(e) => setTypesInput(e.target.value)}
            placeholder="email.bounced, email.*"
          />
        </label>
        <button type="submit" className="secondary">
          Apply
        </button>
      </form>
      <LiveAttempts endpointId={endpointId} eventTypes={eventTypes} paused={paused} clears={clears} />
    </section>
  );
}

/** The subscription and what it brought; it alone re-renders as attempts arrive. */
function LiveAttempts({
  endpointId,
  eventTypes,
  paused,
  clears,
}: {
  endpointId: string;
  eventTypes: string[];
  paused: boolean;
  clears: number;
}) {
  const client = useClient();
  const [rows, setRows] = useState<Attempt[]>([]);
  const [waiting, setWaiting] = useState(0);
  const [received, setReceived] = useState(0);
  const [error, setError] = useState<CombinedError | undefined>();
  const pending = useRef<Attempt[]>([]);
  const receivedCount = useRef(0);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  // biome-ignore lint/correctness/useExhaustiveDependencies: clears is the signal to empty the list
  useEffect(() => {
    pending.current = [];
    setRows([]);
  }, [clears]);

  // Arrivals wait in `pending`; one render takes them all, FLUSH_INTERVAL_MS after the first, in an animation frame.
  const flushTimer = useRef<number | null>(null);
  const scheduleFlush = useCallback(() => {
    if (flushTimer.current !== null) return;
    flushTimer.current = window.setTimeout(
      () =>
        requestAnimationFrame(() => {
          flushTimer.current = null;
          setReceived(receivedCount.current);
          if (pausedRef.current) {
            setWaiting(pending.current.length);
            return;
          }
          const batch = pending.current.reverse();
          pending.current = [];
          setWaiting(0);
          setRows((current) =>
            batch.length >= MAX_KEPT
              ? batch.slice(0, MAX_KEPT)
              : batch.concat(current.slice(0, MAX_KEPT - batch.length)),
          );
        }),
      FLUSH_INTERVAL_MS,
    );
  }, []);
  useEffect(() => () => window.clearTimeout(flushTimer.current ?? undefined), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: resuming shows what waited
  useEffect(() => scheduleFlush(), [paused, scheduleFlush]);

  useEffect(() => {
    setError(undefined);
    const subscription = client
      .subscription(LiveAttemptsSubscription, {
        endpointId: endpointId || null,
        eventTypes: eventTypes.length ? eventTypes : null,
      })
      .subscribe((result) => {
        if (result.error) setError(result.error);
        const attempt = result.data?.deliveryAttempts;
        if (!attempt) return;
        receivedCount.current += 1;
        pending.current.push(attempt);
        if (pending.current.length > MAX_KEPT) pending.current.splice(0, pending.current.length - MAX_KEPT);
        scheduleFlush();
      });
    return () => subscription.unsubscribe();
  }, [client, endpointId, eventTypes, scheduleFlush]);

  return (
    <>
      <p className="muted" data-testid="live-received" data-received={received}>
        {received} received{paused && waiting ? `, ${waiting} waiting while paused` : ""}
      </p>
      <ErrorNotice error={error} />
      {rows.length === 0 ? (
        <Empty title={paused ? "Paused" : "Waiting for delivery attempts…"}>
          <p>
            Attempts appear here the moment they are made. Publish an event, or send a test event from an{" "}
            <a href={href.endpoints}>endpoint</a>.
          </p>
        </Empty>
      ) : (
        <AttemptRows rows={rows} />
      )}
    </>
  );
}

/** Only the rows in view (and a few around them) are rendered. */
function AttemptRows({ rows }: { rows: Attempt[] }) {
  const viewport = useRef<HTMLElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const element = viewport.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setHeight(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT_PX) - OVERSCAN_ROWS);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT_PX) + OVERSCAN_ROWS);
  return (
    <section
      ref={viewport}
      className="feed"
      aria-label={`Delivery attempts, newest first (${rows.length})`}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
    >
      <ol style={{ height: rows.length * ROW_HEIGHT_PX }} data-testid="live-rows">
        {rows.slice(first, last).map((attempt, i) => (
          <AttemptRow key={attempt.id} attempt={attempt} top={(first + i) * ROW_HEIGHT_PX} />
        ))}
      </ol>
    </section>
  );
}

const AttemptRow = memo(function AttemptRow({ attempt, top }: { attempt: Attempt; top: number }) {
  return (
    <li
      className="feed-row"
      style={{ transform: `translateY(${top}px)` }}
      data-delivery={attempt.deliveryId}
      data-endpoint={attempt.endpoint.id}
    >
      <a href={href.delivery(attempt.deliveryId)}>
        <span className={`dot ${attempt.succeeded ? "ok" : "bad"}`} aria-hidden="true" />
        <span className="sr-only">{attempt.succeeded ? "Succeeded" : "Failed"}</span>
        <time dateTime={attempt.createdAt}>{timeFormat.format(new Date(attempt.createdAt))}</time>
        <span className="type">{attempt.event.type}</span>
        <span className="status">
          {attempt.responseStatus ? attempt.responseStatus : attempt.error ? "error" : "—"}
        </span>
        <span className="ms">{attempt.durationMs} ms</span>
        <span className="trigger">
          #{attempt.number} {attempt.trigger}
        </span>
        <span className="endpoint">{attempt.endpoint.url}</span>
      </a>
    </li>
  );
});
