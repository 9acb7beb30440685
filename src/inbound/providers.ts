import type { InboundProvider } from "../db/generated/client.ts";
import { mapGeneric, verifyGeneric } from "./providers/generic.ts";
import { mapMailgun, verifyMailgun } from "./providers/mailgun.ts";
import { mapPostmark, verifyPostmark } from "./providers/postmark.ts";
import { mapResend, verifyResend } from "./providers/resend.ts";
import { mapSendgrid, verifySendgrid } from "./providers/sendgrid.ts";
import { mapSes, sesHandshake, verifySes } from "./providers/ses.ts";
import type { FetchingVerifier, Handshake, Mapper, Verifier } from "./types.ts";

/** How each provider's requests are verified and mapped, and its protocol's own steps answered. */
export const PROVIDERS: Readonly<
  Record<InboundProvider, { verify: Verifier | FetchingVerifier; map: Mapper; handshake?: Handshake }>
> = {
  GENERIC: { verify: verifyGeneric, map: mapGeneric },
  RESEND: { verify: verifyResend, map: mapResend },
  MAILGUN: { verify: verifyMailgun, map: mapMailgun },
  POSTMARK: { verify: verifyPostmark, map: mapPostmark },
  SENDGRID: { verify: verifySendgrid, map: mapSendgrid },
  AMAZON_SES: { verify: verifySes, map: mapSes, handshake: sesHandshake },
};
