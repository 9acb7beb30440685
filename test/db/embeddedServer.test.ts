import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedServer, serveEmbeddedDatabase } from "../../src/db/embeddedServer.ts";
import { waitFor } from "../support/wait.ts";

// PGlite sets up PostgreSQL in WebAssembly: seconds idle, much longer on a loaded machine.
const TIMEOUT_MS = 180_000;

describe("the embedded database's server, with several clients", { timeout: TIMEOUT_MS }, () => {
  let db: PGlite;
  let server: EmbeddedServer;
  const connect = async () => {
    const client = new pg.Client({
      connectionString: `postgresql://postgres@127.0.0.1:${server.port}/postgres`,
    });
    await client.connect();
    return client;
  };
  beforeAll(async () => {
    db = await PGlite.create();
    server = await serveEmbeddedDatabase(db, "127.0.0.1");
  }, TIMEOUT_MS);
  afterAll(async () => {
    await server?.stop();
    await db?.close();
  });

  it("answers each client its own queries when they run at once", async () => {
    const clients = await Promise.all([connect(), connect(), connect()]);
    try {
      // Unnamed extended-protocol statements: interleaved messages would bind one client's parameters to another's.
      const answers = await Promise.all(
        clients.flatMap((client, c) =>
          Array.from({ length: 30 }, (_, i) =>
            client
              .query(`SELECT $1::int AS n, '${c}' AS c`, [i])
              .then((r) => `${r.rows[0].c}:${r.rows[0].n}`),
          ),
        ),
      );
      expect(answers).toEqual(clients.flatMap((_, c) => Array.from({ length: 30 }, (_, i) => `${c}:${i}`)));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it("lets two clients prepare statements of one name, and a new connection prepare it again", async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    await a.query({ name: "same", text: "SELECT 1 AS n" });
    await b.query({ name: "same", text: "SELECT 2 AS n" });
    expect((await a.query({ name: "same", text: "SELECT 1 AS n" })).rows).toEqual([{ n: 1 }]);
    expect((await b.query({ name: "same", text: "SELECT 2 AS n" })).rows).toEqual([{ n: 2 }]);
    await a.end();
    const c = await connect();
    try {
      expect((await c.query({ name: "same", text: "SELECT 3 AS n" })).rows).toEqual([{ n: 3 }]);
      // The closed connection's statement was given back; the live ones stayed.
      await waitFor(async () => {
        const { rows } = await c.query("SELECT name FROM pg_prepared_statements WHERE name LIKE '%_same'");
        return rows.length === 2;
      }, "the closed connection's statement to be dropped");
    } finally {
      await Promise.all([b.end(), c.end()]);
    }
  });

  it("keeps others out of a client's transaction, and rolls back one its client abandoned", async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    try {
      await a.query("CREATE TABLE IF NOT EXISTS t (n int)");
      await a.query("BEGIN");
      await a.query("INSERT INTO t VALUES (1)");
      // b waits for a's transaction: it runs after it, not inside it.
      const counted = b.query("SELECT count(*)::int AS n FROM t");
      await a.query("INSERT INTO t VALUES (2)");
      await a.query("ROLLBACK");
      expect((await counted).rows).toEqual([{ n: 0 }]);

      const c = await connect();
      c.on("error", () => {});
      await c.query("BEGIN");
      await c.query("INSERT INTO t VALUES (3)");
      // A failed statement leaves the transaction aborted, then the client vanishes.
      await c.query("SELECT 1/0").catch(() => {});
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      expect((await b.query("SELECT count(*)::int AS n FROM t")).rows).toEqual([{ n: 0 }]);
      expect((await b.query("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });
});
