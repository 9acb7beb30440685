import type { WebhookFormat } from "./types.ts";

/**
 * Each catalog type's name in each platform's format, where it differs from
 * the catalog name (which a format without a name of its own sends), and the
 * other names people use for it. These are the aliases endpoint filters and
 * publishEvent accept (src/services/eventTypes.ts), all read from here.
 */
type Names = { in?: Partial<Record<WebhookFormat, string>>; aliases?: readonly string[] };

export const EVENT_NAMES: Readonly<Record<string, Names>> = {
  "email.queued": { in: { POSTJECT: "queued", POSTHAWK: "queued" } },
  "email.sent": { in: { POSTJECT: "sent", POSTHAWK: "send" } },
  "email.delivered": {
    in: { POSTJECT: "delivered", POSTHAWK: "delivery", POSTAL: "MessageSent" },
    aliases: ["email.delivery"],
  },
  "email.delivery_delayed": {
    in: { POSTJECT: "delivery_delayed", POSTHAWK: "delivery_delay", POSTAL: "MessageDelayed" },
    aliases: ["delayed", "email.delayed"],
  },
  "email.bounced": {
    in: {
      POSTJECT: "bounced",
      POSTHAWK: "bounce",
      POSTAL: "MessageBounced",
      HMAC_SHA256_HEX: "email.bounce",
    },
  },
  "email.complained": { in: { POSTJECT: "complained", POSTHAWK: "complaint" }, aliases: ["email.complaint"] },
  "email.rejected": { in: { POSTJECT: "rejected", POSTHAWK: "reject" }, aliases: ["email.reject"] },
  "email.failed": { in: { POSTJECT: "failed", POSTHAWK: "failed", POSTAL: "MessageDeliveryFailed" } },
  "email.held": { in: { POSTJECT: "held", POSTHAWK: "held", POSTAL: "MessageHeld" } },
  "email.opened": {
    in: { POSTJECT: "opened", POSTHAWK: "open", POSTAL: "MessageLoaded", HMAC_SHA256_HEX: "email.open" },
  },
  "email.clicked": {
    in: {
      POSTJECT: "clicked",
      POSTHAWK: "click",
      POSTAL: "MessageLinkClicked",
      HMAC_SHA256_HEX: "email.click",
    },
  },
  "email.unsubscribed": {
    in: { POSTJECT: "unsubscribed", POSTHAWK: "unsubscribe", HMAC_SHA256_HEX: "email.unsubscribe" },
  },
  "domain.dns_error": { in: { POSTJECT: "dns_error", POSTHAWK: "dns_error", POSTAL: "DomainDNSError" } },
};

/** The name a receiver in `format` gets for the catalog type `type`. */
export function eventNameIn(format: WebhookFormat, type: string): string {
  return EVENT_NAMES[type]?.in?.[format] ?? type;
}

/** Every other name of every catalog type, mapped to it. */
export function aliasesOfCatalog(): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const [type, names] of Object.entries(EVENT_NAMES)) {
    for (const name of [...Object.values(names.in ?? {}), ...(names.aliases ?? [])]) {
      if (name !== type) aliases.set(name, type);
    }
  }
  return aliases;
}
