import { createServer, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import {
  closedStatement,
  controlMessage,
  createFrameReader,
  createReplyReader,
  type Frame,
  parsedStatement,
  SYNC,
  withNamesPrefixed,
} from "./wireProtocol.ts";

/** Enough for a process's pool and a few CLI commands beside it; each waits its turn anyway. */
const MAX_CONNECTIONS = 32;

export type EmbeddedServer = { port: number; stop(): Promise<void> };

/**
 * Serves one PGlite over the PostgreSQL wire protocol to any number of
 * clients. PGlite is one backend with one session, shared by them all, so:
 * - a client holds the backend from its first message until the backend is
 *   idle again (ReadyForQuery 'I': answered, and no transaction of its open),
 *   so two clients' messages never interleave (pglite-socket interleaves them
 *   message by message, and one client's Bind can then run another's Parse);
 * - each client's statement and portal names are prefixed with its own id,
 *   so a new connection finds none of an old one's and two never clash;
 * - a client that goes away gives its statements back, and a cycle or
 *   transaction it left open is ended (Sync, ROLLBACK) before anyone else runs.
 */
export async function serveEmbeddedDatabase(db: PGlite, host: string): Promise<EmbeddedServer> {
  const turns = createTurns();
  const clients = new Map<Socket, Promise<void>>();
  let nextId = 1;
  let stopping = false;

  const server = createServer((socket) => {
    const served = serveClient(socket, nextId++).finally(() => clients.delete(socket));
    clients.set(socket, served);
  });
  server.maxConnections = MAX_CONNECTIONS;

  async function serveClient(socket: Socket, id: number): Promise<void> {
    socket.setNoDelay(true);
    const frames = createFrameReader();
    const replies = createReplyReader();
    const prefix = `c${id}_`;
    const statements = new Set<string>();
    let holding = false;
    let work = Promise.resolve();

    const run = async (message: Uint8Array) => {
      await db.runExclusive(() =>
        db.execProtocolRawStream(message, {
          onRawData: (data) => {
            replies.read(data);
            if (!socket.destroyed) socket.write(data);
          },
        }),
      );
    };

    const handle = async (frame: Frame) => {
      const control = controlMessage(frame);
      // No TLS here; a cancel request (PGlite cannot interrupt a query) or Terminate ends the connection.
      if (control === "encryption") socket.write("N");
      if (control === "end") socket.end();
      if (control) return;
      const message = frame.untyped ? frame.bytes : withNamesPrefixed(frame.bytes, prefix);
      if (!holding) await turns.acquire(id);
      holding = true;
      // Gone while it waited: what it sent no longer matters, and cleanUp ends its turn.
      if (socket.destroyed || stopping) return;
      const parsed = parsedStatement(message);
      if (parsed) statements.add(parsed);
      const closed = closedStatement(message);
      if (closed) statements.delete(closed);
      await run(message);
      if (replies.readyStatus() === "I") {
        holding = false;
        turns.release(id);
      }
    };

    /** Leaves the shared session as this client found it. */
    const cleanUp = async () => {
      if (!holding) await turns.acquire(id);
      try {
        if (holding) await db.runExclusive(() => db.execProtocolRaw(SYNC));
        if (db.isInTransaction()) await db.exec("ROLLBACK");
        for (const name of statements) {
          // One at a time: a statement the client dropped itself in SQL must not keep the others.
          await db.exec(`DEALLOCATE "${name.replaceAll('"', '""')}"`).catch(() => {});
        }
      } finally {
        turns.release(id);
      }
    };

    socket.on("data", (chunk: Buffer) => {
      for (const frame of frames.push(chunk)) {
        work = work.then(() => handle(frame));
      }
      work = work.catch(() => {
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.on("error", () => socket.destroy());
    });
    await work;
    if (!stopping) await cleanUp().catch(() => {});
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    async stop() {
      stopping = true;
      const closed = new Promise((resolve) => server.close(resolve));
      turns.releaseAll();
      for (const socket of clients.keys()) socket.destroy();
      await Promise.all(clients.values());
      await closed;
    },
  };
}

/** Who holds the backend, and who waits for it, first come first served. */
function createTurns() {
  let holder: number | null = null;
  let open = true;
  const waiting: { id: number; resolve(): void }[] = [];
  return {
    acquire(id: number): Promise<void> {
      if (!open || holder === null || holder === id) {
        holder = id;
        return Promise.resolve();
      }
      return new Promise((resolve) => waiting.push({ id, resolve }));
    },
    release(id: number): void {
      if (holder !== id) return;
      const next = waiting.shift();
      holder = next?.id ?? null;
      next?.resolve();
    },
    /** At stop: nobody waits any more. */
    releaseAll(): void {
      open = false;
      for (const w of waiting.splice(0)) w.resolve();
    },
  };
}
