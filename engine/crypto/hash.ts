// Names the SHA-2 variants the JOSE algorithms use and builds hashers for them.
import { Hasher } from "./hasher";
import { Sha256 } from "./sha256";
import { Sha512 } from "./sha512";

export enum HashAlg { SHA256 = 0, SHA384 = 1, SHA512 = 2 }

export function newHasher(alg: HashAlg): Hasher {
  if (alg == HashAlg.SHA384) return new Sha512(true);
  if (alg == HashAlg.SHA512) return new Sha512(false);
  return new Sha256();
}

export function hashLength(alg: HashAlg): i32 {
  return alg == HashAlg.SHA384 ? 48 : alg == HashAlg.SHA512 ? 64 : 32;
}

/** One-shot digest of `data` with `alg`. */
export function digest(alg: HashAlg, data: Uint8Array): Uint8Array {
  return newHasher(alg).update(data).finish();
}
