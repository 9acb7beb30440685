/**
 * A realistic `data` object for each event type: sent by testEndpoint and shown
 * by the eventTypes query, so receivers can be built before real traffic.
 */
const MESSAGE = {
  messageId: "msg_01JD5Q8Z3X7K2M4N6P8R0T2V4W",
  stream: "outbound",
  from: "Acme <hello@mail.acme.test>",
  to: ["ada@example.com"],
  subject: "Your receipt #1042",
  tags: ["receipt"],
  metadata: { orderId: "1042" },
};

const SPECIFIC: Record<string, Record<string, unknown>> = {
  "email.delivered": { smtpResponse: "250 2.0.0 OK queued as 4XyZ", mx: "mx1.example.com" },
  "email.delivery_delayed": {
    smtpResponse: "451 4.7.1 Try again later",
    nextRetryAt: "2026-11-23T10:45:00.000Z",
  },
  "email.bounced": {
    bounce: { type: "hard", code: "5.1.1", reason: "550 5.1.1 The email account does not exist" },
  },
  "email.complained": { feedbackType: "abuse", userAgent: "Yahoo!-Mail-Feedback/2.0" },
  "email.rejected": { reason: "recipient is on the suppression list" },
  "email.failed": { reason: "permanent SMTP failure after all attempts", smtpResponse: "550 5.7.1 Rejected" },
  "email.held": { reason: "sending limit reached" },
  "email.opened": { userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)", ip: "203.0.113.7" },
  "email.clicked": { url: "https://acme.test/orders/1042", userAgent: "Mozilla/5.0", ip: "203.0.113.7" },
  "email.unsubscribed": { listId: "newsletter", method: "one-click" },
};

export function sampleData(type: string): Record<string, unknown> {
  if (type === "webhook.test") return { message: "This is a test event from Hookpost." };
  if (type === "domain.dns_error")
    return { domain: "mail.acme.test", record: "DKIM", error: "TXT record not found" };
  if (type.startsWith("endpoint."))
    return { endpointId: "ep_01JD5Q8Z3X7K2M4N6P8R0T2V4W", reason: "20 consecutive failed attempts" };
  if (type.startsWith("delivery.")) return { deliveryId: "dlv_01JD5Q8Z3X7K2M4N6P8R0T2V4W", attempts: 8 };
  return { ...MESSAGE, ...(SPECIFIC[type] ?? {}) };
}
