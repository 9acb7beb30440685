import { useEffect, useState } from "react";

/** Pages are addressed by the URL fragment (`#/endpoints/ep_…`), so any static server can serve the portal. */
export type Route =
  | { page: "endpoints" }
  | { page: "newEndpoint" }
  | { page: "endpoint"; id: string }
  | { page: "delivery"; id: string }
  | { page: "live" }
  | { page: "events" }
  | { page: "event"; id: string }
  | { page: "catalog" }
  | { page: "replays" }
  | { page: "apiKeys" };

export function parseRoute(hash: string): Route {
  const [page, id] = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (page === "endpoints" && id === "new") return { page: "newEndpoint" };
  if (page === "endpoints" && id) return { page: "endpoint", id };
  if (page === "deliveries" && id) return { page: "delivery", id };
  if (page === "events" && id) return { page: "event", id };
  if (page === "live" || page === "events" || page === "catalog" || page === "replays") return { page };
  if (page === "api-keys") return { page: "apiKeys" };
  return { page: "endpoints" };
}

export const href = {
  endpoints: "#/endpoints",
  newEndpoint: "#/endpoints/new",
  endpoint: (id: string) => `#/endpoints/${encodeURIComponent(id)}`,
  delivery: (id: string) => `#/deliveries/${encodeURIComponent(id)}`,
  event: (id: string) => `#/events/${encodeURIComponent(id)}`,
  live: "#/live",
  events: "#/events",
  catalog: "#/catalog",
  replays: "#/replays",
  apiKeys: "#/api-keys",
};

export function navigate(to: string) {
  window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => {
      setRoute(parseRoute(window.location.hash));
      // A new page starts at its top, as it would after a full load.
      window.scrollTo(0, 0);
    };
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
