import type { Delivery } from "./generated/client.ts";
import { Prisma } from "./generated/client.ts";

/** Every Delivery column; checked against the Prisma type, so a new field fails the type check until listed. */
export const DELIVERY_FIELDS = {
  id: true,
  workspaceId: true,
  eventId: true,
  endpointId: true,
  eventType: true,
  status: true,
  trigger: true,
  attempts: true,
  retryStep: true,
  nextAttemptAt: true,
  lastAttemptAt: true,
  lastResponseStatus: true,
  lastError: true,
  succeededAt: true,
  replayId: true,
  createdAt: true,
  updatedAt: true,
} satisfies Record<keyof Delivery, true>;

/**
 * `alias."field" AS "<prefix>field", …`: a column list for raw statements
 * that are prepared (see preparedStatement), where `alias.*` would let an
 * added column change the statement's result type.
 */
export function columnList(alias: string, fields: Record<string, true>, prefix = ""): string {
  return Object.keys(fields)
    .map((field) => `${alias}."${field}" AS "${prefix}${field}"`)
    .join(", ");
}

/** The Delivery columns of `alias`, as the Delivery type names them. */
export function deliveryColumns(alias: string): Prisma.Sql {
  return Prisma.raw(columnList(alias, DELIVERY_FIELDS));
}
