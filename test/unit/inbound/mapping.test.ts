import { describe, expect, it } from "vitest";
import { mapGeneric } from "../../../src/inbound/providers/generic.ts";
import { mapMailgun } from "../../../src/inbound/providers/mailgun.ts";
import { mapPostmark } from "../../../src/inbound/providers/postmark.ts";
import { mapResend } from "../../../src/inbound/providers/resend.ts";
import { mapSendgrid } from "../../../src/inbound/providers/sendgrid.ts";
import { InboundBodyError } from "../../../src/inbound/types.ts";
import {
  genericBounce,
  mailgunDeliveredEventData,
  mailgunFailedEventData,
  postmarkBounce,
  postmarkClick,
  postmarkSubscriptionChange,
  resendBounced,
  resendClicked,
  sendgridBatch,
} from "../../support/inboundSamples.ts";

const request = (body: unknown, headers: Record<string, string> = {}) => ({
  body: JSON.stringify(body),
  headers,
});

describe("GENERIC (seed 004)", () => {
  it("maps a bounce to email.bounced with the message id and recipient", () => {
    const [event] = mapGeneric(request(genericBounce));
    expect(event).toMatchObject({
      type: "email.bounced",
      occurredAt: new Date("2026-03-03T08:15:00Z"),
      data: { provider: "GENERIC", messageId: "msg_abc123def456", to: ["invalid@example.com"] },
    });
    expect(event!.data.providerEventId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("accepts the seed's short names and leaves unknown ones unmapped", () => {
    expect(mapGeneric(request({ ...genericBounce, type: "email.open" }))[0]!.type).toBe("email.opened");
    expect(mapGeneric(request({ ...genericBounce, type: "email.forwarded" }))[0]!.type).toBeNull();
  });

  it("refuses a body that is not a JSON object", () => {
    expect(() => mapGeneric({ body: "[1]", headers: {} })).toThrow(InboundBodyError);
    expect(() => mapGeneric({ body: "not json", headers: {} })).toThrow(InboundBodyError);
  });
});

describe("RESEND", () => {
  it("maps a permanent bounce to a hard email.bounced, keyed by svix-id", () => {
    const [event] = mapResend(request(resendBounced, { "svix-id": "msg_2p5x" }));
    expect(event).toEqual({
      type: "email.bounced",
      providerType: "email.bounced",
      occurredAt: new Date("2024-11-22T23:41:12.126Z"),
      data: {
        provider: "RESEND",
        providerEventId: "msg_2p5x",
        messageId: "56761188-7520-42d8-8898-ff6fc54ce618",
        to: ["delivered@resend.dev"],
        from: "Acme <onboarding@resend.dev>",
        subject: "Sending this example",
        tags: ["category:confirm_email"],
        bounce: {
          type: "hard",
          code: "Suppressed",
          reason: "The recipient's email address is on the suppression list.",
        },
      },
    });
  });

  it("maps a click with its url, user agent and ip", () => {
    const [event] = mapResend(request(resendClicked, { "svix-id": "msg_1" }));
    expect(event!.type).toBe("email.clicked");
    expect(event!.data).toMatchObject({
      click: { url: "https://resend.com" },
      userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)",
      ip: "122.115.53.11",
    });
  });
});

describe("SENDGRID", () => {
  it("keeps a dropped message's reason", () => {
    const dropped = { ...sendgridBatch[0], event: "dropped", reason: "Bounced Address", status: "5.0.0" };
    expect(mapSendgrid(request([dropped]))[0]).toMatchObject({
      type: "email.rejected",
      data: { reason: "Bounced Address" },
    });
  });

  it("maps every event of a batch, each with its own sg_event_id", () => {
    const events = mapSendgrid(request(sendgridBatch));
    expect(events.map((e) => e.type)).toEqual([
      "email.sent",
      "email.delivered",
      "email.bounced",
      "email.clicked",
      null,
    ]);
    expect(events.map((e) => e.data.providerEventId)).toEqual(sendgridBatch.map((e) => e.sg_event_id));
    expect(events[1]!.data.tags).toEqual(["cat facts", "weekly"]);
    expect(events[1]!.data.smtpResponse).toBe("250 OK");
    expect(events[2]!.data.bounce).toEqual({ type: "hard", code: "5.0.0", reason: "500 unknown recipient" });
    expect(events[2]!.data.reason).toBeUndefined();
    expect(events[3]!.data).toMatchObject({
      click: { url: "https://sendgrid.com" },
      ip: "255.255.255.255",
      userAgent: "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)",
    });
    expect(events[0]!.occurredAt).toEqual(new Date(1513299569 * 1000));
  });

  it("maps a blocked bounce as soft, and refuses a body that is not an array", () => {
    const [blocked] = mapSendgrid(request([{ ...sendgridBatch[2], type: "blocked" }]));
    expect(blocked!.data.bounce?.type).toBe("soft");
    expect(() => mapSendgrid(request(sendgridBatch[0]))).toThrow(InboundBodyError);
  });
});

describe("MAILGUN", () => {
  it("maps a permanent failure to a hard bounce with the delivery status", () => {
    const [event] = mapMailgun(request({ "event-data": mailgunFailedEventData }));
    expect(event).toMatchObject({
      type: "email.bounced",
      providerType: "failed",
      data: {
        provider: "MAILGUN",
        providerEventId: "G9Bn5sl1TC6nu79C8C0bwg",
        messageId: "20130503192659.13651.20287@sandbox.mailgun.org",
        to: ["alice@example.com"],
        from: "Bob <bob@sandbox.mailgun.org>",
        subject: "Test permanent_fail webhook",
        tags: ["my_tag_1", "my_tag_2"],
        bounce: { type: "hard", code: "605", reason: "Not delivering to previously bounced address" },
      },
    });
  });

  it("maps a temporary failure to a soft bounce and delivered to email.delivered", () => {
    const [soft] = mapMailgun(
      request({ "event-data": { ...mailgunFailedEventData, severity: "temporary" } }),
    );
    expect(soft!.data.bounce?.type).toBe("soft");
    const [delivered] = mapMailgun(request({ "event-data": mailgunDeliveredEventData }));
    expect(delivered!.type).toBe("email.delivered");
    expect(delivered!.data.bounce).toBeUndefined();
  });
});

describe("POSTMARK", () => {
  it("maps a HardBounce to a hard email.bounced keyed by the bounce ID", () => {
    const [event] = mapPostmark(request(postmarkBounce));
    expect(event).toMatchObject({
      type: "email.bounced",
      occurredAt: new Date("2019-11-05T16:33:54.907Z"),
      data: {
        provider: "POSTMARK",
        messageId: "883953f4-6105-42a2-a16a-77a8eac79483",
        to: ["john@example.com"],
        from: "sender@example.com",
        subject: "Test subject",
        tags: ["Invitation"],
        bounce: { type: "hard", code: "1" },
      },
    });
    expect(event!.data.providerEventId).toBe(String(postmarkBounce.ID));
  });

  it("maps a click, and a SubscriptionChange only when it suppresses sending", () => {
    const [click] = mapPostmark(request(postmarkClick));
    expect(click!.type).toBe("email.clicked");
    expect(click!.data).toMatchObject({ click: { url: "https://example.com" }, ip: "188.2.95.4" });
    expect(mapPostmark(request(postmarkSubscriptionChange))[0]!.type).toBe("email.unsubscribed");
    const resubscribed = { ...postmarkSubscriptionChange, SuppressSending: false };
    expect(mapPostmark(request(resubscribed))[0]!.type).toBeNull();
  });
});
