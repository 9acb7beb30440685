/**
 * Live messages carried between processes over Redis pub/sub. Channels are
 * scoped by workspace (or replay id, which is itself workspace-owned), so a
 * subscriber can only ever hear its own workspace.
 */
import { type DeliveryAttemptView, type EndpointView, endpointView, type ReplayView } from "./views.ts";

export type LiveTopics = {
  "delivery-attempt": [workspaceId: string, payload: DeliveryAttemptView];
  "endpoint-updated": [workspaceId: string, payload: EndpointView];
  "replay-progress": [replayId: string, payload: ReplayView];
};

export type LiveTopic = keyof LiveTopics;
export type LivePayload<T extends LiveTopic> = LiveTopics[T][1];

/** What of each payload is put on the wire. */
export const wireFormat: { [T in LiveTopic]: (payload: LivePayload<T>) => LivePayload<T> } = {
  "delivery-attempt": (attempt) => ({ ...attempt, endpoint: endpointView(attempt.endpoint) }),
  "endpoint-updated": endpointView,
  "replay-progress": (replay) => replay,
};

/** The Redis channel of one topic and key; it carries the Redis prefix so two deployments sharing a Redis never cross. */
export function liveChannel(prefix: string, topic: LiveTopic, key: string): string {
  return `${prefix}:live:${topic}:${key}`;
}

/** Where a process announces a channel it has just subscribed to, so publishers that stopped publishing it (nobody listened) resume. */
export function listeningChannel(prefix: string): string {
  return `${prefix}:live-listening`;
}
