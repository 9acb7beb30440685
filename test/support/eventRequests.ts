import type { Behaviour, ReceivedRequest, Receiver } from "./receiver.ts";

/**
 * Receivers listen on ephemeral ports, and a port another test file's receiver
 * just closed may be handed to a new one while that file's Hookpost is still
 * retrying to it. So tests look at their own events' requests (by the
 * webhook-id header, the event id) rather than at everything a receiver got.
 */

/** The requests a receiver got for one event, in arrival order. */
export function requestsFor(receiver: Receiver, eventId: string): ReceivedRequest[] {
  return receiver.requests.filter((req) => req.headers["webhook-id"] === eventId);
}

/** Which of `eventIds` reached the receiver, sorted. */
export function receivedOf(receiver: Receiver, ...eventIds: string[]): string[] {
  return eventIds.filter((id) => requestsFor(receiver, id).length > 0).sort();
}

/**
 * Answers `first` to the first request for each event and `then` to every
 * later one — counted per event, so a stray request cannot take the "first".
 */
export function firstAttemptPerEvent(
  first: Behaviour,
  then: Behaviour = { status: 200 },
): (req: ReceivedRequest) => Behaviour {
  const seen = new Set<string>();
  return (req) => {
    const eventId = String(req.headers["webhook-id"]);
    if (seen.has(eventId)) return then;
    seen.add(eventId);
    return first;
  };
}
