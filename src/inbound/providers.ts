import type { InboundProvider } from "../db/generated/client.ts";
import { mapGeneric, verifyGeneric } from "./providers/generic.ts";
import { mapMailgun, verifyMailgun } from "./providers/mailgun.ts";
import { mapPostmark, verifyPostmark } from "./providers/postmark.ts";
import { mapResend, verifyResend } from "./providers/resend.ts";
import { mapSendgrid, verifySendgrid } from "./providers/sendgrid.ts";
import type { Mapper, Verifier } from "./types.ts";

/** How each provider's requests are verified and mapped; AMAZON_SES (through SNS) is not received yet. */
export const PROVIDERS: Readonly<Partial<Record<InboundProvider, { verify: Verifier; map: Mapper }>>> = {
  GENERIC: { verify: verifyGeneric, map: mapGeneric },
  RESEND: { verify: verifyResend, map: mapResend },
  MAILGUN: { verify: verifyMailgun, map: mapMailgun },
  POSTMARK: { verify: verifyPostmark, map: mapPostmark },
  SENDGRID: { verify: verifySendgrid, map: mapSendgrid },
};
