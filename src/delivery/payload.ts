/**
 * The body every endpoint receives: `{"id","type","timestamp","data"}`. Built
 * from the stored event alone, so every attempt of a delivery sends the same
 * bytes (receivers can dedupe on `id` / the `webhook-id` header).
 */
export function eventBody(event: {
  id: string;
  type: string;
  occurredAt: Date | string;
  payload: unknown;
}): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    timestamp: new Date(event.occurredAt).toISOString(),
    data: event.payload,
  });
}
