import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Starts listening; resolves with the port it got (port 0 lets the system pick), rejects if it is taken. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}
