import { type FormEvent, useState } from "react";
import { useMutation, useQuery, useSubscription } from "urql";
import { ErrorNotice, StatusBadge, toIso, toLocalInput, Writable } from "../components.tsx";
import { graphql } from "../gql/index.ts";
import { EventTypesQuery } from "./EndpointForm.tsx";

const ReplayEventsMutation = graphql(`
  mutation PortalReplayEvents($input: ReplayEventsInput!) {
    replayEvents(input: $input) {
      id
      status
      total
      enqueued
      delivered
      failed
    }
  }
`);

const ReplayProgressSubscription = graphql(`
  subscription PortalReplayProgress($id: ID!) {
    replayProgress(id: $id) {
      id
      status
      total
      enqueued
      delivered
      failed
      error
      finishedAt
    }
  }
`);

const CancelReplayMutation = graphql(`
  mutation PortalCancelReplay($id: ID!) {
    cancelReplay(id: $id) {
      id
      status
    }
  }
`);

const HOUR_MS = 3_600_000;

/** "Replay a time range": since, until, only failed, event types; then its live progress. */
export function ReplayRange({ endpointId }: { endpointId?: string }) {
  const [catalog] = useQuery({ query: EventTypesQuery });
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - HOUR_MS)));
  const [until, setUntil] = useState(() => toLocalInput(new Date(Date.now() + 60_000)));
  const [onlyFailed, setOnlyFailed] = useState(false);
  const [types, setTypes] = useState<string[]>([]);
  const [started, start] = useMutation(ReplayEventsMutation);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void start({
      input: {
        since: toIso(since) ?? "",
        until: toIso(until) ?? "",
        onlyFailed,
        eventTypes: types.length ? types : null,
        endpointId: endpointId ?? null,
      },
    });
  };
  const replay = started.data?.replayEvents;
  return (
    <details className="card" open={Boolean(replay)}>
      <summary>Replay a time range</summary>
      <form className="stack" onSubmit={submit} aria-label="Replay a time range">
        <div className="filters">
          <label>
            Since
            <input type="datetime-local" required value={since} onChange={(e) => setSince(e.target.value)} />
          </label>
          <label>
            Until
            <input type="datetime-local" required value={until} onChange={(e) => setUntil(e.target.value)} />
          </label>
          <label className="check">
            <input type="checkbox" checked={onlyFailed} onChange={(e) => setOnlyFailed(e.target.checked)} />
            Only failed deliveries
          </label>
        </div>
        <label>
          Event types (none selected: all)
          <select
            multiple
            size={4}
            value={types}
            onChange={(e) => setTypes([...e.target.selectedOptions].map((o) => o.value))}
          >
            {catalog.data?.eventTypes.map((t) => (
              <option key={t.name}>{t.name}</option>
            ))}
          </select>
        </label>
        <div>
          <button type="submit" disabled={started.fetching}>
            Start replay
          </button>
        </div>
        <ErrorNotice error={started.error} />
      </form>
      {replay && <ReplayProgress id={replay.id} />}
    </details>
  );
}

/** A replay's counts and status as they change (replayProgress), with a cancel button while it runs. */
export function ReplayProgress({ id }: { id: string }) {
  const [progress] = useSubscription({ query: ReplayProgressSubscription, variables: { id } });
  const [cancelled, cancel] = useMutation(CancelReplayMutation);
  const replay = progress.data?.replayProgress;
  const done = replay ? replay.delivered + replay.failed : 0;
  const running = replay && (replay.status === "QUEUED" || replay.status === "RUNNING");
  return (
    <div className="stack replay-progress" data-testid="replay-progress">
      <ErrorNotice error={progress.error ?? cancelled.error} />
      {replay ? (
        <>
          <p>
            <StatusBadge status={cancelled.data?.cancelReplay.status ?? replay.status} /> {done} of{" "}
            {replay.total} deliveries finished ({replay.delivered} succeeded, {replay.failed} failed,{" "}
            {replay.enqueued} enqueued)
          </p>
          <progress
            max={Math.max(replay.total, 1)}
            value={replay.total ? done : replay.status === "COMPLETED" ? 1 : 0}
            aria-label="Replay progress"
          />
          {replay.error && <p className="notice error">{replay.error}</p>}
          {running && (
            <Writable>
              <div>
                <button type="button" className="danger" onClick={() => void cancel({ id })}>
                  Cancel replay
                </button>
              </div>
            </Writable>
          )}
        </>
      ) : (
        <p aria-busy="true">Waiting for progress…</p>
      )}
    </div>
  );
}
