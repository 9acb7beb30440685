import { execFileSync } from "node:child_process";
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** An RSA key and a self-signed certificate for it, made with the openssl CLI, as SNS's signing certificate. */
export function snsSigningKey(days = 2): { privateKey: KeyObject; certificatePem: string } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), "sns-cert-"));
  try {
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, privateKey.export({ format: "pem", type: "pkcs8" }));
    const certificatePem = execFileSync(
      "openssl",
      ["req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=sns.amazonaws.com", "-days", String(days)],
      { encoding: "utf8" },
    );
    return { privateKey, certificatePem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The fields AWS documents as signed, per Type, in the order they are signed. */
const SIGNED = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: [
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
  ],
} as const;

export type SnsEnvelope = Record<string, string>;

/** Signs an SNS message as SNS does: each signed field's name and value, newline after each. */
export function signSns(
  fields: SnsEnvelope & { Type: keyof typeof SIGNED },
  privateKey: KeyObject,
  signingCertUrl: string,
  version: "1" | "2" = "2",
): SnsEnvelope {
  const text = SIGNED[fields.Type]
    .filter((name) => fields[name] !== undefined)
    .map((name) => `${name}\n${fields[name]}\n`)
    .join("");
  const signature = sign(version === "1" ? "sha1" : "sha256", Buffer.from(text), privateKey).toString(
    "base64",
  );
  return { ...fields, SignatureVersion: version, Signature: signature, SigningCertURL: signingCertUrl };
}

/** An SNS Notification carrying an SES event record, signed. */
export function sesNotification(
  event: unknown,
  opts: {
    topicArn: string;
    privateKey: KeyObject;
    certUrl: string;
    messageId?: string;
    at?: Date;
    version?: "1" | "2";
  },
): SnsEnvelope {
  return signSns(
    {
      Type: "Notification",
      MessageId: opts.messageId ?? randomUUID(),
      TopicArn: opts.topicArn,
      Message: JSON.stringify(event),
      Timestamp: (opts.at ?? new Date()).toISOString(),
      UnsubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    },
    opts.privateKey,
    opts.certUrl,
    opts.version,
  );
}
