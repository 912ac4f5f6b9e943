// Certificate serial numbers: 128 random bits as 16 bytes of hex, kept positive and minimally DER-encoded
// (top bit clear, first byte non-zero) so every verifier accepts them.
export function randomSerialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return Buffer.from(bytes).toString("hex");
}
