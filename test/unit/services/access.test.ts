import { describe, expect, it } from "vitest";
import {
  checkEndpointReachable,
  checkMayCreateEndpoints,
  checkReplayTarget,
  endpointFilter,
  eventFilter,
  mayReachEndpoint,
} from "../../../src/services/access.ts";
import type { Viewer } from "../../../src/services/auth.ts";

const apiKey: Viewer = { workspaceId: "ws_1", via: "api-key", keyId: "key_1", scopes: ["ADMIN"] };
const portal = (endpointIds: string[] | null): Viewer => ({
  workspaceId: "ws_1",
  via: "portal",
  keyId: null,
  scopes: ["ADMIN"],
  portal: { endpointIds, readOnly: false, expiresAt: new Date(Date.now() + 60_000) },
});
const codeOf = (run: () => void) => {
  try {
    run();
    return null;
  } catch (err) {
    return (err as { extensions?: { code?: string } }).extensions?.code;
  }
};

describe("access scope", () => {
  it("adds no filter for API keys and links to every endpoint", () => {
    for (const viewer of [apiKey, portal(null)]) {
      expect(endpointFilter({ viewer }, "endpointId")).toEqual({});
      expect(eventFilter({ viewer })).toEqual({});
      expect(mayReachEndpoint({ viewer }, "ep_any")).toBe(true);
      expect(mayReachEndpoint({ viewer }, null)).toBe(true);
      expect(codeOf(() => checkMayCreateEndpoints({ viewer }))).toBeNull();
      expect(codeOf(() => checkReplayTarget({ viewer }, null))).toBeNull();
    }
  });

  it("limits an endpoint-scoped link to its endpoints, on any column", () => {
    const caller = { viewer: portal(["ep_1", "ep_2"]) };
    expect(endpointFilter(caller, "id")).toEqual({ id: { in: ["ep_1", "ep_2"] } });
    expect(endpointFilter(caller, "endpointId")).toEqual({ endpointId: { in: ["ep_1", "ep_2"] } });
    expect(eventFilter(caller)).toEqual({ deliveries: { some: { endpointId: { in: ["ep_1", "ep_2"] } } } });
    expect(mayReachEndpoint(caller, "ep_2")).toBe(true);
    expect(mayReachEndpoint(caller, "ep_3")).toBe(false);
    // A row of no single endpoint (a workspace-wide replay) is beyond every endpoint-scoped link.
    expect(mayReachEndpoint(caller, null)).toBe(false);
    expect(codeOf(() => checkEndpointReachable(caller, "ep_3"))).toBe("NOT_FOUND");
    expect(codeOf(() => checkEndpointReachable(caller, "ep_1"))).toBeNull();
    expect(codeOf(() => checkMayCreateEndpoints(caller))).toBe("FORBIDDEN");
    expect(codeOf(() => checkReplayTarget(caller, null))).toBe("FORBIDDEN");
    expect(codeOf(() => checkReplayTarget(caller, "ep_3"))).toBe("NOT_FOUND");
    expect(codeOf(() => checkReplayTarget(caller, "ep_1"))).toBeNull();
  });

  it("refuses a caller without credentials", () => {
    expect(codeOf(() => endpointFilter({ viewer: null }, "endpointId"))).toBe("UNAUTHENTICATED");
  });
});
