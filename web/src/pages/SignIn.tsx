import { type FormEvent, useState } from "react";
import type { Session } from "../auth.ts";

export function SignIn({ onSignIn }: { onSignIn: (session: Session) => void }) {
  const [key, setKey] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) onSignIn({ kind: "apiKey", credential: key.trim() });
  };
  return (
    <main id="main" className="signin">
      <h1>Hookpost</h1>
      <p>Sign in with an API key of your workspace, or open the portal link you were given.</p>
      <form onSubmit={submit} className="card stack">
        <label>
          API key
          <input
            type="password"
            autoComplete="off"
            placeholder="hp_…"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            required
          />
        </label>
        <p className="muted">
          <small>Kept in this tab only (session storage); closing the tab signs you out.</small>
        </p>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
