import { createPublicKey } from "node:crypto";
import type { Db } from "../db/client.ts";
import type { InboundProvider, InboundSource, Prisma } from "../db/generated/client.ts";
import { badInput, notFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { MAX_NAME_LENGTH } from "../services/inputBounds.ts";
import type { InboundVerification } from "./types.ts";

export type InboundSourceInput = {
  provider: InboundProvider;
  name: string;
  stream?: string | null;
  verification: InboundVerification;
};

export type InboundSourcePatch = {
  name?: string | null;
  stream?: string | null;
  verification?: InboundVerification | null;
};

const MAX_CREDENTIAL_LENGTH = 4_096;

/** The verification fields each provider needs; a source without them could never accept a request. */
const REQUIRED: Readonly<Record<InboundProvider, readonly (keyof InboundVerification)[]>> = {
  GENERIC: ["secret"],
  RESEND: ["secret"],
  MAILGUN: ["secret"],
  POSTMARK: ["username", "password"],
  SENDGRID: ["publicKey"],
  AMAZON_SES: ["topicArn"],
};

/** An SNS topic's ARN: arn:<partition>:sns:<region>:<account>:<name>. */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

function checkVerification(
  provider: InboundProvider,
  verification: InboundVerification,
): InboundVerification {
  for (const [field, value] of Object.entries(verification)) {
    if (value != null && value.length > MAX_CREDENTIAL_LENGTH)
      throw badInput(`verification.${field} must be at most ${MAX_CREDENTIAL_LENGTH} characters`, field);
  }
  const missing = REQUIRED[provider].filter((field) => !verification[field]);
  if (missing.length > 0)
    throw badInput(`${provider} sources need verification.${missing.join(" and verification.")}`, missing[0]);
  if (provider === "SENDGRID") {
    const key = verification.publicKey!;
    try {
      if (key.includes("BEGIN PUBLIC KEY")) createPublicKey(key);
      else createPublicKey({ key: Buffer.from(key, "base64"), format: "der", type: "spki" });
    } catch {
      throw badInput("verification.publicKey is not a public key (base64 DER or PEM)", "publicKey");
    }
  }
  if (provider === "AMAZON_SES" && !TOPIC_ARN.test(verification.topicArn!))
    throw badInput(
      "verification.topicArn is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
      "topicArn",
    );
  // Only the fields set are stored.
  return Object.fromEntries(Object.entries(verification).filter(([, v]) => v != null && v !== ""));
}

function checkName(value: string | null | undefined, field: string): void {
  if (value != null && (value.length === 0 || value.length > MAX_NAME_LENGTH))
    throw badInput(`${field} must be 1–${MAX_NAME_LENGTH} characters`, field);
}

export async function createInboundSource(
  prisma: Db,
  workspaceId: string,
  input: InboundSourceInput,
): Promise<InboundSource> {
  checkName(input.name, "name");
  checkName(input.stream, "stream");
  const verification = checkVerification(input.provider, input.verification);
  return prisma.inboundSource.create({
    data: {
      id: newId("inboundSource"),
      workspaceId,
      provider: input.provider,
      name: input.name,
      stream: input.stream ?? null,
      verification: verification as Prisma.InputJsonObject,
    },
  });
}

export function listInboundSources(prisma: Db, workspaceId: string): Promise<InboundSource[]> {
  return prisma.inboundSource.findMany({ where: { workspaceId }, orderBy: { id: "desc" } });
}

export function findInboundSource(
  prisma: Db,
  workspaceId: string,
  id: string,
): Promise<InboundSource | null> {
  return prisma.inboundSource.findFirst({ where: { id, workspaceId } });
}

async function requireSource(prisma: Db, workspaceId: string, id: string): Promise<InboundSource> {
  const source = await findInboundSource(prisma, workspaceId, id);
  if (!source) throw notFound("inbound source", id);
  return source;
}

/** Changes the name, stream or verification; a verification given replaces the stored one whole. */
export async function updateInboundSource(
  prisma: Db,
  workspaceId: string,
  id: string,
  patch: InboundSourcePatch,
): Promise<InboundSource> {
  const source = await requireSource(prisma, workspaceId, id);
  if (patch.name === null) throw badInput("name cannot be removed", "name");
  checkName(patch.name, "name");
  checkName(patch.stream, "stream");
  const verification = patch.verification
    ? checkVerification(source.provider, patch.verification)
    : undefined;
  return prisma.inboundSource.update({
    where: { id: source.id },
    data: {
      ...(patch.name != null ? { name: patch.name } : {}),
      ...(patch.stream !== undefined ? { stream: patch.stream } : {}),
      ...(verification ? { verification: verification as Prisma.InputJsonObject } : {}),
    },
  });
}

/** Deletes the source and its log (events it produced stay); returns its id. */
export async function deleteInboundSource(prisma: Db, workspaceId: string, id: string): Promise<string> {
  const { count } = await prisma.inboundSource.deleteMany({ where: { id, workspaceId } });
  if (count === 0) throw notFound("inbound source", id);
  return id;
}
