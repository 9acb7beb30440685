import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  mapSes,
  SNS_MAX_AGE_S,
  sesHandshake,
  snsStringToSign,
  verifySes,
} from "../../../src/inbound/providers/ses.ts";
import {
  createSnsClient,
  parseSnsHosts,
  type SnsClient,
  snsUrlRefusal,
} from "../../../src/inbound/snsClient.ts";
import { InboundBodyError, InboundUnavailableError } from "../../../src/inbound/types.ts";
import { startReceiver } from "../../support/receiver.ts";
import {
  sesBounce,
  sesBounceNotification,
  sesClick,
  sesComplaint,
  sesDelivery,
  sesDeliveryDelay,
  sesOpen,
  sesReject,
  sesSend,
  sesTopicArn,
  sesTransientBounce,
} from "../../support/sesSamples.ts";
import { sesNotification, signSns, snsSigningKey } from "../../support/snsSigning.ts";

const CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem";
const key = snsSigningKey();
const other = snsSigningKey();

/** The SNS client's network side, replaced: the certificate at CERT_URL is `key`'s. */
function fakeSns(certificatePem = key.certificatePem): SnsClient & { fetched: string[] } {
  const rules = parseSnsHosts(["sns.*.amazonaws.com"]);
  const fetched: string[] = [];
  return {
    fetched,
    urlRefusal: (url) => snsUrlRefusal(url, rules),
    certificate: async (url) => {
      fetched.push(url);
      return new X509Certificate(certificatePem);
    },
    confirmSubscription: async () => {},
    close: async () => {},
  };
}

const notification = (event: unknown, opts: { at?: Date; version?: "1" | "2"; messageId?: string } = {}) =>
  sesNotification(event, { topicArn: sesTopicArn, privateKey: key.privateKey, certUrl: CERT_URL, ...opts });
const request = (envelope: unknown) => ({ body: JSON.stringify(envelope), headers: {} });
const verification = { topicArn: sesTopicArn };

describe("AMAZON_SES: SNS message signatures", () => {
  it("builds AWS's documented string to sign for a Notification (Subject only when present)", () => {
    const fields = {
      Type: "Notification",
      Message: "My Test Message",
      MessageId: "4d4dc071-ddbf-465d-bba8-08f81c89da64",
      Subject: "My subject",
      Timestamp: "2019-01-31T04:37:04.321Z",
      TopicArn: "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
      SigningCertURL: CERT_URL,
    };
    expect(snsStringToSign(fields)).toBe(
      "Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\nSubject\nMy subject\n" +
        "Timestamp\n2019-01-31T04:37:04.321Z\nTopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n" +
        "Type\nNotification\n",
    );
    expect(snsStringToSign({ ...fields, Subject: undefined })).not.toContain("Subject");
    expect(snsStringToSign({ ...fields, Type: "SubscriptionConfirmation" })).toBeNull();
  });

  it("accepts SignatureVersion 1 (SHA1) and 2 (SHA256), fetching the certificate from the SigningCertURL", async () => {
    const sns = fakeSns();
    for (const version of ["1", "2"] as const) {
      expect(
        await verifySes(request(notification(sesBounce, { version })), verification, new Date(), { sns }),
      ).toBeNull();
    }
    expect(sns.fetched).toEqual([CERT_URL, CERT_URL]);
  });

  it("accepts a signed SubscriptionConfirmation", async () => {
    const confirmation = signSns(
      {
        Type: "SubscriptionConfirmation",
        MessageId: "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        Token:
          "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
        TopicArn: sesTopicArn,
        Message: `You have chosen to subscribe to the topic ${sesTopicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
        SubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${sesTopicArn}&Token=2336412f37`,
        Timestamp: new Date().toISOString(),
      },
      key.privateKey,
      CERT_URL,
    );
    expect(await verifySes(request(confirmation), verification, new Date(), { sns: fakeSns() })).toBeNull();
  });

  it("refuses a tampered message, another key, an old Timestamp, another topic and a foreign certificate host", async () => {
    const sns = fakeSns();
    const now = new Date();
    const signed = notification(sesBounce);
    const tampered = { ...signed, Message: signed.Message!.replace("Permanent", "Transient") };
    expect(await verifySes(request(tampered), verification, now, { sns })).toBe("signature mismatch");
    expect(await verifySes(request(signed), verification, now, { sns: fakeSns(other.certificatePem) })).toBe(
      "signature mismatch",
    );
    const old = notification(sesBounce, { at: new Date(now.getTime() - (SNS_MAX_AGE_S + 60) * 1000) });
    expect(await verifySes(request(old), verification, now, { sns })).toMatch(/Timestamp outside/);
    // A retry late in SNS's hour of retries is still genuine.
    const late = notification(sesBounce, { at: new Date(now.getTime() - 3_000_000) });
    expect(await verifySes(request(late), verification, now, { sns })).toBeNull();
    expect(
      await verifySes(request(signed), { topicArn: "arn:aws:sns:us-east-1:123456789012:other" }, now, {
        sns,
      }),
    ).toMatch(/unexpected TopicArn/);
    const foreign = { ...signed, SigningCertURL: "https://evil.example.com/sns.us-east-1.amazonaws.com.pem" };
    expect(await verifySes(request(foreign), verification, now, { sns })).toMatch(/not an Amazon SNS host/);
    const plain = { ...signed, SigningCertURL: CERT_URL.replace("https:", "http:") };
    expect(await verifySes(request(plain), verification, now, { sns })).toMatch(/not an Amazon SNS host/);
    expect(
      await verifySes(request({ ...signed, SignatureVersion: "3" }), verification, now, { sns }),
    ).toMatch(/SignatureVersion/);
    expect(await verifySes({ body: "not json", headers: {} }, verification, now, { sns })).toMatch(
      /not an SNS/,
    );
    expect(sns.fetched.every((url) => url === CERT_URL)).toBe(true);
  });

  it("refuses a certificate that has expired", async () => {
    const inTwoDays = new Date(Date.now() + 3 * 86_400_000);
    const signed = notification(sesBounce, { at: inTwoDays });
    expect(await verifySes(request(signed), verification, inTwoDays, { sns: fakeSns() })).toMatch(/expired/);
  });
});

