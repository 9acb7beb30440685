import { useState } from "react";
import { useQuery } from "urql";
import { Empty, ErrorNotice, StatusBadge, Time, useCursorPages, Writable } from "../components.tsx";
import { graphql } from "../gql/index.ts";
import { ReplayProgress, ReplayRange } from "./ReplayRange.tsx";

const ReplaysQuery = graphql(`
  query PortalReplays($first: Int!, $after: String) {
    replays(first: $first, after: $after) {
      edges {
        node {
          id
          status
          since
          until
          onlyFailed
          eventTypes
          total
          delivered
          failed
          createdAt
          endpoint {
            id
            url
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

export function ReplaysPage() {
  const pages = useCursorPages();
  const [watching, setWatching] = useState<string | null>(null);
  const [result] = useQuery({
    query: ReplaysQuery,
    variables: { first: 25, after: pages.after },
    requestPolicy: "cache-and-network",
  });
  const replays = result.data?.replays.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="replays-title">
      <h1 id="replays-title">Replays</h1>
      <Writable workspaceWide>
        <ReplayRange />
      </Writable>
      <ErrorNotice error={result.error} />
      {result.data && replays.length === 0 && (
        <Empty title="No replays yet">
          <p>Replay a time range to re-deliver the events your endpoints missed.</p>
        </Empty>
      )}
      {replays.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Range</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
              </tr>
            </thead>
            <tbody>
              {replays.map((replay) => (
                <tr key={replay.id}>
                  <td>
                    <Time at={replay.createdAt} />
                  </td>
                  <td>
                    <Time at={replay.since} /> – <Time at={replay.until} />
                    {replay.onlyFailed && <div className="muted">only failed</div>}
                  </td>
                  <td>{replay.endpoint?.url ?? "all matching"}</td>
                  <td>
                    <StatusBadge status={replay.status} />
                  </td>
                  <td>
                    {replay.delivered + replay.failed} / {replay.total}{" "}
                    <button type="button" className="link" onClick={() => setWatching(replay.id)}>
                      Watch
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {pages.pager(result.data?.replays.pageInfo)}
      {watching && <ReplayProgress key={watching} id={watching} />}
    </section>
  );
}
