import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { StartupError } from "../startupError.ts";

/** Starts listening; resolves with the port it got (port 0 lets the system pick), rejects if it is taken. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Fails with one clear line when `port` is taken, before a server that more
 * listeners share (the WebSocket server re-emits its errors with stack traces)
 * tries it. `setting` names the variable that chose the port.
 */
export async function ensurePortFree(port: number, host: string, setting: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await listen(probe, port, host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new StartupError(
        `port ${port} is already in use; stop what uses it, or set ${setting} to a free port`,
      );
    }
    if (code === "EACCES")
      throw new StartupError(`port ${port} needs privileges; set ${setting} to 1024 or above`);
    throw err;
  } finally {
    await new Promise((resolve) => probe.close(resolve));
  }
}
