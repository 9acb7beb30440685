import { type FormEvent, useId, useState } from "react";
import { type CombinedError, useQuery } from "urql";
import { ErrorNotice } from "../components.tsx";
import { graphql } from "../gql/index.ts";

export const EventTypesQuery = graphql(`
  query PortalEventTypes {
    eventTypes {
      name
      description
      operational
      example
    }
  }
`);

export type EndpointFormValues = {
  url: string;
  description: string;
  eventTypes: string[];
  streams: string[];
  headers: Record<string, string>;
  rateLimitPerSecond: number | null;
  retrySchedule: string[] | null;
  retryForSeconds: number | null;
};

const ALL = "*";

/** Create and edit share one form: URL, description, event types from the catalog, streams, custom headers. */
export function EndpointForm({
  initial,
  submitLabel,
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  initial?: EndpointFormValues;
  submitLabel: string;
  busy: boolean;
  error: CombinedError | undefined;
  onSubmit: (values: EndpointFormValues) => void | Promise<void>;
  onCancel?: () => void;
}) {
  const [catalog] = useQuery({ query: EventTypesQuery });
  const [url, setUrl] = useState(initial?.url ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [types, setTypes] = useState<string[]>(initial?.eventTypes ?? [ALL]);
  const [streams, setStreams] = useState((initial?.streams ?? []).join(", "));
  const [headers, setHeaders] = useState(
    Object.entries(initial?.headers ?? {})
      .map(([name, value]) => `${name}: ${value}`)
      .join("\n"),
  );
  const [headerError, setHeaderError] = useState<string | null>(null);
  const [rateLimit, setRateLimit] = useState(String(initial?.rateLimitPerSecond ?? ""));
  const [schedule, setSchedule] = useState((initial?.retrySchedule ?? []).join(", "));
  const [retryFor, setRetryFor] = useState(String(initial?.retryForSeconds ?? ""));
  const ids = useId();
  const toggle = (name: string, on: boolean) => {
    if (name === ALL) setTypes(on ? [ALL] : []);
    else
      setTypes((current) =>
        on ? [...current.filter((t) => t !== ALL), name] : current.filter((t) => t !== name),
      );
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseHeaders(headers);
    if (typeof parsed === "string") {
      setHeaderError(parsed);
      return;
    }
    setHeaderError(null);
    void onSubmit({
      url: url.trim(),
      description: description.trim(),
      eventTypes: types,
      streams: splitList(streams),
      headers: parsed,
      rateLimitPerSecond: rateLimit ? Number(rateLimit) : null,
      retrySchedule: schedule.trim() ? splitList(schedule) : null,
      retryForSeconds: retryFor ? Number(retryFor) : null,
    });
  };
  return (
    <form className="card stack" onSubmit={submit} aria-label={submitLabel}>
      <ErrorNotice error={error} />
      <label>
        URL
        <input
          type="url"
          required
          placeholder="https://example.com/webhooks"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
        />
      </label>
      <label>
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <fieldset>
        <legend>Event types</legend>
        <ErrorNotice error={catalog.error} />
        <div className="checks">
          <label className="check">
            <input
              type="checkbox"
              checked={types.includes(ALL)}
              onChange={(e) => toggle(ALL, e.target.checked)}
            />
            All event types (*)
          </label>
          {catalog.data?.eventTypes.map((type) => (
            <label className="check" key={type.name} title={type.description}>
              <input
                type="checkbox"
                checked={types.includes(type.name)}
                onChange={(e) => toggle(type.name, e.target.checked)}
              />
              {type.name}
            </label>
          ))}
        </div>
        {types.length === 0 && <p className="muted">Pick at least one type.</p>}
      </fieldset>
      <label>
        Streams or sending domains
        <input
          aria-describedby={`${ids}-streams`}
          value={streams}
          onChange={(e) => setStreams(e.target.value)}
          placeholder="outbound, mail.example.com"
        />
        <small id={`${ids}-streams`} className="muted">
          Comma-separated; empty receives every stream.
        </small>
      </label>
      <label>
        Custom headers
        <textarea
          aria-describedby={`${ids}-headers`}
          rows={3}
          value={headers}
          onChange={(e) => setHeaders(e.target.value)}
          placeholder="X-Team: billing"
        />
        <small id={`${ids}-headers`} className="muted">
          One per line, as Name: value.
        </small>
      </label>
      <fieldset>
        <legend>Delivery policy</legend>
        <div className="filters">
          <label>
            Rate limit (deliveries a second)
            <input
              type="number"
              min={1}
              value={rateLimit}
              onChange={(e) => setRateLimit(e.target.value)}
              placeholder="no limit"
            />
          </label>
          <label>
            Retry schedule
            <input
              value={schedule}
              onChange={(e) => setSchedule(e.target.value)}
              placeholder="server default"
            />
          </label>
          <label>
            Give up after (seconds)
            <input
              type="number"
              min={1}
              value={retryFor}
              onChange={(e) => setRetryFor(e.target.value)}
              placeholder="when the schedule ends"
            />
          </label>
        </div>
        <small className="muted">
          Retry delays are comma-separated, e.g. 5s, 30s, 2m, 1h; empty fields keep the defaults.
        </small>
      </fieldset>
      {headerError && (
        <p className="notice error" role="alert">
          {headerError}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={busy || types.length === 0}>
          {submitLabel}
        </button>
        {onCancel && (
          <button type="button" className="secondary" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

const splitList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function parseHeaders(text: string): Record<string, string> | string {
  const headers: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const colon = line.indexOf(":");
    if (colon < 1) return `"${line.trim()}" is not a header: write Name: value.`;
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** A signing secret, shown this once. */
export function SecretOnce({ secret, title }: { secret: string; title: string }) {
  return (
    <div className="notice ok" role="status">
      <p>
        <strong>{title}.</strong> Copy the signing secret now: it is not shown again.
      </p>
      <p>
        <code className="secret" data-testid="secret">
          {secret}
        </code>{" "}
        <button
          type="button"
          className="secondary"
          onClick={() => void navigator.clipboard?.writeText(secret)}
        >
          Copy
        </button>
      </p>
    </div>
  );
}
