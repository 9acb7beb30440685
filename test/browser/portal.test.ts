import { mkdir } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateEndpointDocument,
  ListDeliveriesDocument,
  ListEventsDocument,
  PublishEventDocument,
} from "../generated/graphql.ts";
import {
  accessibilityViolations,
  launchChromium,
  portalUrlOf,
  signInWithApiKey,
} from "../support/browser.ts";
import { startTestHookpost, type TestHookpost } from "../support/hookpost.ts";
import { type Receiver, startReceiver } from "../support/receiver.ts";
import { waitFor } from "../support/wait.ts";

/** `UPDATE_SCREENSHOTS=1` refreshes the README's pictures; other runs leave the checkout alone. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? new URL("../../docs/images/", import.meta.url) : null;
const screenshot = async (page: Page, name: string) => {
  const png = await page.screenshot(SCREENSHOTS ? { path: new URL(name, SCREENSHOTS).pathname } : {});
  expect(png.subarray(1, 4).toString()).toBe("PNG");
};
const WAIT_MS = 90_000;

describe("the portal in Chromium", () => {
  let hookpost: TestHookpost;
  let receiver: Receiver;
  let portalUrl: string;
  let browser: Browser;
  let page: Page;
  let endpointId: string;
  let secret: string;

  beforeAll(async () => {
    [hookpost, receiver, browser] = await Promise.all([
      startTestHookpost(),
      startReceiver(),
      launchChromium(),
    ]);
    portalUrl = portalUrlOf(hookpost.url);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(WAIT_MS);
    if (SCREENSHOTS) await mkdir(SCREENSHOTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await hookpost?.stop();
  });

  const goTo = async (hash: string) => {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  };
  const expectAccessible = async () => expect(await accessibilityViolations(page)).toEqual([]);
  const publish = (type: string, data: Record<string, unknown> = {}) =>
    hookpost.workspace.client.ok(PublishEventDocument, {
      input: { type, data: { to: "ana@example.com", ...data } },
    });

  it("signs in with an API key and creates an endpoint through the form", async () => {
    await page.goto(portalUrl);
    await expectAccessible();
    await signInWithApiKey(page, portalUrl, hookpost.workspace.apiKey);
    await page.getByText("No endpoints yet").waitFor();
    await expectAccessible();

    await page.getByRole("link", { name: "New endpoint" }).click();
    await page.getByLabel("URL", { exact: true }).fill(receiver.url);
    await page.getByLabel("Description").fill("Billing team");
    await page.getByLabel("Custom headers").fill("X-Team: billing");
    await page.getByLabel(/Rate limit/).fill("50");
    await page.getByLabel("Retry schedule").fill("5s, 30s, 2m");
    await page.getByText("email.bounced").waitFor();
    await expectAccessible();
    await page.getByRole("button", { name: "Create endpoint" }).click();
    secret = (await page.getByTestId("secret").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole("button", { name: "Open the endpoint" }).click();
    await page.getByRole("heading", { name: receiver.url }).waitFor();
    endpointId = decodeURIComponent(new URL(page.url()).hash.split("/")[2] ?? "");
    await page.getByText("50 deliveries a second").waitFor();
    await page.getByText("5s, 30s, 2m").waitFor();
    expect(endpointId).not.toBe("");
    await page.getByText("No deliveries match").waitFor();
    await expectAccessible();
  });

  it("shows a published event's attempt in the live feed, opens it, and replays it", async () => {
    const subscribed = new Promise<void>((resolve) => {
      page.on("websocket", (ws) =>
        ws.on("framesent", (frame) => {
          if (String(frame.payload).includes("PortalLiveAttempts")) resolve();
        }),
      );
    });
    await page.getByRole("link", { name: "Live feed" }).click();
    await page.getByText("Waiting for delivery attempts").waitFor();
    await subscribed;
    await expectAccessible();

    const publishedAt = Date.now();
    const event = (await publish("email.delivered")).publishEvent;
    const row = page.locator(`[data-testid=live-rows] li`).first();
    await row.waitFor();
    const seenAfterMs = Date.now() - publishedAt;
    console.log(`live feed: the attempt appeared ${seenAfterMs} ms after publishEvent returned`);
    expect(await row.textContent()).toContain("email.delivered");
    await expectAccessible();

    // Paused, new attempts wait (and say so); resumed, they show.
    await page.getByRole("button", { name: "Pause" }).click();
    for (const type of ["email.opened", "email.bounced", "email.clicked", "email.sent"]) await publish(type);
    await page.getByText("4 waiting while paused").waitFor();
    expect(await page.locator("[data-testid=live-rows] li").count()).toBe(1);
    await page.getByRole("button", { name: "Resume" }).click();
    await waitFor(async () => (await page.locator("[data-testid=live-rows] li").count()) >= 5, "five rows");
    await screenshot(page, "portal-live-feed.png");

    await page.locator(`[data-testid=live-rows] li`).last().getByRole("link").click();
    await page.getByRole("heading", { name: /email\.delivered/ }).waitFor();
    await page.getByRole("link", { name: event.id }).waitFor();
    await expect
      .poll(() => page.locator("[data-testid=attempts] > li").count(), { timeout: WAIT_MS })
      .toBe(1);
    await expectAccessible();
    await page.getByRole("button", { name: "Replay", exact: true }).click();
    await expect
      .poll(() => page.locator("[data-testid=attempts] > li").count(), { timeout: WAIT_MS })
      .toBe(2);
    expect(await page.locator("[data-testid=attempts] > li").first().textContent()).toContain("MANUAL");
    await waitFor(
      () => receiver.requests.filter((r) => r.body.includes(event.id)).length === 2,
      "the replay",
    );
  });

  it("replays a time range and shows its progress until COMPLETED", async () => {
    await goTo(`#/endpoints/${endpointId}`);
    await page.getByText("Replay a time range").click();
    await page.getByRole("button", { name: "Start replay" }).click();
    await page.getByTestId("replay-progress").getByText("COMPLETED").waitFor();
    expect(await page.getByTestId("replay-progress").textContent()).toMatch(/5 of 5 deliveries finished/);
    await expectAccessible();
  });

  it("rotates the secret: the next request verifies with the new one (standardwebhooks)", async () => {
    await goTo(`#/endpoints/${endpointId}`);
    await page.locator("[data-delivery]").first().waitFor();
    await page.evaluate("scrollTo(0, 0)");
    await screenshot(page, "portal-endpoint.png");
    await page.getByText("Rotate signing secret").click();
    await page.getByLabel(/Grace period/).fill("0");
    await page.getByRole("button", { name: "Rotate secret" }).click();
    const rotated = (await page.getByTestId("secret").textContent()) ?? "";
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);

    const before = receiver.requests.length;
    await page.getByText("Send test event", { exact: true }).first().click();
    await page.getByRole("button", { name: "Send test event" }).click();
    await page
      .getByTestId("test-result")
      .getByText(/Delivered: HTTP 200 in \d+ ms/)
      .waitFor();
    const request = await waitFor(() => receiver.requests[before], "the test request");
    const headers = request.headers as Record<string, string>;
    expect(new Webhook(rotated).verify(request.body, headers)).toMatchObject({ type: "webhook.test" });
    expect(() => new Webhook(secret).verify(request.body, headers)).toThrow();
    await expectAccessible();
  });

  it("edits, disables and enables the endpoint", async () => {
    await goTo(`#/endpoints/${endpointId}`);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Description").fill("Billing team, EU");
    await page.getByRole("button", { name: "Save endpoint" }).click();
    await page.getByText("Billing team, EU").waitFor();
    await page.getByRole("button", { name: "Disable" }).click();
    await page.getByText("Disabled", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Enable" }).click();
    await page.getByText("Enabled", { exact: true }).waitFor();
  });

  it("filters the deliveries, and deletes an endpoint after asking", async () => {
    await goTo(`#/endpoints/${endpointId}`);
    await page.locator("[data-delivery]").first().waitFor();
    await page.getByLabel("Status").selectOption("FAILED");
    await page.getByText("No deliveries match").waitFor();
    await page.getByLabel("Status").selectOption("SUCCEEDED");
    await page.locator("[data-delivery]").first().waitFor();

    const spareUrl = `${receiver.url}/spare`;
    const { createEndpoint } = await hookpost.workspace.client.ok(CreateEndpointDocument, {
      input: { url: spareUrl, eventTypes: ["email.held"] },
    });
    await goTo(`#/endpoints/${createEndpoint.endpoint.id}`);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Yes, delete" }).click();
    await page.getByRole("heading", { name: "Endpoints" }).waitFor();
    await page.getByRole("link", { name: receiver.url, exact: true }).waitFor();
    await expect.poll(() => page.getByRole("link", { name: spareUrl }).count(), { timeout: WAIT_MS }).toBe(0);
  });

  it("has no serious accessibility violations on any page, light and dark, wide and phone-width", async () => {
    const client = hookpost.workspace.client;
    const deliveryId = (await client.ok(ListDeliveriesDocument, { first: 1 })).deliveries.edges[0]?.node.id;
    const eventId = (await client.ok(ListEventsDocument, { first: 1 })).events.edges[0]?.node.id;
    // Each page, and what shows that its data has loaded.
    const pages = [
      ["#/endpoints", "table a.url"],
      ["#/endpoints/new", "text=email.bounced"],
      [`#/endpoints/${endpointId}`, "[data-delivery]"],
      [`#/deliveries/${deliveryId}`, "[data-testid=attempts] li"],
      ["#/live", "[data-testid=live-received]"],
      ["#/events", "a[href^='#/events/evt_']"],
      [`#/events/${eventId}`, "pre.code"],
      ["#/catalog", "details.card"],
      ["#/replays", "table tbody tr"],
      ["#/api-keys", "table tbody tr"],
    ] as const;
    for (const colorScheme of ["light", "dark"] as const) {
      for (const width of [1280, 390]) {
        await page.emulateMedia({ colorScheme });
        await page.setViewportSize({ width, height: 900 });
        for (const [hash, loaded] of pages) {
          await goTo(hash);
          await page.locator(loaded).first().waitFor();
          expect({ hash, colorScheme, width, violations: await accessibilityViolations(page) }).toEqual({
            hash,
            colorScheme,
            width,
            violations: [],
          });
        }
      }
    }
  });

  it("is usable from the keyboard: skip to the content, reach a delivery with Tab and Enter", async () => {
    await page.goto(`${portalUrl}#/endpoints/${endpointId}`);
    await page.reload();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate("document.activeElement.id")).toBe("main");
    await page.locator("[data-delivery]").first().waitFor();
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("Tab");
      const href = String(await page.evaluate("document.activeElement.getAttribute('href')"));
      if (href.startsWith("#/deliveries/")) break;
    }
    await page.keyboard.press("Enter");
    await page.getByTestId("attempts").locator("li").first().waitFor();
  });
});
