// A webhook receiver for trying Hookpost on one machine (README, "Your first
// webhook"): it verifies each POST's Standard Webhooks signature with the
// endpoint's secret (WEBHOOK_SECRET) and prints one line per request.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("Set WEBHOOK_SECRET to the endpoint's whsec_… secret (createEndpoint returns it).");
  process.exit(1);
}
const webhook = new Webhook(secret);
const port = Number(process.env.RECEIVER_PORT ?? 3000);

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    try {
      const event = webhook.verify(Buffer.concat(chunks).toString("utf8"), req.headers);
      console.log(`verified ${event.type} ${event.id}`);
      res.writeHead(204).end();
    } catch (error) {
      console.log(`rejected ${req.method} ${req.url}: ${error instanceof Error ? error.message : error}`);
      res.writeHead(400).end();
    }
  });
});
server.listen(port, "127.0.0.1", () => console.log(`receiver listening on http://127.0.0.1:${port}/hooks`));
