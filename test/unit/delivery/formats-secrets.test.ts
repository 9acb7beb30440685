import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { invalidSecret, newSecretFor } from "../../../src/delivery/formats/secrets.ts";
import { WEBHOOK_FORMATS } from "../../../src/delivery/formats/types.ts";

const whsec = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString("base64")}`;
const HMAC_FORMATS = ["POSTSTACK", "POSTHAWK", "HMAC_SHA256_HEX"] as const;
const WHSEC_FORMATS = ["STANDARD_WEBHOOKS", "POSTJECT"] as const;

describe("user-supplied secrets", () => {
  it("a generated secret fits its own format", () => {
    for (const format of WEBHOOK_FORMATS) expect(invalidSecret(format, newSecretFor(format))).toBeUndefined();
  });

  it("Standard Webhooks formats take whsec_ + base64 of 24–64 bytes", () => {
    for (const format of WHSEC_FORMATS) {
      expect(invalidSecret(format, whsec(24))).toBeUndefined();
      expect(invalidSecret(format, whsec(64))).toBeUndefined();
      expect(invalidSecret(format, whsec(16))).toMatch(/whsec_.*24–64/);
      expect(invalidSecret(format, whsec(65))).toMatch(/24–64/);
      expect(invalidSecret(format, "whsec_not base64 at all!!")).toMatch(/base64/);
      expect(invalidSecret(format, Buffer.alloc(32).toString("base64"))).toMatch(/whsec_/);
    }
  });

  it("HMAC formats take any string of 16–256 characters, whsec_ ones included", () => {
    for (const format of HMAC_FORMATS) {
      expect(invalidSecret(format, "a".repeat(16))).toBeUndefined();
      expect(invalidSecret(format, "a".repeat(256))).toBeUndefined();
      expect(invalidSecret(format, "whsec_your_secret_key_here")).toBeUndefined();
      expect(invalidSecret(format, "short-secret")).toMatch(/16–256 characters long \(this one has 12\)/);
      expect(invalidSecret(format, "a".repeat(257))).toMatch(/16–256/);
    }
  });

  it("POSTAL takes an RSA private key in PEM", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    expect(
      invalidSecret("POSTAL", privateKey.export({ type: "pkcs1", format: "pem" }) as string),
    ).toBeUndefined();
    expect(
      invalidSecret("POSTAL", privateKey.export({ type: "pkcs8", format: "pem" }) as string),
    ).toBeUndefined();
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    });
    expect(invalidSecret("POSTAL", ec as string)).toMatch(/RSA private key/);
    expect(invalidSecret("POSTAL", "a".repeat(40))).toMatch(/RSA private key/);
  });

  it("reasons never repeat the secret", () => {
    const secret = "not-a-valid-secret-for-standard-webhooks";
    for (const format of WEBHOOK_FORMATS) expect(invalidSecret(format, secret) ?? "").not.toContain(secret);
  });
});
