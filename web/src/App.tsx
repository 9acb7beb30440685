import { useEffect, useMemo, useState } from "react";
import { Provider, useQuery } from "urql";
import { loadSession, type Session, saveSession } from "./auth.ts";
import { createApiClient } from "./client.ts";
import { AccessContext, ErrorNotice, Time } from "./components.tsx";
import { graphql } from "./gql/index.ts";
import { ApiKeysPage } from "./pages/ApiKeys.tsx";
import { CatalogPage } from "./pages/Catalog.tsx";
import { DeliveryPage } from "./pages/Delivery.tsx";
import { EndpointPage } from "./pages/Endpoint.tsx";
import { EndpointsPage, NewEndpointPage } from "./pages/Endpoints.tsx";
import { EventPage, EventsPage } from "./pages/Events.tsx";
import { LiveFeedPage } from "./pages/LiveFeed.tsx";
import { ReplaysPage } from "./pages/Replays.tsx";
import { SignIn } from "./pages/SignIn.tsx";
import { href, type Route, useRoute } from "./route.ts";

export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [refused, setRefused] = useState(false);
  const signIn = (next: Session | null) => {
    saveSession(next);
    setRefused(false);
    setSession(next);
  };
  const api = useMemo(
    () =>
      session &&
      createApiClient(session, (code) => {
        if (code === 4401 || code === 4403) setRefused(true);
      }),
    [session],
  );
  useEffect(
    () => () => {
      void api?.dispose();
    },
    [api],
  );
  if (!session || !api) return <SignIn onSignIn={signIn} />;
  return (
    <Provider value={api.client}>
      <Shell session={session} refused={refused} onSignOut={() => signIn(null)} />
    </Provider>
  );
}

const NAV: { label: string; to: string; pages: Route["page"][]; apiKeyOnly?: boolean }[] = [
  { label: "Endpoints", to: href.endpoints, pages: ["endpoints", "newEndpoint", "endpoint", "delivery"] },
  { label: "Live feed", to: href.live, pages: ["live"] },
  { label: "Events", to: href.events, pages: ["events", "event"] },
  { label: "Event types", to: href.catalog, pages: ["catalog"] },
  { label: "Replays", to: href.replays, pages: ["replays"] },
  { label: "API keys", to: href.apiKeys, pages: ["apiKeys"], apiKeyOnly: true },
];

const ViewerQuery = graphql(`
  query PortalViewer {
    viewer {
      kind
      readOnly
      workspaceName
      endpointIds
      expiresAt
    }
  }
`);

function Shell({
  session,
  refused,
  onSignOut,
}: {
  session: Session;
  refused: boolean;
  onSignOut: () => void;
}) {
  const route = useRoute();
  // What the credential may do decides which controls exist: nothing is shown before it is known.
  const [viewerResult] = useQuery({ query: ViewerQuery });
  const viewer = viewerResult.data?.viewer;
  const access = useMemo(
    () => ({
      readOnly: viewer?.readOnly ?? true,
      portalLink: viewer?.kind === "PORTAL",
      scopedToEndpoints: Boolean(viewer?.endpointIds),
    }),
    [viewer],
  );
  if (!viewer)
    return (
      <main id="main" className="signin">
        <h1>Hookpost</h1>
        {viewerResult.error ? (
          <>
            <ErrorNotice error={viewerResult.error} />
            <p>
              {session.kind === "portalLink"
                ? "This portal link is not valid or has expired: ask for a new one."
                : "Check the API key and sign in again."}
            </p>
            <button type="button" onClick={onSignOut}>
              Back to sign-in
            </button>
          </>
        ) : (
          <p aria-busy="true">Signing in…</p>
        )}
      </main>
    );
  return (
    <AccessContext.Provider value={access}>
      <button type="button" className="skip" onClick={skipToMain}>
        Skip to content
      </button>
      <header className="top">
        <a className="brand" href={href.endpoints}>
          Hookpost
        </a>
        <nav aria-label="Main">
          {NAV.filter((item) => !item.apiKeyOnly || !access.portalLink).map((item) => (
            <a
              key={item.to}
              href={item.to}
              aria-current={item.pages.includes(route.page) ? "page" : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <div className="session">
          <span className="muted">{viewer.workspaceName}</span>
          {access.readOnly && <span className="badge muted">Read-only</span>}
          {viewer.expiresAt && (
            <span className="muted">
              Link valid until <Time at={viewer.expiresAt} />
            </span>
          )}
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {refused && (
          <div className="notice error" role="alert">
            <code>UNAUTHENTICATED</code> The live connection was refused: the key or link is no longer valid.
            Sign out and sign in again.
          </div>
        )}
        <Page route={route} />
      </main>
    </AccessContext.Provider>
  );
}

function skipToMain() {
  document.getElementById("main")?.focus();
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "endpoints":
      return <EndpointsPage />;
    case "newEndpoint":
      return <NewEndpointPage />;
    case "endpoint":
      return <EndpointPage id={route.id} />;
    case "delivery":
      return <DeliveryPage id={route.id} />;
    case "live":
      return <LiveFeedPage />;
    case "events":
      return <EventsPage />;
    case "event":
      return <EventPage id={route.id} />;
    case "catalog":
      return <CatalogPage />;
    case "replays":
      return <ReplaysPage />;
    case "apiKeys":
      return <ApiKeysPage />;
  }
}
