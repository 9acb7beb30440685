import { describe, expect, it } from "vitest";
import { verifyGeneric } from "../../../src/inbound/providers/generic.ts";
import { verifyMailgun } from "../../../src/inbound/providers/mailgun.ts";
import { verifyPostmark } from "../../../src/inbound/providers/postmark.ts";
import { verifyResend } from "../../../src/inbound/providers/resend.ts";
import { verifySendgrid } from "../../../src/inbound/providers/sendgrid.ts";
import {
  genericBounce,
  mailgunFailedEventData,
  resendBounced,
  sendgridBatch,
} from "../../support/inboundSamples.ts";
import {
  genericHeaders,
  mailgunSignature,
  postmarkHeaders,
  resendHeaders,
  sendgridHeaders,
  sendgridKeys,
} from "../../support/inboundSigning.ts";

const now = new Date();
const tenMinutesAgo = new Date(now.getTime() - 600_000);
const tamper = (body: string) => body.replace("e", "E");

describe("GENERIC: hex HMAC-SHA256 of the body in X-Webhook-Signature", () => {
  const body = JSON.stringify(genericBounce);
  const secret = "whsec_your_secret_key_here";
  it("accepts the right signature and refuses a tampered body, a wrong key or none", () => {
    expect(verifyGeneric({ body, headers: genericHeaders(body, secret) }, { secret }, now)).toBeNull();
    expect(
      verifyGeneric({ body: tamper(body), headers: genericHeaders(body, secret) }, { secret }, now),
    ).toBe("signature mismatch");
    expect(verifyGeneric({ body, headers: genericHeaders(body, "other") }, { secret }, now)).toBe(
      "signature mismatch",
    );
    expect(verifyGeneric({ body, headers: {} }, { secret }, now)).toMatch(/missing/);
  });
});

describe("RESEND: Svix signatures", () => {
  const body = JSON.stringify(resendBounced);
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  it("accepts what the svix package signs, among several signatures", () => {
    const headers = resendHeaders(body, secret, "msg_1");
    expect(verifyResend({ body, headers }, { secret }, now)).toBeNull();
    const rotated = { ...headers, "svix-signature": `v1,bm90IGl0 ${headers["svix-signature"]}` };
    expect(verifyResend({ body, headers: rotated }, { secret }, now)).toBeNull();
  });

  it("refuses a tampered body, a wrong secret, another id and an old timestamp", () => {
    const headers = resendHeaders(body, secret, "msg_1");
    expect(verifyResend({ body: tamper(body), headers }, { secret }, now)).toBe("signature mismatch");
    const wrongKey = resendHeaders(body, "whsec_b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldA==", "msg_1");
    expect(verifyResend({ body, headers: wrongKey }, { secret }, now)).toBe("signature mismatch");
    expect(verifyResend({ body, headers: { ...headers, "svix-id": "msg_2" } }, { secret }, now)).toBe(
      "signature mismatch",
    );
    const old = resendHeaders(body, secret, "msg_1", tenMinutesAgo);
    expect(verifyResend({ body, headers: old }, { secret }, now)).toMatch(/tolerance/);
  });
});

describe("MAILGUN: signature {timestamp, token, signature} in the body", () => {
  const key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
  const bodyAt = (at: Date, signingKey = key) =>
    JSON.stringify({ signature: mailgunSignature(signingKey, at), "event-data": mailgunFailedEventData });
  it("accepts a signature made with the signing key", () => {
    expect(verifyMailgun({ body: bodyAt(now), headers: {} }, { secret: key }, now)).toBeNull();
  });
  it("refuses a wrong key, an old timestamp and a body without a signature", () => {
    expect(verifyMailgun({ body: bodyAt(now, "other"), headers: {} }, { secret: key }, now)).toBe(
      "signature mismatch",
    );
    expect(verifyMailgun({ body: bodyAt(tenMinutesAgo), headers: {} }, { secret: key }, now)).toMatch(
      /tolerance/,
    );
    expect(verifyMailgun({ body: "{}", headers: {} }, { secret: key }, now)).toMatch(/missing/);
  });
});

describe("POSTMARK: basic-auth credentials", () => {
  const verification = { username: "postmark", password: "s3cret" };
  it("accepts the right credentials only", () => {
    expect(
      verifyPostmark({ body: "{}", headers: postmarkHeaders("postmark", "s3cret") }, verification, now),
    ).toBeNull();
    expect(
      verifyPostmark({ body: "{}", headers: postmarkHeaders("postmark", "wrong") }, verification, now),
    ).toBe("wrong credentials");
    expect(verifyPostmark({ body: "{}", headers: {} }, verification, now)).toMatch(/missing/);
  });
});

describe("SENDGRID: ECDSA P-256 over timestamp + body", () => {
  const body = JSON.stringify(sendgridBatch);
  const { privateKey, publicKey } = sendgridKeys();
  it("accepts a signature by the key pair's private half", () => {
    expect(
      verifySendgrid({ body, headers: sendgridHeaders(body, privateKey) }, { publicKey }, now),
    ).toBeNull();
  });
  it("refuses a tampered body, another key and an old timestamp", () => {
    const headers = sendgridHeaders(body, privateKey);
    expect(verifySendgrid({ body: tamper(body), headers }, { publicKey }, now)).toBe("signature mismatch");
    const other = sendgridKeys();
    expect(verifySendgrid({ body, headers }, { publicKey: other.publicKey }, now)).toBe("signature mismatch");
    const old = sendgridHeaders(body, privateKey, tenMinutesAgo);
    expect(verifySendgrid({ body, headers: old }, { publicKey }, now)).toMatch(/tolerance/);
    expect(
      verifySendgrid(
        { body, headers: { ...headers, "x-twilio-email-event-webhook-signature": "!!" } },
        { publicKey },
        now,
      ),
    ).not.toBeNull();
  });
});