describe("INBOUND_SNS_HOSTS", () => {
  const rules = parseSnsHosts([
    "sns.*.amazonaws.com",
    "sns.*.amazonaws.com.cn",
    "http://127.0.0.1",
    "http://[::1]",
  ]);
  it("allows SNS hosts of any region over HTTPS, and plain HTTP only where an entry says so", () => {
    expect(snsUrlRefusal(CERT_URL, rules)).toBeNull();
    expect(snsUrlRefusal("https://sns.cn-north-1.amazonaws.com.cn/x.pem", rules)).toBeNull();
    expect(snsUrlRefusal("http://127.0.0.1:8080/cert.pem", rules)).toBeNull();
    expect(snsUrlRefusal("https://127.0.0.1:8080/cert.pem", rules)).toMatch(/not an Amazon SNS host/);
    expect(snsUrlRefusal("https://sns.evil.com.amazonaws.com.attacker.net/x", rules)).not.toBeNull();
    expect(snsUrlRefusal("https://sns.a.b.amazonaws.com/x", rules)).not.toBeNull();
    expect(snsUrlRefusal("https://snsXus-east-1.amazonaws.com/x", rules)).not.toBeNull();
    expect(snsUrlRefusal("http://[::1]:8080/cert.pem", rules)).toBeNull();
    expect(snsUrlRefusal("nope", rules)).toBe("not a URL");
    expect(() => parseSnsHosts(["sns.(.*).amazonaws.com"])).toThrow(/not a host pattern/);
  });
});

describe("AMAZON_SES: SNS's own messages", () => {
  const subscribeUrl = `https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${sesTopicArn}&Token=abc`;
  const confirmations = () => {
    const confirmed: string[] = [];
    return {
      confirmed,
      sns: { ...fakeSns(), confirmSubscription: async (url: string) => void confirmed.push(url) },
    };
  };

  it("confirms a SubscriptionConfirmation at its SubscribeURL, only on an SNS host", async () => {
    const { confirmed, sns } = confirmations();
    const confirmation = {
      Type: "SubscriptionConfirmation",
      TopicArn: sesTopicArn,
      SubscribeURL: subscribeUrl,
    };
    expect(await sesHandshake(request(confirmation), { sns })).toBe(
      `subscription to ${sesTopicArn} confirmed`,
    );
    expect(confirmed).toEqual([subscribeUrl]);
    const elsewhere = {
      ...confirmation,
      SubscribeURL: "https://attacker.example.com/?Action=ConfirmSubscription",
    };
    await expect(sesHandshake(request(elsewhere), { sns })).rejects.toThrow(InboundBodyError);
    expect(confirmed).toHaveLength(1);
  });

  it("only logs an UnsubscribeConfirmation, and leaves Notifications to the mapping", async () => {
    const { confirmed, sns } = confirmations();
    const unsubscribe = {
      Type: "UnsubscribeConfirmation",
      TopicArn: sesTopicArn,
      SubscribeURL: subscribeUrl,
    };
    expect(await sesHandshake(request(unsubscribe), { sns })).toBe(`unsubscribed from ${sesTopicArn}`);
    expect(await sesHandshake(request(notification(sesBounce)), { sns })).toBeNull();
    expect(confirmed).toEqual([]);
  });
});

