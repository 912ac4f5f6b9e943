// Key pairs for the CA and for workloads: generation (ECDSA P-256 by default, RSA-2048 on request), the signature
// algorithm each key signs with, and PKCS#8 PEM import/export. Keys are WebCrypto CryptoKeys.
import { createPrivateKey } from "node:crypto";

export type KeyType = "ecdsa-p256" | "rsa-2048";
export const KEY_TYPES: readonly KeyType[] = ["ecdsa-p256", "rsa-2048"];

const GENERATE: Record<KeyType, RsaHashedKeyGenParams | EcKeyGenParams> = {
  "ecdsa-p256": { name: "ECDSA", namedCurve: "P-256" },
  "rsa-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
};

export function generateKeyPair(type: KeyType = "ecdsa-p256"): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(GENERATE[type], true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

const EC_HASH: Record<string, string> = { "P-256": "SHA-256", "P-384": "SHA-384", "P-521": "SHA-512" };

/** The algorithm a signature by `key` uses: ECDSA with the curve's hash, or the RSA scheme the key was imported for. */
export function signatureAlgorithm(key: CryptoKey): Algorithm | EcdsaParams {
  const alg = key.algorithm as EcKeyAlgorithm | RsaHashedKeyAlgorithm;
  if (alg.name === "ECDSA") return { name: "ECDSA", hash: EC_HASH[(alg as EcKeyAlgorithm).namedCurve] ?? "SHA-256" } as EcdsaParams;
  return { name: alg.name, hash: (alg as RsaHashedKeyAlgorithm).hash } as Algorithm;
}

export function isRsaKey(algorithm: Algorithm): boolean {
  return algorithm.name.startsWith("RSA");
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
}

const NODE_CURVE: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };

/**
 * A signing CryptoKey from PEM in any of the usual forms (PKCS#8, PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY").
 * Throws a one-line error naming `where`.
 */
export async function importPrivateKeyPem(pem: string, where: string): Promise<CryptoKey> {
  let keyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch {
    throw new Error(`${where}: not a PEM private key`);
  }
  const der = new Uint8Array(keyObject.export({ type: "pkcs8", format: "der" }));
  if (keyObject.asymmetricKeyType === "ec") {
    const curve = NODE_CURVE[keyObject.asymmetricKeyDetails?.namedCurve ?? ""];
    if (!curve) throw new Error(`${where}: EC curve ${keyObject.asymmetricKeyDetails?.namedCurve} is not supported (P-256, P-384, P-521)`);
    return crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: curve }, true, ["sign"]);
  }
  if (keyObject.asymmetricKeyType === "rsa") {
    return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
  }
  throw new Error(`${where}: ${keyObject.asymmetricKeyType} keys are not supported (ECDSA or RSA)`);
}
