import { describe, expect, it } from "vitest";
import { eventNameIn } from "../../../src/delivery/formats/eventNames.ts";
import {
  aliasesOf,
  catalogFilters,
  catalogTypeOf,
  EVENT_CATALOG,
  namesByFormat,
  unknownEventType,
} from "../../../src/services/eventTypes.ts";

/** Every event name the five platforms' documents use, with the catalog type it stands for. */
const SEED_NAMES: Record<string, string> = {
  // 000 Postject
  sent: "email.sent",
  delivered: "email.delivered",
  bounced: "email.bounced",
  complained: "email.complained",
  rejected: "email.rejected",
  failed: "email.failed",
  opened: "email.opened",
  clicked: "email.clicked",
  // 001 PostStack
  "email.queued": "email.queued",
  "email.sent": "email.sent",
  "email.delivered": "email.delivered",
  "email.bounced": "email.bounced",
  "email.opened": "email.opened",
  "email.clicked": "email.clicked",
  "email.complained": "email.complained",
  "email.unsubscribed": "email.unsubscribed",
  // 002 Posthawk
  send: "email.sent",
  delivery: "email.delivered",
  bounce: "email.bounced",
  complaint: "email.complained",
  reject: "email.rejected",
  delivery_delay: "email.delivery_delayed",
  open: "email.opened",
  click: "email.clicked",
  // 003 Postal
  MessageSent: "email.delivered",
  MessageDelayed: "email.delivery_delayed",
  MessageDeliveryFailed: "email.failed",
  MessageHeld: "email.held",
  MessageBounced: "email.bounced",
  MessageLinkClicked: "email.clicked",
  MessageLoaded: "email.opened",
  DomainDNSError: "domain.dns_error",
  // 004
  unsubscribe: "email.unsubscribed",
  "email.open": "email.opened",
  "email.click": "email.clicked",
  "email.bounce": "email.bounced",
  "email.unsubscribe": "email.unsubscribed",
};

describe("event names of every platform", () => {
  it.each(Object.entries(SEED_NAMES))("%s is %s", (name, type) => {
    expect(catalogTypeOf(name)).toBe(type);
    expect(catalogFilters([name])).toEqual({ filters: [type] });
  });

  it('splits comma-separated lists ("open,click,bounce") and drops repeats', () => {
    expect(catalogFilters(["open,click,bounce"])).toEqual({
      filters: ["email.opened", "email.clicked", "email.bounced"],
    });
    expect(catalogFilters(["open, click", "email.opened", "email.*"])).toEqual({
      filters: ["email.opened", "email.clicked", "email.*"],
    });
    expect(catalogFilters(["*"])).toEqual({ filters: ["*"] });
  });

  it("refuses unknown names, naming close matches", () => {
    expect(catalogFilters(["bounse"])).toEqual({
      reason: expect.stringMatching(/unknown event type "bounse"; did you mean "bounce"/),
    });
    expect(unknownEventType("MessageBounce")).toMatch(/"MessageBounced"/);
    expect(unknownEventType("email.bouncd")).toMatch(/"email.bounced"/);
    expect(unknownEventType("sms.*")).toMatch(/^unknown event type "sms\.\*"/);
    expect(catalogFilters(["open,nope"])).toEqual({ reason: expect.stringMatching(/"nope"/) });
    expect(unknownEventType("x".repeat(10_000))).not.toMatch(/did you mean/);
  });

  it("each type has a name in every format; formats without one of their own use the catalog's", () => {
    for (const { type } of EVENT_CATALOG) {
      const names = namesByFormat(type);
      expect(names).toHaveLength(6);
      for (const { name } of names) expect(catalogTypeOf(name)).toBe(type);
      expect(eventNameIn("STANDARD_WEBHOOKS", type)).toBe(type);
      expect(eventNameIn("POSTSTACK", type)).toBe(type);
    }
    expect(eventNameIn("POSTHAWK", "email.bounced")).toBe("bounce");
    expect(eventNameIn("POSTAL", "email.opened")).toBe("MessageLoaded");
    expect(eventNameIn("HMAC_SHA256_HEX", "email.clicked")).toBe("email.click");
    expect(aliasesOf("email.bounced")).toEqual(
      expect.arrayContaining(["bounced", "bounce", "MessageBounced", "email.bounce"]),
    );
  });
});