describe("the SNS client", () => {
  it("goes through the outbound guard: loopback is refused unless OUTBOUND_ALLOW allows it", async () => {
    const fakeSns = await startReceiver(() => ({ status: 200, body: key.certificatePem }));
    const { url } = fakeSns;
    const guarded = createSnsClient({ hosts: ["http://127.0.0.1", "http://localhost"], outboundAllow: [] });
    const allowed = createSnsClient({ hosts: ["http://127.0.0.1"], outboundAllow: ["127.0.0.0/8"] });
    try {
      await expect(guarded.confirmSubscription(url)).rejects.toThrow(InboundUnavailableError);
      await expect(guarded.confirmSubscription(url)).rejects.toThrow(/loopback/);
      await expect(guarded.certificate(url.replace("127.0.0.1", "localhost"))).rejects.toThrow(/loopback/);
      expect(fakeSns.requests).toHaveLength(0);
      const certificate = await allowed.certificate(url);
      expect(certificate.publicKey.asymmetricKeyType).toBe("rsa");
      expect(await allowed.certificate(url)).toBe(certificate);
      await allowed.confirmSubscription(url);
      expect(fakeSns.requests.map((r) => r.method)).toEqual(["GET", "GET"]);
    } finally {
      await Promise.all([guarded.close(), allowed.close(), fakeSns.close()]);
    }
  });
});

describe("AMAZON_SES: mapping SES events", () => {
  const mapped = (event: unknown) => mapSes(request(notification(event, { messageId: "sns-message-1" })));

  it("maps every SES event type to the catalog", () => {
    const types = [
      sesSend,
      sesDelivery,
      sesBounce,
      sesComplaint,
      sesReject,
      sesDeliveryDelay,
      sesOpen,
      sesClick,
    ].map((e) => mapped(e)[0]!.type);
    expect(types).toEqual([
      "email.sent",
      "email.delivered",
      "email.bounced",
      "email.complained",
      "email.rejected",
      "email.delivery_delayed",
      "email.opened",
      "email.clicked",
    ]);
  });

  it("carries the common fields, the SNS MessageId as the provider's id, and the bounce's type", () => {
    const [bounce] = mapped(sesBounce);
    expect(bounce).toEqual({
      type: "email.bounced",
      providerType: "Bounce",
      occurredAt: new Date("2017-08-05T00:41:02.669Z"),
      data: {
        provider: "AMAZON_SES",
        providerEventId: "sns-message-1",
        messageId: "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        to: ["recipient@example.com"],
        from: "sender@example.com",
        subject: "Message sent from Amazon SES",
        tags: ["campaign:book"],
        bounce: { type: "hard", code: "5.1.1", reason: "smtp; 550 5.1.1 user unknown" },
      },
    });
    expect(mapped(sesTransientBounce)[0]!.data.bounce).toEqual({
      type: "soft",
      code: "4.2.2",
      reason: "MailboxFull",
    });
    expect(mapped(sesBounceNotification)[0]).toMatchObject({
      type: "email.bounced",
      data: { bounce: { type: "hard" } },
    });
    expect(mapped(sesClick)[0]!.data).toMatchObject({
      click: { url: "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html" },
      ip: "192.0.2.1",
      userAgent: expect.stringContaining("Windows"),
    });
    expect(mapped(sesOpen)[0]!.occurredAt).toEqual(new Date("2017-08-09T22:00:19.652Z"));
    expect(mapped(sesDelivery)[0]!.data.smtpResponse).toBe("250 2.6.0 Message received");
    expect(mapped(sesDeliveryDelay)[0]!.data).toMatchObject({
      smtpResponse: "smtp; 421 4.4.1 Unable to connect",
      to: ["recipient@example.com"],
    });
    expect(mapped(sesReject)[0]!.data.reason).toBe("Bad content");
  });

  it("keeps unknown types and non-SES messages as IGNORED, and maps no event from a confirmation", () => {
    const failure = {
      errorMessage: "Attribute 'name' is not present in the rendering data.",
      templateName: "Welcome",
    };
    expect(mapped({ ...sesSend, eventType: "Rendering Failure", failure })[0]).toMatchObject({
      type: "email.failed",
      data: { reason: failure.errorMessage },
    });
    expect(
      mapped({
        eventType: "Subscription",
        mail: {},
        subscription: { newTopicPreferences: { unsubscribeAll: false } },
      })[0]!.type,
    ).toBeNull();
    expect(mapped({ eventType: "Received", mail: {} })[0]).toMatchObject({
      type: null,
      providerType: "Received",
    });
    const test = mapSes(
      request(
        signSns(
          {
            Type: "Notification",
            MessageId: "m",
            TopicArn: sesTopicArn,
            Message: "hello",
            Timestamp: new Date().toISOString(),
          },
          key.privateKey,
          CERT_URL,
        ),
      ),
    );
    expect(test[0]).toMatchObject({ type: null, providerType: "(no SES event)" });
    expect(mapSes(request({ Type: "SubscriptionConfirmation" }))).toEqual([]);
  });
});
