import { createContext, type ReactNode, useContext, useState } from "react";
import type { CombinedError } from "urql";

/**
 * What the signed-in credential may do: a read-only portal link sees no mutation
 * controls; one scoped to some endpoints cannot add endpoints nor replay workspace-wide.
 */
export type Access = { readOnly: boolean; portalLink: boolean; scopedToEndpoints: boolean };
export const AccessContext = createContext<Access>({
  readOnly: true,
  portalLink: false,
  scopedToEndpoints: false,
});
export const useAccess = () => useContext(AccessContext);

/** Shown only to sessions that may change things (`workspaceWide`: and reach every endpoint). */
export function Writable({
  children,
  workspaceWide = false,
}: {
  children: ReactNode;
  workspaceWide?: boolean;
}) {
  const access = useAccess();
  return access.readOnly || (workspaceWide && access.scopedToEndpoints) ? null : children;
}

const ERROR_HINTS: Record<string, string> = {
  UNAUTHENTICATED: "The key or link is not valid, was revoked or has expired: sign in again.",
  FORBIDDEN: "This credential may not do that.",
  NOT_FOUND: "It does not exist, or not in this workspace.",
  BAD_USER_INPUT: "Check the highlighted value and try again.",
  RATE_LIMITED: "Too many requests: wait a moment and try again.",
  SERVICE_UNAVAILABLE: "Hookpost cannot reach its database or Redis right now: try again shortly.",
};

/** Every error of a failed operation with its code, what it means and what to do. */
export function ErrorNotice({ error }: { error: CombinedError | undefined | null }) {
  if (!error) return null;
  const items = error.graphQLErrors.length
    ? error.graphQLErrors.map((e) => ({
        code: typeof e.extensions?.code === "string" ? e.extensions.code : "ERROR",
        message: e.message,
        field: typeof e.extensions?.field === "string" ? e.extensions.field : undefined,
      }))
    : [{ code: "NETWORK", message: error.networkError?.message ?? error.message, field: undefined }];
  return (
    <div className="notice error" role="alert">
      {items.map((item, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: errors have no identity of their own
        <p key={i} data-code={item.code}>
          <code>{item.code}</code> {item.message}
          {item.field ? ` (field: ${item.field})` : ""}
          <br />
          <small>{ERROR_HINTS[item.code] ?? "Hookpost could not be reached or failed: try again."}</small>
        </p>
      ))}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}

export function Badge({ tone, children }: { tone: "ok" | "bad" | "warn" | "muted"; children: ReactNode }) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

const STATUS_TONES: Record<string, "ok" | "bad" | "warn" | "muted"> = {
  SUCCEEDED: "ok",
  COMPLETED: "ok",
  FAILED: "bad",
  CANCELLED: "muted",
  RETRYING: "warn",
  PENDING: "muted",
  QUEUED: "muted",
  RUNNING: "warn",
};
export const StatusBadge = ({ status }: { status: string }) => (
  <Badge tone={STATUS_TONES[status] ?? "muted"}>{status}</Badge>
);

export function Time({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={date.toISOString()}>
      {date.toLocaleString()}
    </time>
  );
}

export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  const text = typeof value === "string" ? prettyIfJson(value) : JSON.stringify(value, null, 2);
  return (
    <section aria-label={label}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
      <pre className="code" tabIndex={0}>
        {text}
      </pre>
    </section>
  );
}

function prettyIfJson(text: string) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** datetime-local input value ↔ ISO timestamp. */
export const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);
export function toLocalInput(date: Date) {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Cursor pagination, newest first: the cursors of the pages before this one. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<string[]>([]);
  return {
    after: cursors.at(-1) ?? null,
    reset: () => setCursors([]),
    pager: (pageInfo: { hasNextPage: boolean; endCursor?: string | null } | undefined) => (
      <div className="pager">
        {cursors.length > 0 && (
          <button type="button" className="secondary" onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer
          </button>
        )}
        {pageInfo?.hasNextPage && pageInfo.endCursor && (
          <button
            type="button"
            className="secondary"
            onClick={() => setCursors([...cursors, pageInfo.endCursor ?? ""])}
          >
            Older
          </button>
        )}
      </div>
    ),
  };
}
