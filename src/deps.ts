import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import type { HttpSender } from "./delivery/httpSender.ts";
import type { AddressPolicy } from "./delivery/outboundGuard.ts";
import type { SnsClient } from "./inbound/snsClient.ts";
import type { Logger } from "./logger.ts";
import type { LivePubSub } from "./pubsub/pubsub.ts";
import type { Queues } from "./queue/queues.ts";
import type { RateLimits } from "./services/rateLimits.ts";

/** What domain services need, built once per process in src/runtime.ts and passed in explicitly. */
export type Deps = Readonly<{
  config: Config;
  prisma: Db;
  queues: Queues;
  pubsub: LivePubSub;
  sender: HttpSender;
  addressPolicy: AddressPolicy;
  /** Amazon SNS certificates and subscription confirmations for AMAZON_SES inbound sources. */
  sns: SnsClient;
  logger: Logger;
  /** Shared by every api process through Redis (src/services/rateLimits.ts). */
  rateLimits: RateLimits;
}>;
