/**
 * Live messages carried between processes over Redis pub/sub. Channels are
 * scoped by workspace (or replay id, which is itself workspace-owned), so a
 * subscriber can only ever hear its own workspace.
 */
import type { DeliveryAttemptView, EndpointView, ReplayView } from "./views.ts";

export type LiveTopics = {
  "delivery-attempt": [workspaceId: string, payload: DeliveryAttemptView];
  "endpoint-updated": [workspaceId: string, payload: EndpointView];
  "replay-progress": [replayId: string, payload: ReplayView];
};
