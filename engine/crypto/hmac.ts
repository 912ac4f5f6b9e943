// HMAC (RFC 2104) over SHA-256/384/512.
import { Hasher } from "./hasher";
import { HashAlg, newHasher } from "./hash";

export function hmac(alg: HashAlg, key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmacRange(alg, key, message.dataStart, message.length);
}

/** HMAC of `len` bytes at raw address `ptr` (lets callers MAC a slice of a token without copying). */
export function hmacRange(alg: HashAlg, key: Uint8Array, ptr: usize, len: i32): Uint8Array {
  const h: Hasher = newHasher(alg);
  const blockLen = h.blockLength;
  const block = new Uint8Array(blockLen);
  if (key.length > blockLen) {
    h.update(key).finishInto(block, 0);
    h.reset();
  } else {
    memory.copy(block.dataStart, key.dataStart, <usize>key.length);
  }
  for (let i = 0; i < blockLen; i++) unchecked(block[i] ^= 0x36);
  h.update(block).updateRange(ptr, len);
  const inner = h.finish();
  h.reset();
  for (let i = 0; i < blockLen; i++) unchecked(block[i] ^= 0x36 ^ 0x5c);
  return h.update(block).update(inner).finish();
}

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(HashAlg.SHA256, key, message);
}

export function hmacSha384(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(HashAlg.SHA384, key, message);
}

export function hmacSha512(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(HashAlg.SHA512, key, message);
}
