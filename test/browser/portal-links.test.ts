import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portalKey, signPortalToken } from "../../src/services/portalSessions.ts";
import {
  CreateEndpointDocument,
  CreatePortalSessionDocument,
  ListDeliveriesDocument,
  PublishEventDocument,
  UpdateEndpointDocument,
} from "../generated/graphql.ts";
import { accessibilityViolations, launchChromium, portalUrlOf } from "../support/browser.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

const WAIT_MS = 90_000;
/** Buttons and links that change something; a read-only session must show none of them. */
const MUTATION_CONTROLS =
  /^(New endpoint|Add your first endpoint|Edit|Enable|Disable|Delete|Send test event|Rotate secret|Replay|Start replay|Cancel replay|Create key|Revoke.*)$/;

describe("portal links in Chromium", () => {
  let hookpost: TestHookpost;
  let receiver: Receiver;
  let browser: Browser;
  let portalUrl: string;
  let mine: { id: string; url: string };
  let theirs: { id: string; url: string };
  const pages: Page[] = [];

  const api = () => hookpost.workspace.client;
  const publish = () =>
    api().ok(PublishEventDocument, { input: { type: "email.bounced", data: { to: "b@example.com" } } });
  const createEndpoint = async (path: string) => {
    const url = `${receiver.url}/${path}`;
    const { createEndpoint } = await api().ok(CreateEndpointDocument, { input: { url, eventTypes: ["*"] } });
    return { id: createEndpoint.endpoint.id, url };
  };
  const portalLink = async (input: { readOnly?: boolean; endpointIds?: string[] }) =>
    (await api().ok(CreatePortalSessionDocument, { input })).createPortalSession.token;
  /** A fresh tab opened on a portal link, as a customer would. */
  const openLink = async (token: string) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(WAIT_MS);
    pages.push(page);
    await page.goto(`${portalUrl}#token=${token}`);
    return page;
  };
  const goTo = (page: Page, hash: string) => page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  const mutationControls = async (page: Page) => {
    const names = await page.getByRole("button").or(page.getByRole("link")).allTextContents();
    return names.map((n) => n.trim()).filter((n) => MUTATION_CONTROLS.test(n));
  };

  beforeAll(async () => {
    [hookpost, receiver, browser] = await Promise.all([
      startTestHookpost(),
      startReceiver(),
      launchChromium(),
    ]);
    portalUrl = portalUrlOf(hookpost.url);
    mine = await createEndpoint("mine");
    theirs = await createEndpoint("theirs");
    await publish();
    await waitFor(() => receiver.requests.length >= 2, "both endpoints to receive the first event");
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await hookpost?.stop();
  });

  it("shows a read-only link everything but no control that changes anything; the API refuses the change", async () => {
    const token = await portalLink({ readOnly: true });
    const page = await openLink(token);
    await page.getByText("Read-only").waitFor();
    expect(page.url()).not.toContain(token);
    await page.getByRole("link", { name: mine.url }).waitFor();
    expect(await mutationControls(page)).toEqual([]);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.getByRole("link", { name: mine.url }).click();
    await page.locator("[data-delivery]").first().waitFor();
    expect(await mutationControls(page)).toEqual([]);
    expect(await accessibilityViolations(page)).toEqual([]);

    await page.locator("[data-delivery] a").first().click();
    await page.getByTestId("attempts").locator("li").first().waitFor();
    expect(await mutationControls(page)).toEqual([]);

    for (const hash of ["#/replays", "#/live", "#/events"]) {
      await goTo(page, hash);
      await page.locator("main h1").first().waitFor();
      expect(await mutationControls(page)).toEqual([]);
    }
    expect(await page.getByRole("link", { name: "API keys" }).count()).toBe(0);

    const refused = await hookpost.client(`Bearer ${token}`).fails(UpdateEndpointDocument, {
      id: mine.id,
      input: { enabled: false },
    });
    expect(refused.code).toBe("FORBIDDEN");
  });

  it("never shows a link scoped to one endpoint another endpoint's deliveries, live or listed", async () => {
    const page = await openLink(await portalLink({ endpointIds: [mine.id] }));
    await page.getByRole("link", { name: mine.url }).waitFor();
    expect(await page.getByText(theirs.url).count()).toBe(0);
    expect(await page.getByRole("link", { name: "New endpoint" }).count()).toBe(0);

    const subscribed = new Promise<void>((resolve) => {
      page.on("websocket", (ws) =>
        ws.on("framesent", (frame) => {
          if (String(frame.payload).includes("PortalLiveAttempts")) resolve();
        }),
      );
    });
    await goTo(page, "#/live");
    await subscribed;
    const first = (await publish()).publishEvent;
    const second = (await publish()).publishEvent;
    // Both endpoints receive both events; the page must show two attempts, both of its own endpoint.
    await waitFor(
      () => receiver.requests.filter((r) => r.body.includes(second.id)).length === 2,
      "the second event at both endpoints",
    );
    await page.locator("[data-testid=live-rows] li").nth(1).waitFor();
    const shownEndpoints = await page
      .locator("[data-testid=live-rows] li")
      .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-endpoint")));
    expect(shownEndpoints).toEqual([mine.id, mine.id]);
    expect(await page.getByText(theirs.url).count()).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);

    const theirDelivery = (
      await api().ok(ListDeliveriesDocument, {
        first: 1,
        filter: { endpointId: theirs.id, eventId: first.id },
      })
    ).deliveries.edges[0]?.node.id;
    expect(theirDelivery).toBeDefined();
    await goTo(page, `#/deliveries/${theirDelivery}`);
    await page.getByText("Delivery not found").or(page.getByRole("alert")).first().waitFor();
    await goTo(page, `#/endpoints/${theirs.id}`);
    await page.getByText("Endpoint not found").or(page.getByRole("alert")).first().waitFor();
    await goTo(page, "#/events");
    await page.getByRole("link", { name: first.id }).click();
    await page.getByRole("heading", { name: "Deliveries" }).waitFor();
    expect(await page.getByText(mine.url).count()).toBeGreaterThan(0);
    expect(await page.getByText(theirs.url).count()).toBe(0);
  });

  it("refuses an expired link and says so", async () => {
    const claim = { workspaceId: hookpost.workspace.id, endpointIds: null, readOnly: false };
    const { token } = await signPortalToken(
      portalKey(hookpost.config.auth),
      claim,
      60,
      new Date(Date.now() - 3_600_000),
    );
    const page = await openLink(token);
    await page.getByRole("alert").getByText("UNAUTHENTICATED").waitFor();
    await page.getByText("This portal link is not valid or has expired").waitFor();
    expect(await page.getByRole("navigation", { name: "Main" }).count()).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
  });
});
