/** The credential the portal sends: an API key typed in, or a portal link's token. */
export type Session = { kind: "apiKey" | "portalLink"; credential: string };

const STORAGE_KEY = "hookpost.session";

/**
 * The session: a portal link's token from the URL fragment (`#token=…`) wins and
 * is then removed from the address bar; otherwise what this tab stored.
 */
export function loadSession(): Session | null {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#\/?/, ""));
  const token = fragment.get("token");
  if (token) {
    const session: Session = { kind: "portalLink", credential: token };
    saveSession(session);
    history.replaceState(null, "", `${window.location.pathname}${window.location.search}#/`);
    return session;
  }
  const stored = sessionStorage.getItem(STORAGE_KEY);
  if (!stored) return null;
  try {
    const parsed = JSON.parse(stored) as Session;
    return typeof parsed.credential === "string" ? parsed : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null) {
  if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(STORAGE_KEY);
}
